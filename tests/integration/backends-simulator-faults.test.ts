import { startBackendSimulators, type RunningSimulators } from '../../sandbox/backends';

describe('backend simulators: fault control', () => {
  let sims: RunningSimulators;
  beforeAll(async () => {
    sims = await startBackendSimulators({ accountPort: 0, transactionPort: 0 });
  });
  afterAll(async () => sims.stop());
  afterEach(async () => {
    for (const url of [sims.accountUrl, sims.transactionUrl]) await fetch(`${url}/_sandbox/faults`, { method: 'DELETE' });
  });

  const put = (url: string, body: unknown) =>
    fetch(`${url}/_sandbox/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  test.each([
    [{ errorRate: 1.5 }, 'errorRate'],
    [{ errorRate: -0.1 }, 'errorRate'],
    [{ latencyMs: -1 }, 'latencyMs'],
    [{ latencyMs: 1.5 }, 'latencyMs'],
    [{ down: 'yes' }, 'down'],
    [{ down: true, surprise: 1 }, 'surprise'],
  ])('PUT %j is 400 naming %s, and changes nothing', async (body, field) => {
    const res = await put(sims.accountUrl, body);
    expect(res.status).toBe(400);
    const json = (await res.json()) as { error: { code: string; message: string } };
    expect(json.error.code).toBe('validation_failed');
    expect(json.error.message).toContain(field);
    const state = await (await fetch(`${sims.accountUrl}/_sandbox/faults`)).json();
    expect(state).toEqual({ down: false, errorRate: 0, latencyMs: 0 });
  });

  test('down answers 503 on every route but /_sandbox; DELETE clears', async () => {
    expect((await put(sims.transactionUrl, { down: true })).status).toBe(200);
    expect(await (await fetch(`${sims.transactionUrl}/_sandbox/faults`)).json()).toEqual({ down: true, errorRate: 0, latencyMs: 0 });
    for (const path of ['/health', '/transactions', '/transactions/x']) {
      const res = await fetch(`${sims.transactionUrl}${path}`);
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('service_unavailable');
    }
    expect((await fetch(`${sims.accountUrl}/health`)).status).toBe(200); // the other service is unaffected
    await fetch(`${sims.transactionUrl}/_sandbox/faults`, { method: 'DELETE' });
    expect((await fetch(`${sims.transactionUrl}/health`)).status).toBe(200);
  });

  test('errorRate 1 answers 500 every time, 0 never', async () => {
    await put(sims.accountUrl, { errorRate: 1 });
    for (let i = 0; i < 5; i += 1) {
      const res = await fetch(`${sims.accountUrl}/accounts`);
      expect(res.status).toBe(500);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('internal_error');
    }
    await put(sims.accountUrl, { errorRate: 0 });
    for (let i = 0; i < 5; i += 1) expect((await fetch(`${sims.accountUrl}/accounts`)).status).toBe(200);
  });

  test('latencyMs delays the answer by at least that much', async () => {
    await put(sims.accountUrl, { latencyMs: 300 });
    const started = Date.now();
    expect((await fetch(`${sims.accountUrl}/health`)).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });
});
