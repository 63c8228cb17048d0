import { CodedError, ErrorCode } from '../../lib/errors';
import { createCircuitBreaker } from '../../server/backends/circuit-breaker';
import type { BreakerState } from '../../server/backends/types';

class Boom extends Error {
  constructor(readonly counts: boolean) {
    super(counts ? 'backend 500' : 'business 422');
  }
}
const isFailure = (err: unknown) => err instanceof Boom && err.counts;

function setup(threshold = 3, recoveryMs = 30_000) {
  let t = 1_000_000;
  const transitions: Array<[BreakerState, BreakerState]> = [];
  const breaker = createCircuitBreaker({
    service: 'account-service',
    failureThreshold: threshold,
    recoveryTimeoutMs: recoveryMs,
    now: () => t,
    onTransition: (from, to) => transitions.push([from, to]),
  });
  let calls = 0;
  const ok = () => breaker.execute(async () => ++calls, isFailure);
  const fail = (counts = true) =>
    breaker.execute(async () => {
      calls += 1;
      throw new Boom(counts);
    }, isFailure);
  return { breaker, transitions, ok, fail, advance: (ms: number) => (t += ms), calls: () => calls };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (err) {
    return err instanceof CodedError ? err.code : (err as Error).message;
  }
}

describe('circuit breaker', () => {
  test('opens after N consecutive failures, and only consecutive ones count', async () => {
    const b = setup(3);
    await codeOf(b.fail());
    await codeOf(b.fail());
    await b.ok(); // resets the run
    await codeOf(b.fail());
    await codeOf(b.fail());
    expect(b.breaker.status()).toMatchObject({ state: 'closed', failures: 2 });
    await codeOf(b.fail());
    expect(b.breaker.status()).toMatchObject({ service: 'account-service', state: 'open', failures: 3 });
    expect(b.transitions).toEqual([['closed', 'open']]);
  });

  test('business errors (not failures) never open it and reset the run', async () => {
    const b = setup(2);
    await codeOf(b.fail());
    for (let i = 0; i < 10; i += 1) expect(await codeOf(b.fail(false))).toBe('business 422');
    expect(b.breaker.status()).toMatchObject({ state: 'closed', failures: 0 });
  });

  test('open fails fast with E_CIRCUIT_OPEN naming the service, without calling', async () => {
    const b = setup(1);
    await codeOf(b.fail());
    const before = b.calls();
    let caught: unknown;
    try {
      await b.ok();
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(CodedError);
    expect((caught as CodedError).code).toBe(ErrorCode.CircuitOpen);
    expect((caught as CodedError).message).toContain('account-service');
    expect(b.calls()).toBe(before);
  });

  test('after the recovery timeout one trial goes through; success closes', async () => {
    const b = setup(1, 30_000);
    await codeOf(b.fail());
    b.advance(29_999);
    expect(await codeOf(b.ok())).toBe(ErrorCode.CircuitOpen);
    b.advance(1);
    expect(b.breaker.status().state).toBe('half-open');
    // Hold the trial open and show that concurrent calls fail fast meanwhile.
    let release!: () => void;
    const trial = b.breaker.execute(() => new Promise<string>((r) => (release = () => r('trial'))), isFailure);
    expect(await codeOf(b.ok())).toBe(ErrorCode.CircuitOpen);
    release();
    expect(await trial).toBe('trial');
    expect(b.breaker.status()).toMatchObject({ state: 'closed', failures: 0 });
    expect(b.transitions).toEqual([
      ['closed', 'open'],
      ['open', 'half-open'],
      ['half-open', 'closed'],
    ]);
  });

  test('a failed trial re-opens for another full recovery period', async () => {
    const b = setup(2, 1000);
    await codeOf(b.fail());
    await codeOf(b.fail());
    b.advance(1000);
    expect(await codeOf(b.fail())).toBe('backend 500');
    expect(b.breaker.status().state).toBe('open');
    b.advance(999);
    expect(await codeOf(b.ok())).toBe(ErrorCode.CircuitOpen);
    b.advance(1);
    await b.ok();
    expect(b.breaker.status().state).toBe('closed');
    expect(b.transitions.map(([, to]) => to)).toEqual(['open', 'half-open', 'open', 'half-open', 'closed']);
  });

  test('a business answer to the trial closes it: the backend is answering', async () => {
    const b = setup(1, 10);
    await codeOf(b.fail());
    b.advance(10);
    await codeOf(b.fail(false));
    expect(b.breaker.status().state).toBe('closed');
  });

  test('a slow success that started before the breaker opened does not close it', async () => {
    const b = setup(1, 1000);
    let release!: () => void;
    const slow = b.breaker.execute(() => new Promise<void>((r) => (release = r)), isFailure);
    await codeOf(b.fail());
    expect(b.breaker.status().state).toBe('open');
    release();
    await slow;
    expect(b.breaker.status().state).toBe('open');
  });

  test('reset closes it with a clean count', async () => {
    const b = setup(1);
    await codeOf(b.fail());
    expect(b.breaker.reset()).toMatchObject({ state: 'closed', failures: 0 });
    expect(await b.ok()).toBeGreaterThan(0);
  });
});
