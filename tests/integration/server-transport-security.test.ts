import http from 'node:http';
import { Writable } from 'node:stream';
import { createLogger } from '../../lib/logger';
import { loadServerEnv } from '../../server/config';
import { callBody, startTestServer, TEST_SECRET, type TestServer } from './server-harness';

/** A raw HTTP/1.1 request with exactly the headers given (fetch would not let a test set Host). */
function raw(url: string, options: { method?: string; path?: string; headers?: Record<string, string>; body?: unknown }) {
  const u = new URL(url);
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }>((resolve, reject) => {
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        method: options.method ?? 'POST',
        path: options.path ?? '/mcp',
        setHost: false,
        headers: {
          host: u.host,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          ...(body ? { 'content-length': String(Buffer.byteLength(body)) } : {}),
          ...options.headers,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * RFC 7235 / RFC 6750 §3 challenge: `Bearer` then comma-separated auth-params
 * whose quoted values hold only %x20-21 / %x23-5B / %x5D-7E (no `"`, no `\`).
 */
const RFC6750 = /^Bearer(?: [a-z_]+="[\x20\x21\x23-\x5b\x5d-\x7e]*"(?:, [a-z_]+="[\x20\x21\x23-\x5b\x5d-\x7e]*")*)?$/;

const health = callBody('ops_health_check');

describe('transport security: Host and Origin (defaults: the bound host and port, loopback names)', () => {
  let t: TestServer;
  let token: string;
  let port: string;
  beforeAll(async () => {
    t = await startTestServer();
    token = await t.token('ops:read');
    port = new URL(t.url).port;
  });
  afterAll(async () => t.close());

  const withToken = (headers: Record<string, string> = {}) => ({ authorization: `Bearer ${token}`, ...headers });

  test('a foreign Host gets 403 with a JSON-RPC error before auth is tried, and is counted', async () => {
    const rejected = await t.metric('mcp_transport_rejections_total', { reason: 'host' });
    const authFailures = await t.metric('mcp_auth_failures_total');
    for (const host of [`evil.example:${port}`, `127.0.0.1:${Number(port) + 1}`, `localhost.evil.example:${port}`]) {
      // with a valid token and without one: the answer is the same, auth never runs
      for (const headers of [withToken({ host }), { host }]) {
        const res = await raw(t.url, { headers, body: health });
        expect(res.status).toBe(403);
        expect(JSON.parse(res.text)).toEqual({ jsonrpc: '2.0', error: { code: -32000, message: expect.stringContaining('Host') }, id: null });
        expect(res.headers['www-authenticate']).toBeUndefined();
      }
    }
    expect(await t.metric('mcp_transport_rejections_total', { reason: 'host' })).toBe(rejected + 6);
    expect(await t.metric('mcp_auth_failures_total')).toBe(authFailures);
    expect(await t.metric('mcp_requests_total', { tool: 'none', status: '403' })).toBeGreaterThanOrEqual(6);
    // the metadata is part of the MCP surface: a foreign Host cannot make it advertise itself
    const meta = await raw(t.url, { method: 'GET', path: '/.well-known/oauth-protected-resource/mcp', headers: { host: `evil.example:${port}` } });
    expect(meta.status).toBe(403);
  });

  test('the bound host and the loopback names on the bound port are answered', async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`]) {
      const res = await raw(t.url, { headers: withToken({ host }), body: health });
      expect({ host, status: res.status }).toEqual({ host, status: 200 });
    }
  });

  test('a foreign Origin gets 403 before auth, on /mcp and on every other route, and is counted', async () => {
    const rejected = await t.metric('mcp_transport_rejections_total', { reason: 'origin' });
    for (const origin of ['https://evil.example', `http://evil.example:${port}`, 'null', `http://127.0.0.1:${Number(port) + 1}`]) {
      const res = await raw(t.url, { headers: withToken({ origin }), body: health });
      expect(res.status).toBe(403);
      expect(JSON.parse(res.text).error).toEqual({ code: -32000, message: expect.stringContaining('Origin') });
    }
    const metrics = await raw(t.url, { method: 'GET', path: '/metrics', headers: { origin: 'https://evil.example' } });
    expect(metrics.status).toBe(403);
    expect(await t.metric('mcp_transport_rejections_total', { reason: 'origin' })).toBe(rejected + 5);
  });

  test('an allowed Origin (the server’s own, a loopback name) is answered', async () => {
    for (const origin of [`http://127.0.0.1:${port}`, `http://localhost:${port}`]) {
      const res = await raw(t.url, { headers: withToken({ origin }), body: health });
      expect({ origin, status: res.status }).toEqual({ origin, status: 200 });
    }
  });

  test('a non-browser client without Origin is answered; without a token it still gets the 401', async () => {
    const ok = await raw(t.url, { headers: withToken(), body: health });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.text).result.structuredContent.status).toBeDefined();
    const anonymous = await raw(t.url, { body: health });
    expect(anonymous.status).toBe(401);
  });

  test('probes and scrapers may use any Host on /health and /metrics (no Origin)', async () => {
    expect((await raw(t.url, { method: 'GET', path: '/health', headers: { host: '10.1.2.3:3000' } })).status).toBe(200);
    expect((await raw(t.url, { method: 'GET', path: '/metrics', headers: { host: '10.1.2.3:3000' } })).status).toBe(200);
  });
});

describe('transport security: MCP_ALLOWED_HOSTS and MCP_ALLOWED_ORIGINS replace the defaults', () => {
  let t: TestServer;
  let token: string;
  beforeAll(async () => {
    t = await startTestServer({ MCP_ALLOWED_HOSTS: 'mcp.example.com,gw.example.com:8443', MCP_ALLOWED_ORIGINS: 'https://agent.example.com' });
    token = await t.token('ops:read');
  });
  afterAll(async () => t.close());

  test.each([
    ['mcp.example.com', undefined, 200],
    ['mcp.example.com:9999', undefined, 200],
    ['gw.example.com:8443', undefined, 200],
    ['gw.example.com:8444', undefined, 403],
    [undefined, undefined, 403], // the bound address is no longer in the list
    ['mcp.example.com', 'https://agent.example.com', 200],
    ['mcp.example.com', 'https://agent.example.com:443', 200],
    ['mcp.example.com', 'http://agent.example.com', 403],
  ])('Host %s, Origin %s: %d', async (host, origin, status) => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (host) headers.host = host;
    if (origin) headers.origin = origin;
    expect((await raw(t.url, { headers, body: health })).status).toBe(status);
  });

  test('a bad entry stops the server at start, naming the variable', () => {
    const env = { JWT_SECRET: TEST_SECRET };
    expect(() => loadServerEnv({ ...env, MCP_ALLOWED_HOSTS: 'http://x.example/' })).toThrow(/MCP_ALLOWED_HOSTS: must be comma-separated host/);
    expect(() => loadServerEnv({ ...env, MCP_ALLOWED_ORIGINS: 'agent.example.com' })).toThrow(/MCP_ALLOWED_ORIGINS: must be comma-separated http\(s\) URLs/);
    expect(() => loadServerEnv({ ...env, OAUTH_AUTHORIZATION_SERVERS: 'not a url' })).toThrow(/OAUTH_AUTHORIZATION_SERVERS: must be comma-separated http\(s\) URLs/);
  });
});

describe('authorization metadata and WWW-Authenticate', () => {
  test('authorization_servers is always listed; unset, the server says at start which variable to set', async () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const t = await startTestServer({}, { logger: createLogger({ name: 'test', level: 'info', destination }) });
    try {
      const meta = (await (await fetch(`${t.url}/.well-known/oauth-protected-resource/mcp`)).json()) as { authorization_servers: string[] };
      expect(meta.authorization_servers).toEqual([t.url]);
      const warning = lines.map((l) => JSON.parse(l) as { msg: string; advertised?: string[] }).find((l) => l.msg.startsWith('OAUTH_AUTHORIZATION_SERVERS is unset'));
      expect(warning?.advertised).toEqual([t.url]);
      expect(warning?.msg).toContain('set OAUTH_AUTHORIZATION_SERVERS');
    } finally {
      await t.close();
    }
    const issuer = await startTestServer({ JWT_ISSUER: 'https://login.example.com/realms/ops' });
    try {
      const meta = (await (await fetch(`${issuer.url}/.well-known/oauth-protected-resource`)).json()) as { authorization_servers: string[] };
      expect(meta.authorization_servers).toEqual(['https://login.example.com/realms/ops']);
    } finally {
      await issuer.close();
    }
    const configured = await startTestServer({ OAUTH_AUTHORIZATION_SERVERS: 'https://as1.example.com, https://as2.example.com' });
    try {
      const meta = (await (await fetch(`${configured.url}/.well-known/oauth-protected-resource`)).json()) as { authorization_servers: string[] };
      expect(meta.authorization_servers).toEqual(['https://as1.example.com', 'https://as2.example.com']);
    } finally {
      await configured.close();
    }
  });

  test('every challenge is RFC 6750 syntax; no credentials means no error code', async () => {
    const t = await startTestServer();
    try {
      const none = await raw(t.url, { body: health });
      expect(none.status).toBe(401);
      expect(none.headers['www-authenticate']).toMatch(RFC6750);
      expect(none.headers['www-authenticate']).not.toContain('error=');
      expect(none.headers['www-authenticate']).toContain(`resource_metadata="${t.url}/.well-known/oauth-protected-resource/mcp"`);

      // alg none: the verifier's message quotes the algorithm; the header must not
      const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
      const algNone = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'x', exp: Math.floor(Date.now() / 1000) + 60 })}.`;
      const unsigned = await raw(t.url, { headers: { authorization: `Bearer ${algNone}` }, body: health });
      expect(unsigned.status).toBe(401);
      expect(unsigned.headers['www-authenticate']).toMatch(RFC6750);
      expect(unsigned.headers['www-authenticate']).toContain(`error="invalid_token", error_description="algorithm 'none' is not accepted"`);

      const malformed = await raw(t.url, { headers: { authorization: 'Basic abc' }, body: health });
      expect(malformed.headers['www-authenticate']).toMatch(RFC6750);
      expect(malformed.headers['www-authenticate']).toContain('error="invalid_token"');

      const scope = await raw(t.url, { headers: { authorization: `Bearer ${await t.token('accounts:read')}` }, body: health });
      expect(scope.status).toBe(403);
      expect(scope.headers['www-authenticate']).toMatch(RFC6750);
      expect(scope.headers['www-authenticate']).toContain('error="insufficient_scope", error_description="ops_health_check needs scope ops:read", scope="ops:read"');
    } finally {
      await t.close();
    }
  });
});
