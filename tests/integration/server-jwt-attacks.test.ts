import http from 'node:http';
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { listen, type RunningServer } from '../../lib/http';
import { callBody, postMcp, startTestServer, TEST_SECRET, type TestServer } from './server-harness';

const ISSUER = 'https://issuer.test';
const AUDIENCE = 'mcp-financial-server';
const now = () => Math.floor(Date.now() / 1000);
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

async function hs256(claims: JWTPayload, secret = TEST_SECRET): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new TextEncoder().encode(secret));
}

const good = (): JWTPayload => ({ sub: 'mallory', scope: 'ops:read', iss: ISSUER, aud: AUDIENCE, iat: now(), exp: now() + 300 });

describe('JWT attacks against /mcp (HS256, issuer and audience set)', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE });
  });
  afterAll(async () => t.close());

  async function expectRefused(token: string, reason: string): Promise<void> {
    const before = await t.metric('jwt_validation_failures_total', { reason });
    const beforeAuth = await t.metric('mcp_auth_failures_total', { reason });
    const res = await postMcp(t.mcpUrl, callBody('ops_health_check'), { authorization: `Bearer ${token}` });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/error="invalid_token".*resource_metadata="/);
    expect(await t.metric('jwt_validation_failures_total', { reason })).toBe(before + 1);
    expect(await t.metric('mcp_auth_failures_total', { reason })).toBe(beforeAuth + 1);
  }

  test('a valid token passes (the control for every case below)', async () => {
    const res = await postMcp(t.mcpUrl, callBody('ops_health_check'), { authorization: `Bearer ${await hs256(good())}` });
    expect(res.status).toBe(200);
  });

  test('alg none is refused', async () => {
    await expectRefused(`${b64({ alg: 'none', typ: 'JWT' })}.${b64(good())}.`, 'alg');
  });

  test('expired beyond the 30 s skew is refused; within it accepted', async () => {
    await expectRefused(await hs256({ ...good(), iat: now() - 600, exp: now() - 120 }), 'expired');
    const res = await postMcp(t.mcpUrl, callBody('ops_health_check'), {
      authorization: `Bearer ${await hs256({ ...good(), exp: now() - 5 })}`,
    });
    expect(res.status).toBe(200);
  });

  test('not yet valid (nbf in the future) is refused', async () => {
    await expectRefused(await hs256({ ...good(), nbf: now() + 600 }), 'not_yet_valid');
  });

  test('wrong issuer is refused', async () => {
    await expectRefused(await hs256({ ...good(), iss: 'https://evil.test' }), 'issuer');
  });

  test('wrong audience is refused', async () => {
    await expectRefused(await hs256({ ...good(), aud: 'someone-else' }), 'audience');
  });

  test('wrong key is refused', async () => {
    await expectRefused(await hs256(good(), 'another-secret-of-enough-length'), 'signature');
  });

  test('tampered payload (scope raised, signature kept) is refused', async () => {
    const [h, , s] = (await hs256(good())).split('.');
    await expectRefused(`${h}.${b64({ ...good(), scope: 'ops:admin' })}.${s}`, 'signature');
  });

  test('garbage is malformed; a non-bearer header is malformed', async () => {
    await expectRefused('not-a-jwt', 'malformed');
    const before = await t.metric('mcp_auth_failures_total', { reason: 'malformed' });
    const res = await postMcp(t.mcpUrl, callBody('ops_health_check'), { authorization: 'Basic dXNlcjpwYXNz' });
    expect(res.status).toBe(401);
    expect(await t.metric('mcp_auth_failures_total', { reason: 'malformed' })).toBe(before + 1);
  });

  test('a valid token with anything after it in the header is refused as malformed, not verified', async () => {
    const before = await t.metric('mcp_auth_failures_total', { reason: 'malformed' });
    const res = await postMcp(t.mcpUrl, callBody('ops_health_check'), { authorization: `Bearer ${await hs256(good())} extra` });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token", error_description="Invalid Authorization header format/);
    expect(await res.json()).toEqual({ error: 'invalid_token', error_description: "Invalid Authorization header format, expected 'Bearer TOKEN'" });
    expect(await t.metric('mcp_auth_failures_total', { reason: 'malformed' })).toBe(before + 1);
  });

  test('a token without exp is refused', async () => {
    const { exp: _exp, ...noExp } = good();
    await expectRefused(await hs256(noExp), 'malformed');
  });

  test('a lifetime beyond 24 h is refused; exactly 24 h passes (issue 7.9)', async () => {
    await expectRefused(await hs256({ ...good(), exp: now() + 86_400 * 365 }), 'lifetime');
    const { iat: _iat, ...noIat } = good();
    await expectRefused(await hs256({ ...noIat, exp: now() + 86_400 * 2 }), 'lifetime');
    const res = await postMcp(t.mcpUrl, callBody('ops_health_check'), { authorization: `Bearer ${await hs256({ ...good(), exp: now() + 86_400 })}` });
    expect(res.status).toBe(200);
  });

  test('an iat in the future (beyond the skew) is refused', async () => {
    await expectRefused(await hs256({ ...good(), iat: now() + 3600, exp: now() + 3900 }), 'not_yet_valid');
  });

  test('an empty or non-string sub is refused', async () => {
    await expectRefused(await hs256({ ...good(), sub: '' }), 'subject');
    await expectRefused(await hs256({ ...good(), sub: 42 as unknown as string }), 'subject');
  });

  test('verified tokens are cached, refusals are not: the same bad token is counted on every request', async () => {
    const token = await hs256(good(), 'another-secret-of-enough-length');
    const before = await t.metric('jwt_validation_failures_total', { reason: 'signature' });
    for (let i = 0; i < 3; i += 1) {
      expect((await postMcp(t.mcpUrl, callBody('ops_health_check'), { authorization: `Bearer ${token}` })).status).toBe(401);
    }
    expect(await t.metric('jwt_validation_failures_total', { reason: 'signature' })).toBe(before + 3);
    // and a good token, served from the cache on its second use, still passes
    const ok = await hs256(good());
    for (let i = 0; i < 2; i += 1) {
      expect((await postMcp(t.mcpUrl, callBody('ops_health_check'), { authorization: `Bearer ${ok}` })).status).toBe(200);
    }
  });

  test('each failure is kept with the client address for the security report', async () => {
    const entries = await t.server.failures.since(Date.now() - 60_000);
    expect(entries.length).toBeGreaterThan(5);
    expect(entries.every((e) => e.ip === '127.0.0.1')).toBe(true);
    expect(new Set(entries.map((e) => e.reason))).toEqual(
      new Set(['alg', 'expired', 'not_yet_valid', 'issuer', 'audience', 'signature', 'malformed', 'lifetime', 'subject']),
    );
  });
});

describe('RS256/ES256 from a JWKS served over HTTP', () => {
  let jwks: RunningServer;
  let t: TestServer;
  let fetches = 0;
  let rsa: Awaited<ReturnType<typeof generateKeyPair>>;
  let ec: Awaited<ReturnType<typeof generateKeyPair>>;

  beforeAll(async () => {
    rsa = await generateKeyPair('RS256', { extractable: true });
    ec = await generateKeyPair('ES256', { extractable: true });
    const keys = [
      { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
      { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' },
    ];
    jwks = await listen((_req: http.IncomingMessage, res: http.ServerResponse) => {
      fetches += 1;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys }));
    }, 0);
    t = await startTestServer({ JWT_SECRET: '', JWT_JWKS_URL: `${jwks.url}/jwks.json`, JWT_AUDIENCE: AUDIENCE });
  });
  afterAll(async () => {
    await t.close();
    await jwks.close();
  });

  const claims = (): JWTPayload => ({ sub: 'svc', scope: 'ops:read', aud: AUDIENCE, iat: now(), exp: now() + 300 });

  test('RS256 and ES256 tokens signed by the published keys pass; keys are fetched once and cached', async () => {
    const rs = await new SignJWT(claims()).setProtectedHeader({ alg: 'RS256', kid: 'rsa-1' }).sign(rsa.privateKey);
    const es = await new SignJWT(claims()).setProtectedHeader({ alg: 'ES256', kid: 'ec-1' }).sign(ec.privateKey);
    for (const token of [rs, es, rs, es]) {
      const res = await postMcp(t.mcpUrl, callBody('ops_health_check'), { authorization: `Bearer ${token}` });
      expect(res.status).toBe(200);
    }
    expect(fetches).toBe(1);
  });

  test('an RS256 token from another key with the same kid is refused (signature)', async () => {
    const other = await generateKeyPair('RS256');
    const token = await new SignJWT(claims()).setProtectedHeader({ alg: 'RS256', kid: 'rsa-1' }).sign(other.privateKey);
    const res = await postMcp(t.mcpUrl, callBody('ops_health_check'), { authorization: `Bearer ${token}` });
    expect(res.status).toBe(401);
    expect(await t.metric('jwt_validation_failures_total', { reason: 'signature' })).toBeGreaterThanOrEqual(1);
  });

  test('with the JWKS endpoint unreachable, an RS256 token gets a 500 (not a 401), counted as jwks_unavailable', async () => {
    const down = await startTestServer({ JWT_SECRET: '', JWT_JWKS_URL: 'http://127.0.0.1:1/jwks.json', JWT_AUDIENCE: AUDIENCE });
    try {
      const token = await new SignJWT(claims()).setProtectedHeader({ alg: 'RS256', kid: 'rsa-1' }).sign(rsa.privateKey);
      const res = await postMcp(down.mcpUrl, callBody('ops_health_check'), { authorization: `Bearer ${token}` });
      expect(res.status).toBe(500);
      expect(((await res.json()) as { error: string }).error).toBe('server_error');
      expect(await down.metric('jwt_validation_failures_total', { reason: 'jwks_unavailable' })).toBe(1);
    } finally {
      await down.close();
    }
  });

  test('HS/RS confusion: an HS256 token keyed with the public key is refused (alg)', async () => {
    const pem = Buffer.from(JSON.stringify(await exportJWK(rsa.publicKey)));
    const token = await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', kid: 'rsa-1' }).sign(pem);
    const res = await postMcp(t.mcpUrl, callBody('ops_health_check'), { authorization: `Bearer ${token}` });
    expect(res.status).toBe(401);
    expect(await t.metric('jwt_validation_failures_total', { reason: 'alg' })).toBeGreaterThanOrEqual(1);
  });
});
