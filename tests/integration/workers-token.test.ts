import { mintToken } from '../../lib/jwt';
import { createMcpClient } from '../../lib/mcp-client';
import { generateWorkerKeyPair, WORKER_SCOPES } from '../../lib/worker-key';
import { loadWorkersEnv } from '../../workers/config';
import { startTestServer, type TestServer } from './server-harness';

/**
 * Least privilege for the workers: they sign their own tokens with an Ed25519 key the server accepts for
 * the ops scopes only. A compromised worker can mint ops tokens, never `transactions:write`, and it never
 * holds JWT_SECRET (which mints anything).
 */
describe("the workers' token", () => {
  const pair = generateWorkerKeyPair();
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer({ WORKERS_JWT_PUBLIC_KEY: pair.publicKey });
  });

  afterAll(async () => {
    await t?.close();
  });

  const call = async (token: string, body: unknown) =>
    fetch(t.mcpUrl, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
      body: JSON.stringify(body),
    });

  it('the workers start with their key alone: no JWT_SECRET', () => {
    const env = loadWorkersEnv({ WORKERS_JWT_PRIVATE_KEY: pair.privateKey });
    expect(env.WORKERS_JWT_PRIVATE_KEY).toBe(pair.privateKey);
    expect(() => loadWorkersEnv({ JWT_SECRET: 'x'.repeat(32) })).toThrow(/WORKERS_JWT_PRIVATE_KEY/);
    expect(() => loadWorkersEnv({ WORKERS_JWT_PRIVATE_KEY: pair.publicKey })).toThrow(/Ed25519 private key/);
  });

  it('their ops token calls the ops tools, as workers/app.ts mints it', async () => {
    const mcp = createMcpClient({
      url: t.mcpUrl,
      auth: { mint: { privateKey: pair.privateKey, subject: 'ops-workers', scope: WORKER_SCOPES.join(' ') } },
    });
    const result = await mcp.callTool('ops_health_check', { check_type: 'basic' });
    expect(result.isError).toBe(false);
  });

  it('a token their key signs for a finance scope is refused (401), and counted', async () => {
    const before = await t.metric('mcp_auth_failures_total', { reason: 'issuer' });
    const forged = await mintToken({ privateKey: pair.privateKey, subject: 'ops-workers', scope: 'ops:admin transactions:write', ttl: 60 });
    const res = await call(forged, { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain("the workers' key may not grant transactions:write");
    expect(await t.metric('mcp_auth_failures_total', { reason: 'issuer' })).toBe(before + 1);
  });

  it('another Ed25519 key is refused; HS256 tokens from JWT_SECRET still work for everyone else', async () => {
    const other = generateWorkerKeyPair();
    const stranger = await mintToken({ privateKey: other.privateKey, subject: 'ops-workers', scope: 'ops:read', ttl: 60 });
    expect((await call(stranger, { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} })).status).toBe(401);
    const person = await t.token('accounts:read');
    expect((await call(person, { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} })).status).toBe(200);
  });
});
