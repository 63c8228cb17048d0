import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { callBody, postMcp, startTestServer, type TestServer } from './server-harness';

type ToolResult = { isError?: boolean; content: Array<{ text: string }>; structuredContent?: Record<string, unknown> };

async function call(client: Client, name: string, args: Record<string, unknown>): Promise<ToolResult> {
  return (await client.callTool({ name, arguments: args })) as ToolResult;
}

async function eventually(check: () => Promise<boolean>, ms = 3000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return check();
}

describe('IP blocking behind a trusted proxy (TRUST_PROXY=loopback)', () => {
  let t: TestServer;
  let replica: TestServer;
  let admin: Client;
  beforeAll(async () => {
    t = await startTestServer({ TRUST_PROXY: 'loopback', IP_ALLOWLIST: '10.0.0.0/8, 2001:db8:ffff::/48' });
    // A second replica on the same Redis namespace.
    replica = await startTestServer({ TRUST_PROXY: 'loopback', REDIS_PREFIX: t.env.REDIS_PREFIX });
    admin = await t.client(await t.token('ops:admin', { sub: 'alice' }));
  });
  afterAll(async () => {
    await replica.close();
    await t.close();
  });

  const viaProxy = (url: string, xff: string, headers: Record<string, string> = {}) =>
    postMcp(url, callBody('ops_health_check'), { 'x-forwarded-for': xff, ...headers });

  test('a blocked client gets 403 before auth, on every replica, and counts as status="403"', async () => {
    expect((await viaProxy(t.mcpUrl, '203.0.113.9')).status).toBe(401);
    const r = await call(admin, 'ops_block_ip', { ip: '203.0.113.0/24', ttlSeconds: 600, reason: 'credential stuffing' });
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent).toMatchObject({ blocked: { cidr: '203.0.113.0/24', actor: 'alice', reason: 'credential stuffing' } });

    const before = await t.metric('mcp_requests_total', { status: '403' });
    const res = await viaProxy(t.mcpUrl, '203.0.113.9');
    expect(res.status).toBe(403);
    expect(await t.metric('mcp_requests_total', { status: '403' })).toBe(before + 1);
    expect((await fetch(`${t.url}/health`, { headers: { 'x-forwarded-for': '203.0.113.77' } })).status).toBe(403);
    // the other replica enforces it without being told directly
    expect(await eventually(async () => (await viaProxy(replica.mcpUrl, '203.0.113.9')).status === 403)).toBe(true);
    // neighbours and the proxy itself are not affected
    expect((await viaProxy(t.mcpUrl, '203.0.114.1')).status).toBe(401);
    expect((await fetch(`${t.url}/health`)).status).toBe(200);
  });

  test('only the hop the proxy saw counts: a spoofed left-most X-Forwarded-For is ignored', async () => {
    // 198.51.100.1 is not a trusted proxy, so the client is 198.51.100.1, not the blocked address it claims.
    expect((await viaProxy(t.mcpUrl, '203.0.113.9, 198.51.100.1')).status).toBe(401);
    expect((await viaProxy(t.mcpUrl, '198.51.100.1, 203.0.113.9')).status).toBe(403);
  });

  test('IPv6 and single addresses; list, unblock, audit', async () => {
    await call(admin, 'ops_block_ip', { ip: '2001:db8:1::/64', ttlSeconds: 600, reason: 'scanner' });
    await call(admin, 'ops_block_ip', { ip: '::ffff:192.0.2.44', ttlSeconds: 600, reason: 'mapped v4' });
    expect((await viaProxy(t.mcpUrl, '2001:db8:1::abcd')).status).toBe(403);
    expect((await viaProxy(t.mcpUrl, '192.0.2.44')).status).toBe(403);

    const listed = await call(admin, 'ops_list_blocked_ips', {});
    const cidrs = (listed.structuredContent!.blocks as Array<{ cidr: string }>).map((b) => b.cidr);
    expect(cidrs).toEqual(expect.arrayContaining(['203.0.113.0/24', '2001:db8:1::/64', '192.0.2.44/32']));
    expect(listed.content[0]!.text).toContain('2001:db8:1::/64');

    const un = await call(admin, 'ops_unblock_ip', { ip: '2001:db8:1::/64' });
    expect(un.isError).toBeFalsy();
    expect((await viaProxy(t.mcpUrl, '2001:db8:1::abcd')).status).toBe(401);
    expect(await eventually(async () => (await viaProxy(replica.mcpUrl, '2001:db8:1::abcd')).status === 401)).toBe(true);
    const again = await call(admin, 'ops_unblock_ip', { ip: '2001:db8:1::/64' });
    expect(again.content[0]!.text).toMatch(/^E_NOT_FOUND/);

    const audit = await t.server.audit.recent(20);
    expect(audit.find((a) => a.tool === 'ops_unblock_ip' && a.ok)).toMatchObject({ actor: 'alice', args: { ip: '2001:db8:1::/64' } });
    expect(audit.find((a) => a.tool === 'ops_unblock_ip' && !a.ok)).toBeDefined();
  });

  test('loopback, the allowlist and over-broad ranges are refused, and nothing is stored', async () => {
    for (const ip of ['127.0.0.1', '127.0.0.0/8', '::1', '::ffff:127.0.0.1', '10.20.30.40', '2001:db8:ffff:1::/64', '1.0.0.0/8', '2001:db8::/32', 'not-an-ip']) {
      const r = await call(admin, 'ops_block_ip', { ip, ttlSeconds: 60, reason: 'should be refused' });
      expect(r.isError).toBe(true);
      expect(r.content[0]!.text).toMatch(/^E_VALIDATION_FAILED: /);
    }
    const blocks = (await call(admin, 'ops_list_blocked_ips', {})).structuredContent!.blocks as Array<{ reason: string }>;
    expect(blocks.some((b) => b.reason === 'should be refused')).toBe(false);
  });

  test('blocks expire after their TTL', async () => {
    await call(admin, 'ops_block_ip', { ip: '192.0.2.200', ttlSeconds: 1, reason: 'short' });
    expect((await viaProxy(t.mcpUrl, '192.0.2.200')).status).toBe(403);
    expect(await eventually(async () => (await viaProxy(t.mcpUrl, '192.0.2.200')).status === 401, 3000)).toBe(true);
  });

  test('ops:read may list but not block; the full health check counts the blocks', async () => {
    const reader = await t.client(await t.token('ops:read'));
    expect(((await call(reader, 'ops_list_blocked_ips', {})).isError)).toBeFalsy();
    const res = await postMcp(t.mcpUrl, callBody('ops_block_ip', { ip: '192.0.2.1', reason: 'nope' }), {
      authorization: `Bearer ${await t.token('ops:read')}`,
    });
    expect(res.status).toBe(403);
    const health = await call(reader, 'ops_health_check', { mode: 'full' });
    expect(health.structuredContent!.blockedIps).toBeGreaterThanOrEqual(2);
  });
});

describe('IP blocking without a trusted proxy', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => t.close());

  test('X-Forwarded-For is ignored: the socket address (loopback) is the client', async () => {
    const admin = await t.client(await t.token('ops:admin'));
    await call(admin, 'ops_block_ip', { ip: '203.0.113.9', ttlSeconds: 600, reason: 'spoof test' });
    const res = await postMcp(t.mcpUrl, callBody('ops_health_check'), { 'x-forwarded-for': '203.0.113.9' });
    expect(res.status).toBe(401);
    expect(t.server.denylist.isBlocked('203.0.113.9')).toBe(true);
    const failures = await t.server.failures.since(Date.now() - 10_000);
    expect(failures.at(-1)?.ip).toBe('127.0.0.1');
  });
});
