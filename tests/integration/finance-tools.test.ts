import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { silentLogger } from '../../lib/logger';
import { Registry } from '../../lib/metrics';
import { startBackendSimulators, type RunningSimulators } from '../../sandbox/backends';
import { createBackends } from '../../server/backends';
import type { ToolContext } from '../../server/mcp/tool-context';
import { createServerMetrics } from '../../server/metrics';
import { createMaintenanceStore } from '../../server/ops/maintenance';
import { formatMoney } from '../../server/tools/finance-format';
import { registerFinanceTools } from '../../server/tools/finance-tools';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- structured results are read field by field
type Json = any;

/** Client transport that stamps every message with token info, as the HTTP layer does. */
function authed(transport: InMemoryTransport, auth: AuthInfo): InMemoryTransport {
  const send = transport.send.bind(transport);
  transport.send = (message, options) => send(message, { ...options, authInfo: auth });
  return transport;
}

describe('finance tools over an in-memory MCP transport, backends over HTTP to the simulators', () => {
  let sims: RunningSimulators;
  let dir: string;
  let ctx: ToolContext;
  let backends: ReturnType<typeof createBackends>;
  let maintenance: ReturnType<typeof createMaintenanceStore>;
  const clients: Client[] = [];

  beforeAll(async () => {
    sims = await startBackendSimulators();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mfo-finance-'));
    const registry = new Registry();
    backends = createBackends(
      {
        ACCOUNT_SERVICE_URL: sims.accountUrl,
        TRANSACTION_SERVICE_URL: sims.transactionUrl,
        HTTP_POOL_SIZE: 4,
        HTTP_POOL_MAXSIZE: 8,
        HTTP_TIMEOUT: 2000,
        CONNECT_TIMEOUT: 1000,
        CIRCUIT_BREAKER_FAILURE_THRESHOLD: 2,
        CIRCUIT_BREAKER_RECOVERY_TIMEOUT: 30,
      },
      { registry, logger: silentLogger() },
    );
    maintenance = createMaintenanceStore({ statusFile: path.join(dir, 'status'), cacheMs: 0 });
    ctx = { backends, maintenance, metrics: createServerMetrics(registry, { breakers: () => backends.breakers() }), logger: silentLogger() };
  });
  afterAll(async () => {
    for (const c of clients) await c.close();
    await backends.close();
    await sims.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  async function connect(scopes: string[]): Promise<Client> {
    const server = new McpServer({ name: 't', version: '0' });
    registerFinanceTools(server, ctx);
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    const client = new Client({ name: 'c', version: '0' });
    await client.connect(authed(clientSide, { token: 't', clientId: 'cid', scopes, extra: { sub: 'tester' } }));
    clients.push(client);
    return client;
  }
  async function call(client: Client, name: string, args: Record<string, unknown>): Promise<{ isError: boolean; text: string; data: Json }> {
    const r = await client.callTool({ name, arguments: args });
    const text = (r.content as Array<{ type: string; text: string }>).map((c) => c.text).join('\n');
    return { isError: r.isError === true, text, data: r.structuredContent };
  }
  const all = ['accounts:read', 'transactions:write'];
  async function ledgerTotals(): Promise<Record<string, number>> {
    return ((await (await fetch(`${sims.accountUrl}/_sandbox/ledger`)).json()) as { totals: Record<string, number> }).totals;
  }

  test('lists the six tools, each with input and output schemas', async () => {
    const client = await connect(all);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(
      ['create_transfer', 'get_account', 'get_account_balance', 'get_transaction', 'list_accounts', 'list_transactions'].sort(),
    );
    for (const t of tools) expect(t.outputSchema?.type).toBe('object');
    expect(tools.find((t) => t.name === 'create_transfer')!.inputSchema.required).toEqual(
      expect.arrayContaining(['fromAccountId', 'toAccountId', 'amount', 'idempotencyKey']),
    );
  });

  test('account tools: structured money in integer minor units and a readable text', async () => {
    const client = await connect(['accounts:read']);
    const list = await call(client, 'list_accounts', { currency: 'USD', limit: 2 });
    expect(list.isError).toBe(false);
    expect(list.data.accounts).toHaveLength(2);
    expect(list.data.nextCursor).toEqual(expect.any(String));
    const rest = await call(client, 'list_accounts', { currency: 'USD', cursor: list.data.nextCursor });
    expect(rest.data.accounts.map((a: Json) => a.id)).not.toContain(list.data.accounts[0].id);
    const a = list.data.accounts[0];
    expect(list.text).toContain(a.id);
    const one = await call(client, 'get_account', { accountId: a.id });
    expect(one.data.account).toEqual(a);
    const bal = await call(client, 'get_account_balance', { accountId: a.id });
    expect(bal.data.balance).toEqual({ amountMinor: a.balance.amountMinor, currency: 'USD' });
    expect(Number.isInteger(bal.data.balance.amountMinor)).toBe(true);
    expect(bal.text).toContain(formatMoney(a.balance));
    expect(formatMoney({ amountMinor: 123456789, currency: 'USD' })).toBe('USD 1,234,567.89');
    expect(formatMoney({ amountMinor: -5, currency: 'EUR' })).toBe('EUR -0.05');
    expect(formatMoney({ amountMinor: 500, currency: 'JPY' })).toBe('JPY 500');
  });

  test('transaction tools: filters, cursor pages without overlap, one transaction', async () => {
    const client = await connect(['transactions:read']);
    const account = (await backends.listAccounts({ limit: 1 })).accounts[0]!.id;
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await call(client, 'list_transactions', { accountId: account, status: 'completed', minAmountMinor: 1, limit: 4, ...(cursor ? { cursor } : {}) });
      expect(page.isError).toBe(false);
      for (const t of page.data.transactions) {
        expect(t.status).toBe('completed');
        expect([t.fromAccountId, t.toAccountId]).toContain(account);
        seen.push(t.id);
      }
      cursor = page.data.nextCursor ?? undefined;
    } while (cursor);
    expect(seen.length).toBeGreaterThan(4);
    expect(new Set(seen).size).toBe(seen.length);
    const one = await call(client, 'get_transaction', { transactionId: seen[0] });
    expect(one.data.transaction.id).toBe(seen[0]);
    expect(one.text).toContain(seen[0]);
    const bad = await call(client, 'list_transactions', { from: '2030-01-01T00:00:00Z', to: '2020-01-01T00:00:00Z' });
    expect(bad.isError).toBe(true);
    expect(bad.text).toContain('from must not be after to');
    const missing = await call(client, 'get_transaction', { transactionId: 'txn_none' });
    expect(missing.text).toMatch(/^E_NOT_FOUND: /);
  });

  test('create_transfer moves money once per key and refuses another body under the same key', async () => {
    const client = await connect(['accounts:read', 'transactions:write']);
    const [from, to] = (await backends.listAccounts({ currency: 'EUR' })).accounts;
    const before = [(await backends.getBalance(from!.id)).balance.amountMinor, (await backends.getBalance(to!.id)).balance.amountMinor];
    const args = { fromAccountId: from!.id, toAccountId: to!.id, amount: { amountMinor: 1999, currency: 'EUR' }, idempotencyKey: randomUUID() };
    const first = await call(client, 'create_transfer', args);
    expect(first.isError).toBe(false);
    expect(first.data).toMatchObject({ replayed: false, transaction: { status: 'completed', amount: { amountMinor: 1999, currency: 'EUR' } } });
    expect(first.text).toContain('EUR 19.99');
    const again = await call(client, 'create_transfer', args);
    expect(again.data).toMatchObject({ replayed: true, transaction: { id: first.data.transaction.id } });
    const conflict = await call(client, 'create_transfer', { ...args, amount: { amountMinor: 2000, currency: 'EUR' } });
    expect(conflict.isError).toBe(true);
    expect(conflict.text).toMatch(/^E_IDEMPOTENCY_CONFLICT: /);
    expect([(await backends.getBalance(from!.id)).balance.amountMinor, (await backends.getBalance(to!.id)).balance.amountMinor]).toEqual([
      before[0]! - 1999,
      before[1]! + 1999,
    ]);
  });

  test('each refusal is a tool error with its stable code, and nothing is written', async () => {
    const client = await connect(all);
    const usd = (await backends.listAccounts({ currency: 'USD' })).accounts;
    const gbp = (await backends.listAccounts({ currency: 'GBP' })).accounts;
    const base = { fromAccountId: usd[0]!.id, toAccountId: usd[1]!.id, amount: { amountMinor: 100, currency: 'USD' } };
    const cases: Array<[string, Record<string, unknown>]> = [
      ['E_INSUFFICIENT_FUNDS', { ...base, amount: { amountMinor: 999_999_999_999, currency: 'USD' } }],
      ['E_ACCOUNT_NOT_FOUND', { ...base, toAccountId: 'acc_nobody' }],
      ['E_CURRENCY_MISMATCH', { ...base, toAccountId: gbp[0]!.id }],
      ['E_CURRENCY_MISMATCH', { ...base, amount: { amountMinor: 100, currency: 'GBP' } }],
      ['E_INVALID_AMOUNT', { ...base, amount: { amountMinor: 0, currency: 'USD' } }],
      ['E_INVALID_AMOUNT', { ...base, amount: { amountMinor: -250, currency: 'USD' } }],
      ['E_INVALID_AMOUNT', { ...base, amount: { amountMinor: 10.5, currency: 'USD' } }],
      ['E_VALIDATION_FAILED', { ...base, toAccountId: usd[0]!.id }],
    ];
    const totals = await ledgerTotals();
    const history = sims.transactionService.store.size();
    for (const [code, args] of cases) {
      const r = await call(client, 'create_transfer', { ...args, idempotencyKey: randomUUID() });
      expect(r.isError).toBe(true);
      expect(r.text.split(':')[0]).toBe(code);
    }
    expect(await ledgerTotals()).toEqual(totals);
    expect(sims.transactionService.store.size()).toBe(history);
    for (const a of [...usd, ...gbp]) expect((await backends.getBalance(a.id)).balance).toEqual(a.balance);
  });

  test('an unconfirmed transfer says so, and a retry with the same key settles it exactly once', async () => {
    const client = await connect(all);
    const [from, to] = (await backends.listAccounts({ currency: 'USD' })).accounts;
    const args = { fromAccountId: from!.id, toAccountId: to!.id, amount: { amountMinor: 777, currency: 'USD' }, idempotencyKey: randomUUID() };
    await fetch(`${sims.accountUrl}/_sandbox/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"errorRate":1}' });
    let failed;
    try {
      failed = await call(client, 'create_transfer', args);
    } finally {
      await fetch(`${sims.accountUrl}/_sandbox/faults`, { method: 'DELETE' });
    }
    expect(failed.text).toMatch(/^E_BACKEND_UNAVAILABLE: .*retry with the same idempotencyKey/);
    expect((await backends.getBalance(from!.id)).balance).toEqual(from!.balance);
    const retried = await call(client, 'create_transfer', args);
    expect(retried.data.transaction.status).toBe('completed');
    expect(await call(client, 'create_transfer', args)).toMatchObject({ data: { transaction: { id: retried.data.transaction.id } } });
    expect((await backends.getBalance(from!.id)).balance.amountMinor).toBe(from!.balance.amountMinor - 777);
    expect((await backends.getBalance(to!.id)).balance.amountMinor).toBe(to!.balance.amountMinor + 777);
    backends.resetBreaker('transaction-service');
  });

  test('scopes: read tokens cannot transfer; write implies read', async () => {
    const reader = await connect(['accounts:read', 'transactions:read']);
    const usd = (await backends.listAccounts({ currency: 'USD' })).accounts;
    const r = await call(reader, 'create_transfer', {
      fromAccountId: usd[0]!.id,
      toAccountId: usd[1]!.id,
      amount: { amountMinor: 1, currency: 'USD' },
      idempotencyKey: randomUUID(),
    });
    expect(r.text).toMatch(/^E_FORBIDDEN: .*transactions:write/);
    expect((await call(reader, 'list_accounts', {})).isError).toBe(false);
    const writer = await connect(['transactions:write']);
    expect((await call(writer, 'list_transactions', { limit: 1 })).isError).toBe(false);
    expect((await call(writer, 'list_accounts', {})).text).toMatch(/^E_FORBIDDEN/);
  });

  test('in maintenance every finance tool answers E_MAINTENANCE', async () => {
    const client = await connect(all);
    await maintenance.set(true, { reason: 'test', actor: 'jest' });
    try {
      const r = await call(client, 'list_accounts', {});
      expect(r.text).toMatch(/^E_MAINTENANCE: /);
    } finally {
      await maintenance.set(false, { reason: 'test', actor: 'jest' });
    }
    expect((await call(client, 'list_accounts', {})).isError).toBe(false);
  });

  test('an open breaker is a tool error that names the service', async () => {
    const client = await connect(all);
    const id = (await backends.listAccounts({ limit: 1 })).accounts[0]!.id;
    await fetch(`${sims.accountUrl}/_sandbox/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"down":true}' });
    try {
      expect((await call(client, 'get_account_balance', { accountId: id })).text).toMatch(/^E_BACKEND_UNAVAILABLE: account-service failed \(HTTP 503/);
      await call(client, 'get_account_balance', { accountId: id });
      const r = await call(client, 'get_account_balance', { accountId: id });
      expect(r.text).toMatch(/^E_CIRCUIT_OPEN: .*account-service/);
    } finally {
      await fetch(`${sims.accountUrl}/_sandbox/faults`, { method: 'DELETE' });
      backends.resetBreaker('account-service');
    }
    expect((await call(client, 'list_transactions', { limit: 1 })).isError).toBe(false);
  });
});
