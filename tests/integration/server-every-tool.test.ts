import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { startBackendSimulators, type RunningSimulators } from '../../sandbox/backends';
import { npmToken, startTestServer, type TestServer } from './server-harness';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- structured results are read field by field
type Json = any;
type ToolResult = { isError?: boolean; content: Array<{ type: string; text: string }>; structuredContent?: Json };

/**
 * The "Done when": an outside MCP client (the SDK's Client over
 * Streamable HTTP) lists and calls EVERY tool with a token minted by
 * `npm run token`, against the production wiring (backends from env, the
 * simulators, real Redis). A tool added later without a call here fails the
 * last test.
 */
describe('the SDK Client lists and calls every tool over HTTP', () => {
  let sims: RunningSimulators;
  let t: TestServer;
  let src: string;
  let client: Client;
  let listed: string[] = [];
  const called = new Set<string>();

  beforeAll(async () => {
    src = await fs.mkdtemp(path.join(os.tmpdir(), 'mfo-every-tool-'));
    await fs.writeFile(path.join(src, 'ops.yaml'), 'channels: [ops-critical]\n');
    sims = await startBackendSimulators();
    t = await startTestServer(
      { ACCOUNT_SERVICE_URL: sims.accountUrl, TRANSACTION_SERVICE_URL: sims.transactionUrl, BACKUP_PATHS: path.join(src, 'ops.yaml') },
      { production: true },
    );
    client = await t.client(await npmToken('accounts:read transactions:write ops:admin', { sub: 'every-tool' }));
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await sims?.stop();
    await fs.rm(src, { recursive: true, force: true });
  });

  async function call(name: string, args: Record<string, unknown> = {}): Promise<ToolResult> {
    called.add(name);
    const r = (await client.callTool({ name, arguments: args })) as ToolResult;
    expect(r.content[0]?.type).toBe('text');
    return r;
  }
  async function ok(name: string, args: Record<string, unknown> = {}): Promise<Json> {
    const r = await call(name, args);
    if (r.isError) throw new Error(`${name} failed: ${r.content[0]?.text}`);
    expect(r.structuredContent).toBeDefined();
    return r.structuredContent;
  }

  test('tools/list: 18 tools, each with a description and input/output schemas', async () => {
    const { tools } = await client.listTools();
    listed = tools.map((x) => x.name);
    expect(listed).toHaveLength(18);
    for (const tool of tools) {
      expect(tool.description?.length).toBeGreaterThan(10);
      expect(tool.inputSchema.type).toBe('object');
      expect(tool.outputSchema?.type).toBe('object');
    }
  });

  test('finance tools', async () => {
    const { accounts } = await ok('list_accounts', { currency: 'EUR' });
    expect(accounts.length).toBeGreaterThanOrEqual(2);
    const [from, to] = accounts as [Json, Json];
    expect((await ok('get_account', { accountId: from.id })).account.id).toBe(from.id);
    const before = (await ok('get_account_balance', { accountId: from.id })).balance;
    const transfer = await ok('create_transfer', {
      fromAccountId: from.id,
      toAccountId: to.id,
      amount: { amountMinor: 25, currency: 'EUR' },
      idempotencyKey: randomUUID(),
    });
    expect(transfer).toMatchObject({ replayed: false, transaction: { status: 'completed' } });
    expect((await ok('get_account_balance', { accountId: from.id })).balance).toEqual({ amountMinor: before.amountMinor - 25, currency: 'EUR' });
    const page = await ok('list_transactions', { accountId: to.id, status: 'completed', minAmountMinor: 25, maxAmountMinor: 25, limit: 10 });
    expect(page.transactions.map((x: Json) => x.id)).toContain(transfer.transaction.id);
    expect((await ok('get_transaction', { transactionId: transfer.transaction.id })).transaction.amount).toEqual({ amountMinor: 25, currency: 'EUR' });
  });

  test('health, maintenance and the circuit breaker', async () => {
    expect(await ok('ops_health_check', { mode: 'full' })).toMatchObject({ status: 'healthy', blockedIps: 0 });
    expect(await ok('ops_set_maintenance', { enabled: true, reason: 'every-tool test' })).toMatchObject({ enabled: true, actor: 'every-tool' });
    const refused = await call('get_account_balance', { accountId: 'acc_x' });
    expect(refused.isError).toBe(true);
    expect(refused.content[0]!.text).toMatch(/^E_MAINTENANCE/);
    expect(await ok('ops_set_maintenance', { enabled: false, reason: 'done' })).toMatchObject({ enabled: false });
    expect(await ok('ops_reset_circuit_breaker', { service: 'account-service' })).toMatchObject({ breaker: { service: 'account-service', state: 'closed' } });
  });

  test('IP blocking tools', async () => {
    expect(await ok('ops_block_ip', { ip: '198.51.100.0/24', ttlSeconds: 300, reason: 'every-tool test' })).toMatchObject({
      blocked: { cidr: '198.51.100.0/24', actor: 'every-tool' },
    });
    expect((await ok('ops_list_blocked_ips')).blocks.map((b: Json) => b.cidr)).toEqual(['198.51.100.0/24']);
    expect(await ok('ops_unblock_ip', { ip: '198.51.100.0/24' })).toMatchObject({ unblocked: { cidr: '198.51.100.0/24' } });
    expect((await ok('ops_list_blocked_ips')).count).toBe(0);
  });

  test('backups, evidence and the security report', async () => {
    const backup = await ok('ops_backup_create');
    expect(backup).toMatchObject({ fileCount: 1, createdBy: 'every-tool', skipped: [] });
    expect((await ok('ops_backup_list')).backups.map((b: Json) => b.name)).toContain(backup.name);
    expect(await ok('ops_backup_verify', { name: backup.name })).toMatchObject({ ok: true, problems: [] });
    const restored = await ok('ops_backup_restore', { name: backup.name, target: 'every-tool' });
    expect(restored.fileCount).toBe(1);
    expect(await fs.readFile(path.join(restored.targetDir, src.slice(1), 'ops.yaml'), 'utf8')).toBe('channels: [ops-critical]\n');

    const evidence = await ok('ops_collect_evidence', { reason: 'INC-1' });
    expect(evidence.files).toEqual(expect.arrayContaining(['logs.ndjson', 'health.json', 'metrics.txt', 'meta.json']));
    expect((await fs.stat(evidence.path)).size).toBe(evidence.bytes);

    expect(await ok('ops_security_report', { windowMinutes: 5 })).toMatchObject({ windowMinutes: 5, total: expect.any(Number) });
  });

  test('every listed tool was called', () => {
    expect([...called].sort()).toEqual([...listed].sort());
  });
});
