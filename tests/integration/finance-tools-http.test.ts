import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { mintToken } from '../../lib/jwt';
import { silentLogger } from '../../lib/logger';
import { closeRedis, createRedis, type Redis } from '../../lib/redis';
import { startBackendSimulators, type RunningSimulators } from '../../sandbox/backends';
import { createMcpFinancialServer } from '../../server/app';
import { loadServerEnv } from '../../server/config';
import { deleteKeys, sumSeries } from './server-harness';

const SECRET = 'finance-http-secret-0123456789';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- structured results are read field by field
type Json = any;

/**
 * The production wiring: createMcpFinancialServer loads server/backends and
 * the finance tools itself (no test doubles), talks to the simulators over
 * HTTP, and an SDK Client calls it over Streamable HTTP with a minted token.
 */
describe('finance tools over HTTP with a minted token', () => {
  let sims: RunningSimulators;
  let redis: Redis;
  let dir: string;
  let prefix: string;
  let server: ReturnType<typeof createMcpFinancialServer>;
  let url: string;
  const clients: Client[] = [];

  beforeAll(async () => {
    sims = await startBackendSimulators();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mfo-fin-http-'));
    prefix = `test-${randomUUID()}`;
    const env = loadServerEnv({
      JWT_SECRET: SECRET,
      SERVER_PORT: '0',
      REDIS_URL,
      REDIS_PREFIX: prefix,
      MAINTENANCE_STATUS_FILE: path.join(dir, 'status'),
      BACKUP_DIR: path.join(dir, 'backups'),
      EVIDENCE_DIR: path.join(dir, 'evidence'),
      ACCOUNT_SERVICE_URL: sims.accountUrl,
      TRANSACTION_SERVICE_URL: sims.transactionUrl,
      CIRCUIT_BREAKER_FAILURE_THRESHOLD: '2',
      CIRCUIT_BREAKER_RECOVERY_TIMEOUT: '1',
      LOG_LEVEL: 'silent',
    });
    redis = createRedis(env.REDIS_URL);
    server = createMcpFinancialServer(env, { redis, logger: silentLogger() });
    url = (await server.start()).url;
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await server.stop();
    await sims.stop();
    await deleteKeys(redis, `${prefix}:*`);
    await closeRedis(redis);
    await fs.rm(dir, { recursive: true, force: true });
  });

  const token = (scope: string) => mintToken({ secret: SECRET, subject: 'finance-test', scope, ttl: 300 });
  async function client(scope: string): Promise<Client> {
    const transport = new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${await token(scope)}` } },
    });
    const c = new Client({ name: 'finance-http-test', version: '0' });
    await c.connect(transport);
    clients.push(c);
    return c;
  }
  async function call(c: Client, name: string, args: Record<string, unknown>): Promise<{ isError: boolean; text: string; data: Json }> {
    const r = await c.callTool({ name, arguments: args });
    return { isError: r.isError === true, text: (r.content as Array<{ text: string }>).map((x) => x.text).join('\n'), data: r.structuredContent };
  }
  const metric = async (name: string, labels: Record<string, string> = {}) => sumSeries(await (await fetch(`${url}/metrics`)).text(), name, labels);

  test('an outside client lists and calls every finance tool', async () => {
    const c = await client('accounts:read transactions:write');
    const names = (await c.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['list_accounts', 'get_account', 'get_account_balance', 'list_transactions', 'get_transaction', 'create_transfer']));
    const accounts = (await call(c, 'list_accounts', { currency: 'GBP' })).data.accounts as Json[];
    expect(accounts.length).toBeGreaterThanOrEqual(2);
    expect((await call(c, 'get_account', { accountId: accounts[0].id })).data.account.id).toBe(accounts[0].id);
    const bal = await call(c, 'get_account_balance', { accountId: accounts[0].id });
    expect(bal.data.balance.currency).toBe('GBP');
    const t = await call(c, 'create_transfer', {
      fromAccountId: accounts[0].id,
      toAccountId: accounts[1].id,
      amount: { amountMinor: 1, currency: 'GBP' },
      idempotencyKey: randomUUID(),
    });
    expect(t.data.transaction.status).toBe('completed');
    const list = await call(c, 'list_transactions', { accountId: accounts[0].id, limit: 1 });
    expect(list.data.transactions[0].id).toBe(t.data.transaction.id);
    expect((await call(c, 'get_transaction', { transactionId: t.data.transaction.id })).data.transaction.amount).toEqual({ amountMinor: 1, currency: 'GBP' });
    expect(await metric('mcp_requests_total', { tool: 'create_transfer', status: 'success' })).toBe(1);
    expect(await metric('backend_request_duration_seconds_count', { service: 'transaction-service', operation: 'create_transfer', outcome: 'success' })).toBe(1);
  });

  test('concurrent transfers over HTTP keep the ledger exact', async () => {
    const c = await client('accounts:read transactions:write');
    const accounts = (await call(c, 'list_accounts', { currency: 'USD' })).data.accounts as Json[];
    const ids = accounts.map((a) => a.id);
    const totalBefore = accounts.reduce((s, a) => s + a.balance.amountMinor, 0);
    // Stateless server: one client connection can carry many concurrent calls.
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        call(c, 'create_transfer', {
          fromAccountId: ids[i % ids.length],
          toAccountId: ids[(i + 1) % ids.length],
          amount: { amountMinor: 1 + ((i * 7919) % 100_000), currency: 'USD' },
          idempotencyKey: `http-${i}-${randomUUID()}`,
        }),
      ),
    );
    for (const r of results) if (r.isError) expect(r.text).toMatch(/^E_INSUFFICIENT_FUNDS/);
    const after = (await call(c, 'list_accounts', { currency: 'USD' })).data.accounts as Json[];
    expect(after.reduce((s, a) => s + a.balance.amountMinor, 0)).toBe(totalBefore);
    for (const a of after) expect(a.balance.amountMinor).toBeGreaterThanOrEqual(0);
  });

  test('a read-only token gets a 403 insufficient_scope for create_transfer', async () => {
    const res = await fetch(`${url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${await token('accounts:read transactions:read')}` },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'create_transfer', arguments: {} } }),
    });
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toContain('transactions:write');
  });

  test('breaker opens under a fault, shows in /metrics, half-opens, re-opens on a failed trial, and closes', async () => {
    const c = await client('accounts:read');
    const id = ((await call(c, 'list_accounts', { limit: 1 })).data.accounts as Json[])[0].id;
    const state = () => metric('circuit_breaker_state', { service: 'account-service' });
    const transitions = (from: string, to: string) => metric('circuit_breaker_transitions_total', { service: 'account-service', from, to });
    const fault = () => fetch(`${sims.accountUrl}/_sandbox/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"errorRate":1}' });
    const clear = () => fetch(`${sims.accountUrl}/_sandbox/faults`, { method: 'DELETE' });
    await fault();
    try {
      // CIRCUIT_BREAKER_FAILURE_THRESHOLD=2: two failures open it, the third call fails fast naming the service.
      for (let i = 0; i < 2; i += 1) expect((await call(c, 'get_account_balance', { accountId: id })).text).toMatch(/^E_BACKEND_UNAVAILABLE/);
      expect((await call(c, 'get_account_balance', { accountId: id })).text).toMatch(/^E_CIRCUIT_OPEN: .*account-service/);
      expect(await state()).toBe(2);
      expect(await metric('circuit_breaker_state', { service: 'transaction-service' })).toBe(0);
      expect(await transitions('closed', 'open')).toBe(1);

      // CIRCUIT_BREAKER_RECOVERY_TIMEOUT=1 s: then half-open (1), and the trial call, still failing, re-opens it.
      await new Promise((r) => setTimeout(r, 1100));
      expect(await state()).toBe(1);
      expect((await call(c, 'get_account_balance', { accountId: id })).text).toMatch(/^E_BACKEND_UNAVAILABLE/);
      expect(await state()).toBe(2);
      expect(await transitions('half-open', 'open')).toBe(1);
    } finally {
      await clear();
    }
    // Fault cleared: after the timeout the trial succeeds and closes it.
    await new Promise((r) => setTimeout(r, 1100));
    expect((await call(c, 'get_account_balance', { accountId: id })).isError).toBe(false);
    expect(await state()).toBe(0);
    expect(await transitions('open', 'half-open')).toBe(2);
    expect(await transitions('half-open', 'closed')).toBe(1);
  });
});
