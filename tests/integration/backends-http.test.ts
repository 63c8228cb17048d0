import type http from 'node:http';
import { listen, type RunningServer } from '../../lib/http';
import { CodedError, ErrorCode } from '../../lib/errors';
import { silentLogger } from '../../lib/logger';
import { Registry } from '../../lib/metrics';
import { createBackends } from '../../server/backends';

/**
 * The lean axios instance (server/backends/backend-http.ts) against a plain
 * HTTP server that records what it receives: what we send, how we read
 * answers, and that proxies from the environment are not used.
 */
describe('backend HTTP client settings', () => {
  let backend: RunningServer;
  let proxy: RunningServer;
  let proxyHits = 0;
  let answer: { status: number; type: string; body: string } = { status: 200, type: 'application/json', body: '{}' };
  const seen: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders; body: string }> = [];
  const opened: Array<{ close(): Promise<void> }> = [];

  beforeAll(async () => {
    backend = await listen((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        res.writeHead(answer.status, { 'content-type': answer.type });
        res.end(answer.body);
      });
    }, 0);
    proxy = await listen((_req, res) => {
      proxyHits += 1;
      res.writeHead(502).end();
    }, 0);
  });
  afterAll(async () => {
    for (const b of opened) await b.close();
    await backend.close();
    await proxy.close();
  });
  beforeEach(() => {
    seen.length = 0;
  });

  function build() {
    const backends = createBackends(
      {
        ACCOUNT_SERVICE_URL: backend.url,
        TRANSACTION_SERVICE_URL: backend.url,
        HTTP_POOL_SIZE: 2,
        HTTP_POOL_MAXSIZE: 4,
        HTTP_TIMEOUT: 2000,
        CONNECT_TIMEOUT: 1000,
        CIRCUIT_BREAKER_FAILURE_THRESHOLD: 100,
        CIRCUIT_BREAKER_RECOVERY_TIMEOUT: 30,
      },
      { registry: new Registry(), logger: silentLogger() },
    );
    opened.push(backends);
    return backends;
  }
  const balance = { accountId: 'acc_1', balance: { amountMinor: 1050, currency: 'EUR' }, asOf: '2026-01-01T00:00:00.000Z' };

  test('GET asks for JSON, uncompressed, and reads the JSON answer', async () => {
    answer = { status: 200, type: 'application/json', body: JSON.stringify(balance) };
    expect(await build().getBalance('acc_1')).toEqual(balance);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ method: 'GET', url: '/accounts/acc_1/balance', body: '' });
    expect(seen[0]!.headers.accept).toBe('application/json');
    expect(seen[0]!.headers['accept-encoding']).toBe('identity');
    expect(seen[0]!.headers['content-type']).toBeUndefined();
  });

  test('POST sends the body as JSON with the idempotency key', async () => {
    const txn = {
      id: 'txn_1',
      type: 'transfer',
      status: 'completed',
      fromAccountId: 'acc_1',
      toAccountId: 'acc_2',
      amount: { amountMinor: 5, currency: 'EUR' },
      description: null,
      idempotencyKey: 'k-1',
      failureReason: null,
      createdAt: '2026-01-01T00:00:00.000Z',
      completedAt: '2026-01-01T00:00:00.000Z',
    };
    answer = { status: 201, type: 'application/json', body: JSON.stringify(txn) };
    const r = await build().createTransfer({ fromAccountId: 'acc_1', toAccountId: 'acc_2', amount: { amountMinor: 5, currency: 'EUR' }, idempotencyKey: 'k-1' });
    expect(r).toEqual({ transaction: txn, replayed: false });
    expect(seen[0]!.headers['content-type']).toMatch(/^application\/json/);
    expect(seen[0]!.headers['idempotency-key']).toBe('k-1');
    expect(JSON.parse(seen[0]!.body)).toEqual({ fromAccountId: 'acc_1', toAccountId: 'acc_2', amount: { amountMinor: 5, currency: 'EUR' } });
  });

  test('a body that is not JSON is a bad response, not a crash', async () => {
    answer = { status: 200, type: 'text/html', body: '<html>oops</html>' };
    const err = await build().getBalance('acc_1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CodedError);
    expect((err as CodedError).code).toBe(ErrorCode.BackendUnavailable);
    expect((err as CodedError).message).toMatch(/unexpected get_balance response/);
  });

  test('a 4xx with a JSON error body keeps the backend code; a 5xx with HTML is unavailable', async () => {
    answer = { status: 404, type: 'application/json', body: JSON.stringify({ error: { code: 'account_not_found', message: 'no acc_9' } }) };
    await expect(build().getBalance('acc_9')).rejects.toMatchObject({ code: ErrorCode.AccountNotFound, message: 'no acc_9' });
    answer = { status: 502, type: 'text/html', body: '<h1>bad gateway</h1>' };
    await expect(build().getBalance('acc_9')).rejects.toMatchObject({ code: ErrorCode.BackendUnavailable });
  });

  test('HTTP_PROXY in the environment is not used for the internal services', async () => {
    const saved = { HTTP_PROXY: process.env.HTTP_PROXY, http_proxy: process.env.http_proxy, NO_PROXY: process.env.NO_PROXY, no_proxy: process.env.no_proxy };
    process.env.HTTP_PROXY = proxy.url;
    process.env.http_proxy = proxy.url;
    delete process.env.NO_PROXY;
    delete process.env.no_proxy;
    try {
      answer = { status: 200, type: 'application/json', body: JSON.stringify(balance) };
      expect(await build().getBalance('acc_1')).toEqual(balance);
      expect(proxyHits).toBe(0);
      expect(seen).toHaveLength(1);
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});
