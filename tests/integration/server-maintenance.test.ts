import fs from 'node:fs/promises';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { z } from 'zod';
import { defineTool, registerGuardedTools } from '../../server/mcp/tool-context';
import { startTestServer, type TestServer } from './server-harness';

type ToolResult = { isError?: boolean; content: Array<{ text: string }>; structuredContent?: Record<string, unknown> };

// A finance-kind tool of our own, so this test does not depend on the backends layer.
const balance = defineTool({
  name: 'test_get_balance',
  description: 'test finance tool',
  scope: 'accounts:read',
  kind: 'finance',
  input: z.object({}),
  output: z.object({ amountMinor: z.number().int(), currency: z.string() }),
  async run() {
    return { structured: { amountMinor: 1234, currency: 'EUR' }, text: '12.34 EUR' };
  },
});

describe('maintenance mode', () => {
  let t: TestServer;
  let client: Client;
  beforeAll(async () => {
    t = await startTestServer({}, { registrars: [(server, ctx) => registerGuardedTools(server, ctx, [balance])] });
    client = await t.client(await t.token('ops:admin accounts:read', { sub: 'bob' }));
  });
  afterAll(async () => t.close());

  const call = async (name: string, args: Record<string, unknown> = {}) =>
    (await client.callTool({ name, arguments: args })) as ToolResult;

  test('on: finance tools refuse with E_MAINTENANCE, /health/ready 503 + Retry-After, /health 200, ops tools work', async () => {
    expect((await call('test_get_balance')).isError).toBeFalsy();

    const on = await call('ops_set_maintenance', { enabled: true, reason: 'db migration' });
    expect(on.isError).toBeFalsy();
    expect(on.structuredContent).toMatchObject({ enabled: true, reason: 'db migration', actor: 'bob' });
    expect((await fs.readFile(t.env.MAINTENANCE_STATUS_FILE, 'utf8')).trim()).toBe('maintenance');

    const refused = await call('test_get_balance');
    expect(refused.isError).toBe(true);
    expect(refused.content[0]!.text).toMatch(/^E_MAINTENANCE: .*in maintenance/);
    expect(await t.metric('mcp_requests_total', { tool: 'test_get_balance', status: '503' })).toBe(1);

    const ready = await fetch(`${t.url}/health/ready`);
    expect(ready.status).toBe(503);
    expect(ready.headers.get('retry-after')).toMatch(/^\d+$/);
    const live = await fetch(`${t.url}/health`);
    expect(live.status).toBe(200);
    expect(((await live.json()) as { maintenance: boolean }).maintenance).toBe(true);

    const health = await call('ops_health_check', { mode: 'basic' });
    expect(health.isError).toBeFalsy();
    expect(health.structuredContent).toMatchObject({
      status: 'degraded',
      maintenance: { enabled: true, reason: 'db migration', actor: 'bob' },
    });

    const off = await call('ops_set_maintenance', { enabled: false, reason: 'migration done' });
    expect(off.structuredContent).toMatchObject({ enabled: false });
    await expect(fs.access(t.env.MAINTENANCE_STATUS_FILE)).rejects.toThrow();
    expect((await fetch(`${t.url}/health/ready`)).status).toBe(200);
    expect((await call('test_get_balance')).isError).toBeFalsy();

    const audit = await t.server.audit.recent(10);
    expect(audit.filter((a) => a.tool === 'ops_set_maintenance').map((a) => [a.actor, (a.args as { enabled: boolean }).enabled])).toEqual([
      ['bob', false],
      ['bob', true],
    ]);
  });

  test("an operator's `echo maintenance > status` is honoured too (the seed's procedure)", async () => {
    await fs.writeFile(t.env.MAINTENANCE_STATUS_FILE, 'maintenance\n');
    const until = Date.now() + 3000;
    let text = '';
    while (Date.now() < until) {
      text = (await call('test_get_balance')).content[0]!.text;
      if (text.startsWith('E_MAINTENANCE')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(text).toMatch(/^E_MAINTENANCE/);
    expect((await fetch(`${t.url}/health/ready`)).status).toBe(503);
    await fs.rm(t.env.MAINTENANCE_STATUS_FILE);
  });

  test('ops:read cannot change maintenance', async () => {
    const reader = await t.client(await t.token('ops:read'));
    await expect(reader.callTool({ name: 'ops_set_maintenance', arguments: { enabled: true, reason: 'nope' } })).rejects.toThrow(/insufficient_scope/);
    await expect(fs.access(t.env.MAINTENANCE_STATUS_FILE)).rejects.toThrow();
  });

  test('concurrent ops_set_maintenance calls are serialised: the status file and its sidecar agree, the last call wins', async () => {
    const calls = Array.from({ length: 10 }, (_, i) => call('ops_set_maintenance', { enabled: i % 2 === 0, reason: `change ${i}` }));
    expect((await Promise.all(calls)).every((r) => !r.isError)).toBe(true);
    // Many more at once than HTTP delivers, straight at the store the tool uses (real files), round after round.
    for (let round = 0; round < 20; round += 1) {
      const last = round % 2 === 0;
      await Promise.all(Array.from({ length: 40 }, (_, i) => t.server.maintenance.set(i % 2 === (last ? 1 : 0), { reason: `r${round} c${i}`, actor: 'bob' })));
      // The sidecar only explains the file when they agree: a reason is there only then.
      expect(await t.server.maintenance.status()).toMatchObject({ enabled: last, reason: `r${round} c39`, actor: 'bob' });
    }
    await call('ops_set_maintenance', { enabled: false, reason: 'done' });
  });
});
