import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import net from 'node:net';
import { CodedError, ErrorCode } from '../../lib/errors';
import { silentLogger } from '../../lib/logger';
import { Registry } from '../../lib/metrics';
import { startBackendSimulators, type RunningSimulators } from '../../sandbox/backends';
import { createBackends } from '../../server/backends';

type Env = Parameters<typeof createBackends>[0];

/** The backend layer against the real simulators over HTTP, with faults injected through their control API. */
describe('server/backends against the simulators', () => {
  let sims: RunningSimulators;
  const opened: Array<{ close(): Promise<void> }> = [];

  beforeAll(async () => {
    sims = await startBackendSimulators();
  });
  afterAll(async () => {
    for (const b of opened) await b.close();
    await sims.stop();
  });
  afterEach(async () => {
    for (const url of [sims.accountUrl, sims.transactionUrl]) await fetch(`${url}/_sandbox/faults`, { method: 'DELETE' });
  });

  function build(overrides: Partial<Env> = {}) {
    const registry = new Registry();
    const env: Env = {
      ACCOUNT_SERVICE_URL: sims.accountUrl,
      TRANSACTION_SERVICE_URL: sims.transactionUrl,
      HTTP_POOL_SIZE: 4,
      HTTP_POOL_MAXSIZE: 8,
      HTTP_TIMEOUT: 2000,
      CONNECT_TIMEOUT: 1000,
      CIRCUIT_BREAKER_FAILURE_THRESHOLD: 3,
      CIRCUIT_BREAKER_RECOVERY_TIMEOUT: 30,
      ...overrides,
    };
    const backends = createBackends(env, { registry, logger: silentLogger() });
    opened.push(backends);
    return { backends, registry };
  }
  const faults = (url: string, body: object) =>
    fetch(`${url}/_sandbox/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  async function codeOf(p: Promise<unknown>): Promise<string> {
    try {
      await p;
      return 'ok';
    } catch (err) {
      expect(err).toBeInstanceOf(CodedError);
      return (err as CodedError).code;
    }
  }
  async function metricValue(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
    const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
    const values = (metric?.values ?? []) as Array<{ labels: Record<string, string | number>; value: number; metricName?: string }>;
    return values
      .filter((v) => (name.endsWith('_seconds') ? v.metricName === `${name}_count` : true))
      .filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))
      .reduce((s, v) => s + v.value, 0);
  }

  test('reads accounts, balances and history; money is integer minor units', async () => {
    const { backends } = build();
    const page = await backends.listAccounts({ limit: 3 });
    expect(page.accounts).toHaveLength(3);
    expect(page.nextCursor).not.toBeNull();
    const next = await backends.listAccounts({ limit: 100, cursor: page.nextCursor! });
    expect(next.accounts.map((a) => a.id)).not.toContain(page.accounts[0]!.id);
    const account = page.accounts[0]!;
    const balance = await backends.getBalance(account.id);
    expect(balance.balance).toEqual(account.balance);
    expect(Number.isInteger(balance.balance.amountMinor)).toBe(true);
    const txns = await backends.listTransactions({ accountId: account.id, limit: 5 });
    expect(txns.transactions.length).toBeGreaterThan(0);
    expect((await backends.getTransaction(txns.transactions[0]!.id)).id).toBe(txns.transactions[0]!.id);
  });

  test('transfers are idempotent and every business refusal has its own code', async () => {
    const { backends } = build();
    const usd = (await backends.listAccounts({ currency: 'USD' })).accounts;
    const eur = (await backends.listAccounts({ currency: 'EUR' })).accounts;
    const key = `k-${randomUUID()}`;
    const input = { fromAccountId: usd[0]!.id, toAccountId: usd[1]!.id, amount: { amountMinor: 250, currency: 'USD' }, idempotencyKey: key };
    const first = await backends.createTransfer(input);
    expect(first).toMatchObject({ replayed: false, transaction: { status: 'completed', amount: { amountMinor: 250, currency: 'USD' } } });
    const again = await backends.createTransfer(input);
    expect(again).toMatchObject({ replayed: true, transaction: { id: first.transaction.id } });
    expect(await codeOf(backends.createTransfer({ ...input, amount: { amountMinor: 251, currency: 'USD' } }))).toBe(ErrorCode.IdempotencyConflict);

    const fresh = () => `k-${randomUUID()}`;
    expect(await codeOf(backends.createTransfer({ ...input, idempotencyKey: fresh(), amount: { amountMinor: 10 ** 12, currency: 'USD' } }))).toBe(
      ErrorCode.InsufficientFunds,
    );
    expect(await codeOf(backends.createTransfer({ ...input, idempotencyKey: fresh(), toAccountId: 'acc_nobody' }))).toBe(ErrorCode.AccountNotFound);
    expect(await codeOf(backends.createTransfer({ ...input, idempotencyKey: fresh(), toAccountId: eur[0]!.id }))).toBe(ErrorCode.CurrencyMismatch);
    expect(await codeOf(backends.createTransfer({ ...input, idempotencyKey: fresh(), amount: { amountMinor: 0, currency: 'USD' } }))).toBe(
      ErrorCode.InvalidAmount,
    );
    expect(await codeOf(backends.getAccount('acc_nobody'))).toBe(ErrorCode.AccountNotFound);
    expect(await codeOf(backends.getTransaction('txn_nothing'))).toBe(ErrorCode.NotFound);
    // None of those 4xx answers counts against the backends.
    expect(backends.breakers().map((b) => [b.state, b.failures])).toEqual([
      ['closed', 0],
      ['closed', 0],
    ]);
  });

  test('breaker opens on 5xx, fails fast, half-opens after the recovery timeout and closes on success', async () => {
    const { backends, registry } = build({ CIRCUIT_BREAKER_FAILURE_THRESHOLD: 3, CIRCUIT_BREAKER_RECOVERY_TIMEOUT: 1 });
    const id = (await backends.listAccounts({ limit: 1 })).accounts[0]!.id;
    await faults(sims.accountUrl, { errorRate: 1 });
    for (let i = 0; i < 3; i += 1) expect(await codeOf(backends.getBalance(id))).toBe(ErrorCode.BackendUnavailable);
    expect(backends.breakers()[0]).toMatchObject({ service: 'account-service', state: 'open', failures: 3 });
    expect(backends.breakers()[1]).toMatchObject({ service: 'transaction-service', state: 'closed' });

    // The backend is healthy again, but the open breaker does not even try.
    await fetch(`${sims.accountUrl}/_sandbox/faults`, { method: 'DELETE' });
    let err: unknown;
    try {
      await backends.getBalance(id);
    } catch (e) {
      err = e;
    }
    expect((err as CodedError).code).toBe(ErrorCode.CircuitOpen);
    expect((err as CodedError).message).toContain('account-service');
    const health = await backends.health();
    expect(health[0]).toMatchObject({ service: 'account-service', healthy: false, breaker: 'open' });
    expect(health[1]).toMatchObject({ service: 'transaction-service', healthy: true, breaker: 'closed' });

    await new Promise((r) => setTimeout(r, 1100));
    expect(backends.breakers()[0]!.state).toBe('half-open');
    expect((await backends.getBalance(id)).accountId).toBe(id);
    expect(backends.breakers()[0]).toMatchObject({ state: 'closed', failures: 0 });

    expect(await metricValue(registry, 'circuit_breaker_transitions_total', { service: 'account-service', from: 'closed', to: 'open' })).toBe(1);
    expect(await metricValue(registry, 'circuit_breaker_transitions_total', { service: 'account-service', from: 'open', to: 'half-open' })).toBe(1);
    expect(await metricValue(registry, 'circuit_breaker_transitions_total', { service: 'account-service', from: 'half-open', to: 'closed' })).toBe(1);
    expect(await metricValue(registry, 'backend_request_duration_seconds', { service: 'account-service', outcome: 'server_error' })).toBe(3);
    expect(await metricValue(registry, 'backend_request_duration_seconds', { service: 'account-service', outcome: 'circuit_open' })).toBeGreaterThanOrEqual(2);
  });

  test('a failed half-open trial re-opens; a reset closes by hand', async () => {
    const { backends } = build({ CIRCUIT_BREAKER_FAILURE_THRESHOLD: 2, CIRCUIT_BREAKER_RECOVERY_TIMEOUT: 1 });
    await faults(sims.transactionUrl, { down: true });
    for (let i = 0; i < 2; i += 1) expect(await codeOf(backends.listTransactions({}))).toBe(ErrorCode.BackendUnavailable);
    expect(backends.breakers()[1]!.state).toBe('open');
    await new Promise((r) => setTimeout(r, 1100));
    expect(await codeOf(backends.listTransactions({}))).toBe(ErrorCode.BackendUnavailable);
    expect(backends.breakers()[1]!.state).toBe('open');
    await fetch(`${sims.transactionUrl}/_sandbox/faults`, { method: 'DELETE' });
    expect(backends.resetBreaker('transaction-service')).toMatchObject({ state: 'closed', failures: 0 });
    expect((await backends.listTransactions({ limit: 1 })).transactions).toHaveLength(1);
  });

  test('a response slower than HTTP_TIMEOUT is a timeout and counts as a failure', async () => {
    const { backends, registry } = build({ HTTP_TIMEOUT: 150 });
    await faults(sims.accountUrl, { latencyMs: 1000 });
    let err: unknown;
    try {
      await backends.listAccounts({});
    } catch (e) {
      err = e;
    }
    expect((err as CodedError).code).toBe(ErrorCode.BackendUnavailable);
    expect((err as CodedError).message).toMatch(/timed out.*150ms/);
    expect(backends.breakers()[0]).toMatchObject({ state: 'closed', failures: 1 });
    expect(await metricValue(registry, 'backend_request_duration_seconds', { service: 'account-service', outcome: 'timeout' })).toBe(1);
  });

  test('a refused connection is a failure', async () => {
    const { backends, registry } = build({ ACCOUNT_SERVICE_URL: 'http://127.0.0.1:1', CIRCUIT_BREAKER_FAILURE_THRESHOLD: 1 });
    expect(await codeOf(backends.getAccount('acc_x'))).toBe(ErrorCode.BackendUnavailable);
    expect(backends.breakers()[0]!.state).toBe('open');
    expect(await metricValue(registry, 'backend_request_duration_seconds', { outcome: 'connection_error' })).toBe(1);
  });

  test('CONNECT_TIMEOUT bounds the TCP connect alone, well inside HTTP_TIMEOUT', async () => {
    // A listener whose accept backlog is full: the kernel drops further SYNs, so a connect hangs.
    const { child, port } = await blackholeListener();
    try {
      const held = net.connect(port, '127.0.0.1');
      await new Promise((r) => held.once('connect', r));
      const { backends, registry } = build({ ACCOUNT_SERVICE_URL: `http://127.0.0.1:${port}`, CONNECT_TIMEOUT: 200, HTTP_TIMEOUT: 20_000 });
      let err: unknown;
      try {
        await backends.getAccount('acc_x');
      } catch (e) {
        err = e;
      }
      expect((err as CodedError).code).toBe(ErrorCode.BackendUnavailable);
      expect((err as CodedError).message).toContain('connect timeout after 200ms');
      expect(backends.breakers()[0]!.failures).toBe(1);
      expect(await metricValue(registry, 'backend_request_duration_seconds', { outcome: 'timeout' })).toBe(1);
      held.destroy();
    } finally {
      child.kill();
    }
  });

  test('the pool reuses keep-alive sockets and never opens more than HTTP_POOL_MAXSIZE', async () => {
    const { backends } = build({ HTTP_POOL_SIZE: 2, HTTP_POOL_MAXSIZE: 2 });
    const seen = new Set<string>();
    let concurrent = 0;
    let peak = 0;
    const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
      if (!req.url?.startsWith('/accounts')) return; // the test's own fault-control calls
      seen.add(`${req.socket.remotePort}`);
      concurrent += 1;
      peak = Math.max(peak, concurrent);
      res.once('close', () => (concurrent -= 1));
    };
    const server = sims.accountServer.server;
    server.on('request', onRequest);
    try {
      await faults(sims.accountUrl, { latencyMs: 50 });
      await Promise.all(Array.from({ length: 12 }, () => backends.listAccounts({ limit: 1 })));
      expect(peak).toBeLessThanOrEqual(2);
      await fetch(`${sims.accountUrl}/_sandbox/faults`, { method: 'DELETE' });
      for (let i = 0; i < 10; i += 1) await backends.listAccounts({ limit: 1 });
      expect(seen.size).toBeLessThanOrEqual(2);
    } finally {
      server.off('request', onRequest);
    }
  });
});

async function blackholeListener(): Promise<{ child: ChildProcess; port: number }> {
  const script = [
    'import socket, sys, time',
    's = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(0)',
    'print(s.getsockname()[1], flush=True)',
    'time.sleep(60)',
  ].join('\n');
  const child = spawn('python3', ['-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.stdout!.once('data', (buf: Buffer) => resolve(Number(buf.toString().trim())));
  });
  return { child, port };
}
