import { createMcpClient } from '../../lib/mcp-client';
import { callBody, postMcp, startTestServer, TEST_SECRET, type TestServer } from './server-harness';

describe('MCP Financial Server over HTTP: the spine', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => {
    await t.close();
  });

  test('/health answers 200 with status, version, uptime and maintenance', async () => {
    const res = await fetch(`${t.url}/health`);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toEqual({ status: 'ok', version: expect.any(String), uptimeSeconds: expect.any(Number), maintenance: false });
  });

  test('/health/ready is 200 with Redis up and no maintenance', async () => {
    const res = await fetch(`${t.url}/health/ready`);
    expect(res.status).toBe(200);
  });

  test('POST /mcp without a token is 401 with WWW-Authenticate pointing at the resource metadata', async () => {
    const before = await t.metric('mcp_auth_failures_total', { reason: 'missing' });
    const res = await postMcp(t.mcpUrl, callBody('ops_health_check'));
    expect(res.status).toBe(401);
    const header = res.headers.get('www-authenticate') ?? '';
    expect(header).toMatch(/^Bearer /);
    const metadataUrl = /resource_metadata="([^"]+)"/.exec(header)?.[1];
    expect(metadataUrl).toBe(`${t.url}/.well-known/oauth-protected-resource/mcp`);
    const meta = (await (await fetch(metadataUrl!)).json()) as { resource: string; scopes_supported: string[]; bearer_methods_supported: string[] };
    expect(meta.resource).toBe(t.mcpUrl);
    expect(meta.scopes_supported).toEqual(expect.arrayContaining(['ops:read', 'ops:admin', 'accounts:read']));
    expect(meta.bearer_methods_supported).toEqual(['header']);
    expect(await t.metric('mcp_auth_failures_total', { reason: 'missing' })).toBe(before + 1);
    expect(await t.metric('jwt_validation_failures_total', { reason: 'missing' })).toBeGreaterThanOrEqual(1);
    expect(await t.metric('mcp_requests_total', { status: '401' })).toBeGreaterThanOrEqual(1);
  });

  test('the SDK Client lists and calls ops_health_check with a minted ops:read token', async () => {
    const client = await t.client(await t.token('ops:read'));
    const { tools } = await client.listTools();
    const tool = tools.find((x) => x.name === 'ops_health_check');
    expect(tool?.outputSchema).toBeDefined();
    const result = await client.callTool({ name: 'ops_health_check', arguments: { mode: 'full' } });
    expect(result.isError).toBeFalsy();
    const report = result.structuredContent as Record<string, unknown>;
    expect(report).toMatchObject({ status: 'healthy', mode: 'full', maintenance: { enabled: false }, redis: { ok: true }, blockedIps: 0 });
    expect((result.content as Array<{ text: string }>)[0]!.text).toContain('Health (full): OK');
    expect(await t.metric('mcp_requests_total', { tool: 'ops_health_check', status: 'success' })).toBeGreaterThanOrEqual(1);
    expect(await t.metric('mcp_request_duration_seconds_count', { tool: 'ops_health_check' })).toBeGreaterThanOrEqual(1);
  });

  test('lib/mcp-client mints its own ops:admin token (the workers path) and gets the report', async () => {
    const client = createMcpClient({ url: t.mcpUrl, auth: { mint: { secret: TEST_SECRET, subject: 'worker', scope: 'ops:admin' } } });
    const result = await client.callTool('ops_health_check', { mode: 'basic' });
    expect(result.isError).toBe(false);
    expect(result.structuredContent).toMatchObject({ status: 'healthy', mode: 'basic' });
    expect(result.structuredContent?.backends).toBeUndefined();
  });

  test('a token without the tool scope gets 403 insufficient_scope, counted with status="403"', async () => {
    const before = await t.metric('mcp_requests_total', { tool: 'ops_health_check', status: '403' });
    const res = await postMcp(t.mcpUrl, callBody('ops_health_check'), { authorization: `Bearer ${await t.token('accounts:read')}` });
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toMatch(/error="insufficient_scope".*scope="ops:read"/);
    expect(((await res.json()) as { error: string }).error).toBe('insufficient_scope');
    expect(await t.metric('mcp_requests_total', { tool: 'ops_health_check', status: '403' })).toBe(before + 1);
    expect(await t.metric('mcp_auth_failures_total', { reason: 'insufficient_scope' })).toBeGreaterThanOrEqual(1);
  });

  test('GET and DELETE /mcp are 405 with a JSON-RPC error', async () => {
    for (const method of ['GET', 'DELETE']) {
      const res = await fetch(t.mcpUrl, { method });
      expect(res.status).toBe(405);
      const body = (await res.json()) as { jsonrpc: string; error: { code: number } };
      expect(body.jsonrpc).toBe('2.0');
      expect(body.error.code).toBe(-32000);
    }
  });

  test('/metrics exposes the seed series and the process metrics', async () => {
    const text = await (await fetch(`${t.url}/metrics`)).text();
    for (const name of [
      'mcp_requests_total',
      'mcp_request_duration_seconds_bucket',
      'mcp_active_connections',
      'mcp_auth_failures_total',
      'jwt_validation_failures_total',
      'process_memory_usage_bytes',
      'process_memory_limit_bytes',
      'process_cpu_usage_percent',
    ]) {
      expect(text).toContain(`\n${name}`);
    }
    expect(text).toMatch(/\nmcp_active_connections\{[^}]*\} 0\n/);
  });
});
