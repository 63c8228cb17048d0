import { randomUUID } from 'node:crypto';
import { buildSeed, createAccountService, createTransactionService, type AccountService, type TransactionService } from '../../sandbox/backends';
import type { Account, Transaction } from '../../sandbox/backends';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are read field by field
type Json = any;

/** The two simulators over real HTTP on ephemeral ports, with a small seed so overdraft attempts happen. */
describe('backend simulators: ledger', () => {
  let accounts: AccountService;
  let txns: TransactionService;
  let accountUrl: string;
  let txnUrl: string;

  const seed = buildSeed({
    historySize: 0,
    accounts: [
      { ownerName: 'A', type: 'checking', currency: 'USD', openingMinor: 10_000 },
      { ownerName: 'B', type: 'checking', currency: 'USD', openingMinor: 5_000 },
      { ownerName: 'C', type: 'checking', currency: 'USD', openingMinor: 2_500 },
      { ownerName: 'D', type: 'checking', currency: 'USD', openingMinor: 0 },
      { ownerName: 'E', type: 'checking', currency: 'EUR', openingMinor: 7_000 },
    ],
  });
  const usd = seed.accounts.filter((a) => a.currency === 'USD').map((a) => a.id);
  const eur = seed.accounts.find((a) => a.currency === 'EUR')!.id;

  beforeAll(async () => {
    accounts = createAccountService({ seed });
    accountUrl = (await accounts.start(0)).url;
    txns = createTransactionService({ seed, accountServiceUrl: accountUrl });
    txnUrl = (await txns.start(0)).url;
  });
  afterAll(async () => {
    await txns.stop();
    await accounts.stop();
  });
  afterEach(async () => {
    await fetch(`${accountUrl}/_sandbox/faults`, { method: 'DELETE' });
    await fetch(`${txnUrl}/_sandbox/faults`, { method: 'DELETE' });
  });

  async function call(url: string, init: RequestInit = {}): Promise<{ status: number; body: Json; headers: Headers }> {
    const res = await fetch(url, { ...init, headers: { 'content-type': 'application/json', ...(init.headers as Record<string, string>) } });
    return { status: res.status, body: await res.json(), headers: res.headers };
  }
  function transfer(key: string | undefined, body: Record<string, unknown>) {
    return call(`${txnUrl}/transfers`, { method: 'POST', body: JSON.stringify(body), headers: key === undefined ? {} : { 'Idempotency-Key': key } });
  }
  async function balances(): Promise<Map<string, number>> {
    const { body } = await call(`${accountUrl}/accounts?limit=100`);
    return new Map((body.accounts as Account[]).map((a) => [a.id, a.balance.amountMinor]));
  }
  const usdMove = (from: string, to: string, amountMinor: number) => ({ fromAccountId: from, toAccountId: to, amount: { amountMinor, currency: 'USD' } });

  test('200 concurrent transfers (each key sent twice) never overdraw, never lose a cent, post each key once', async () => {
    const before = await balances();
    const totalBefore = usd.reduce((s, id) => s + before.get(id)!, 0);
    const requests = Array.from({ length: 200 }, (_, i) => {
      const from = usd[i % 4]!;
      const to = usd[(i * 7 + 1) % 4 === i % 4 ? (i + 1) % 4 : (i * 7 + 1) % 4]!;
      return { key: `conc-${randomUUID()}`, body: usdMove(from, to, 100 + ((i * 37) % 900)) };
    });
    const results = await Promise.all(requests.flatMap((r) => [transfer(r.key, r.body), transfer(r.key, r.body)]));

    for (const r of results) expect([200, 201, 422]).toContain(r.status);
    const refused = results.filter((r) => r.status === 422);
    for (const r of refused) expect(r.body.error.code).toBe('insufficient_funds');
    expect(refused.length).toBeGreaterThan(0); // the seed is small enough that some must be refused

    // The two answers for one key agree: both the same transaction, or both refused.
    for (let i = 0; i < requests.length; i += 1) {
      const [a, b] = [results[2 * i]!, results[2 * i + 1]!];
      if (a.status === 422 || b.status === 422) expect([a.status, b.status]).toEqual([422, 422]);
      else expect(a.body.id).toBe(b.body.id);
    }

    const after = await balances();
    expect(usd.reduce((s, id) => s + after.get(id)!, 0)).toBe(totalBefore);
    for (const id of usd) expect(after.get(id)!).toBeGreaterThanOrEqual(0);

    // Every completed transfer appears once per key, and the history explains each balance exactly.
    const history: Transaction[] = [];
    let cursor: string | null = null;
    do {
      const q: string = `${txnUrl}/transactions?type=transfer&limit=100${cursor ? `&cursor=${cursor}` : ''}`;
      const { body } = await call(q);
      history.push(...body.transactions);
      cursor = body.nextCursor;
    } while (cursor);
    const ours = history.filter((t) => t.idempotencyKey?.startsWith('conc-'));
    const keys = ours.map((t) => t.idempotencyKey);
    expect(new Set(keys).size).toBe(keys.length);
    expect(ours.length).toBe(requests.length - refused.length / 2);
    for (const id of usd) {
      const net = ours.reduce((s, t) => s + (t.toAccountId === id ? t.amount.amountMinor : 0) - (t.fromAccountId === id ? t.amount.amountMinor : 0), 0);
      expect(after.get(id)).toBe(before.get(id)! + net);
    }
  });

  test('same key + same body replays; same key + another body is refused with idempotency_conflict', async () => {
    const key = `idem-${randomUUID()}`;
    const first = await transfer(key, usdMove(usd[0]!, usd[3]!, 10));
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBe('false');
    const again = await transfer(key, usdMove(usd[0]!, usd[3]!, 10));
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    const before = await balances();
    const other = await transfer(key, usdMove(usd[0]!, usd[3]!, 11));
    expect(other.status).toBe(409);
    expect(other.body.error.code).toBe('idempotency_conflict');
    expect(await balances()).toEqual(before);
  });

  test.each([
    ['insufficient_funds', 422, () => usdMove(usd[3]!, usd[0]!, 1_000_000_000)],
    ['account_not_found', 404, () => usdMove('acc_nope', usd[0]!, 10)],
    ['currency_mismatch', 422, () => ({ fromAccountId: usd[0]!, toAccountId: eur, amount: { amountMinor: 10, currency: 'USD' } })],
    ['currency_mismatch', 422, () => ({ ...usdMove(usd[0]!, usd[1]!, 10), amount: { amountMinor: 10, currency: 'EUR' } })],
    ['invalid_amount', 400, () => usdMove(usd[0]!, usd[1]!, 0)],
    ['invalid_amount', 400, () => usdMove(usd[0]!, usd[1]!, -5)],
    ['invalid_amount', 400, () => usdMove(usd[0]!, usd[1]!, 10.5)],
    ['same_account', 400, () => usdMove(usd[0]!, usd[0]!, 10)],
    ['validation_failed', 400, () => ({ ...usdMove(usd[0]!, usd[1]!, 10), amount: { amountMinor: 10, currency: 'usd' } })],
  ])('%s (HTTP %i) writes nothing and frees the key', async (code, status, body) => {
    const before = await balances();
    const history = txns.store.size();
    const key = `err-${randomUUID()}`;
    const res = await transfer(key, body());
    expect(res.status).toBe(status);
    expect(res.body.error.code).toBe(code);
    expect(typeof res.body.error.message).toBe('string');
    expect(await balances()).toEqual(before);
    expect(txns.store.size()).toBe(history);
    // Nothing was kept under the key: a valid transfer may use it now.
    expect((await transfer(key, usdMove(usd[0]!, usd[1]!, 1))).status).toBe(201);
  });

  test('a transfer without Idempotency-Key is refused', async () => {
    const res = await transfer(undefined, usdMove(usd[0]!, usd[1]!, 1));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('idempotency_key_required');
  });

  test('a posting the account-service never confirmed stays pending and a retry with the key settles it once', async () => {
    const key = `pending-${randomUUID()}`;
    const body = usdMove(usd[1]!, usd[2]!, 42);
    const before = await balances();
    await call(`${accountUrl}/_sandbox/faults`, { method: 'PUT', body: JSON.stringify({ errorRate: 1 }) });
    const failed = await transfer(key, body);
    expect(failed.status).toBe(503);
    expect(failed.body.error.code).toBe('upstream_unavailable');
    const id = failed.body.error.details.transactionId as string;
    expect((await call(`${txnUrl}/transactions/${id}`)).body.status).toBe('pending');
    await call(`${accountUrl}/_sandbox/faults`, { method: 'DELETE' });
    expect(await balances()).toEqual(before);

    const retried = await transfer(key, body);
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ id, status: 'completed' });
    expect((await transfer(key, body)).body.id).toBe(id);
    const after = await balances();
    expect(after.get(usd[1]!)).toBe(before.get(usd[1]!)! - 42);
    expect(after.get(usd[2]!)).toBe(before.get(usd[2]!)! + 42);
  });

  test('accounts, balance and unknown ids', async () => {
    const one = await call(`${accountUrl}/accounts/${usd[0]}`);
    expect(one.body).toMatchObject({ id: usd[0], ownerName: 'A', currency: 'USD' });
    expect(Number.isInteger(one.body.balance.amountMinor)).toBe(true);
    const bal = await call(`${accountUrl}/accounts/${usd[0]}/balance`);
    expect(bal.body.balance).toEqual(one.body.balance);
    expect((await call(`${accountUrl}/accounts/acc_missing`)).body.error.code).toBe('account_not_found');
    expect((await call(`${txnUrl}/transactions/txn_missing`)).status).toBe(404);
  });
});

describe('backend simulators: history filters and pagination (demo seed)', () => {
  let accounts: AccountService;
  let txns: TransactionService;
  let txnUrl: string;
  const seed = buildSeed();

  beforeAll(async () => {
    accounts = createAccountService({ seed });
    const accountUrl = (await accounts.start(0)).url;
    txns = createTransactionService({ seed, accountServiceUrl: accountUrl });
    txnUrl = (await txns.start(0)).url;
  });
  afterAll(async () => {
    await txns.stop();
    await accounts.stop();
  });

  async function walk(query: string): Promise<Transaction[]> {
    const out: Transaction[] = [];
    let cursor: string | null = null;
    do {
      const res = await fetch(`${txnUrl}/transactions?${query}&limit=7${cursor ? `&cursor=${cursor}` : ''}`);
      const body = (await res.json()) as { transactions: Transaction[]; nextCursor: string | null };
      out.push(...body.transactions);
      cursor = body.nextCursor;
    } while (cursor);
    return out;
  }

  test('pages cover the filtered set exactly once, newest first', async () => {
    const account = seed.accounts[0]!.id;
    const from = seed.transactions[10]!.createdAt;
    const to = seed.transactions[50]!.createdAt;
    const got = await walk(`accountId=${account}&from=${from}&to=${to}&minAmountMinor=1000&maxAmountMinor=80000&status=completed`);
    const expected = seed.transactions
      .filter((t) => (t.fromAccountId === account || t.toAccountId === account) && t.status === 'completed')
      .filter((t) => t.createdAt >= from && t.createdAt < to && t.amount.amountMinor >= 1000 && t.amount.amountMinor <= 80000)
      .map((t) => t.id);
    expect(expected.length).toBeGreaterThan(0);
    expect(got.map((t) => t.id).sort()).toEqual([...expected].sort());
    for (let i = 1; i < got.length; i += 1) expect(got[i - 1]!.createdAt >= got[i]!.createdAt).toBe(true);
    expect((await walk('status=failed')).every((t) => t.status === 'failed')).toBe(true);
    expect((await walk('')).length).toBe(seed.transactions.length);
  });

  test('bad filters and cursors are 400 with a reason', async () => {
    for (const q of ['from=yesterday', 'minAmountMinor=5&maxAmountMinor=1', 'status=lost', 'cursor=garbage', 'limit=1000']) {
      const res = await fetch(`${txnUrl}/transactions?${q}`);
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(['validation_failed', 'invalid_cursor']).toContain(body.error.code);
    }
  });

  test('seeded balances equal opening deposits plus completed history', () => {
    for (const a of seed.accounts) {
      const net = seed.transactions
        .filter((t) => t.status === 'completed')
        .reduce((s, t) => s + (t.toAccountId === a.id ? t.amount.amountMinor : 0) - (t.fromAccountId === a.id ? t.amount.amountMinor : 0), 0);
      expect(a.balance.amountMinor).toBe(net);
      expect(a.balance.amountMinor).toBeGreaterThanOrEqual(0);
    }
    expect(new Set(seed.accounts.map((a) => a.currency))).toEqual(new Set(['USD', 'EUR', 'GBP']));
  });
});
