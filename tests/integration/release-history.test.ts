import { closeRedis, type Redis } from '../../lib/redis';
import { createReleaseHistory } from '../../workers/drivers/release-history';
import { createRequestLedger, once } from '../../workers/drivers/request-ledger';
import { eventually } from '../helpers/ports';
import { deletePrefix, testPrefix, testRedis } from '../helpers/redis';

describe('release history and request ledger (real Redis)', () => {
  let redis: Redis;
  let prefix: string;

  beforeEach(() => {
    redis = testRedis();
    prefix = testPrefix('releases');
  });
  afterEach(async () => {
    await deletePrefix(redis, prefix);
    await closeRedis(redis);
  });

  const rel = (requestId: string, version: string, healthy: true | false | 'unknown' = 'unknown') => ({
    requestId,
    version,
    ref: `img:${version}`,
    by: 'alice',
    kind: 'deploy' as const,
    healthy,
  });

  it('keeps releases newest first, once per request, bounded', async () => {
    const history = createReleaseHistory({ redis, prefix, max: 3 });
    expect(await history.current('svc')).toBeUndefined();
    expect(await history.previousHealthy('svc')).toBeUndefined();
    for (const v of ['1', '2', '3', '4']) expect(await history.record('svc', rel(`r${v}`, `v${v}.0.0`, true))).toBe(true);
    expect(await history.record('svc', rel('r4', 'v9.0.0'))).toBe(false);
    const all = await history.list('svc');
    expect(all.map((r) => r.version)).toEqual(['v4.0.0', 'v3.0.0', 'v2.0.0']);
    expect(await redis.hlen(`${prefix}:platform:release:svc`)).toBe(3);
    expect((await history.current('svc'))?.requestId).toBe('r4');
  });

  it('previousHealthy skips unhealthy, unknown and the current version', async () => {
    const history = createReleaseHistory({ redis, prefix });
    await history.record('svc', rel('a', 'v1.0.0', true));
    await history.record('svc', rel('b', 'v2.0.0', 'unknown'));
    await history.setHealth('svc', 'b', true);
    await history.record('svc', rel('c', 'v3.0.0'));
    await history.setHealth('svc', 'c', false);
    expect((await history.previousHealthy('svc'))?.version).toBe('v2.0.0');
    // After rolling back to v2, the next rollback goes to v1, not v2 again.
    await history.record('svc', { ...rel('d', 'v2.0.0', true), kind: 'rollback' });
    expect((await history.previousHealthy('svc'))?.version).toBe('v1.0.0');
    expect(await history.previousHealthy('other')).toBeUndefined();
  });

  it('runs a request once; a repeat reports the first result; a reused id for another action is refused', async () => {
    const ledger = createRequestLedger({ redis, prefix });
    let calls = 0;
    const perform = async () => {
      calls += 1;
      return { ok: true, summary: 'restarted' };
    };
    expect((await once(ledger, { requestId: 'req-1' }, 'restart svc', perform)).summary).toBe('restarted');
    const again = await once(ledger, { requestId: 'req-1' }, 'restart svc', perform);
    expect(again.summary).toMatch(/already done; nothing was repeated/);
    expect(calls).toBe(1);
    await expect(ledger.begin('req-1', 'deploy svc v1.0.0')).rejects.toMatchObject({ code: 'E_IDEMPOTENCY_CONFLICT' });
  });

  it('two attempts at once: the second waits for the first one\'s result', async () => {
    const ledger = createRequestLedger({ redis, prefix });
    let calls = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const perform = async () => {
      calls += 1;
      await gate;
      return { ok: true, summary: 'deployed' };
    };
    const first = once(ledger, { requestId: 'req-2' }, 'deploy svc v1', perform);
    await eventually(async () => calls === 1);
    const second = once(ledger, { requestId: 'req-2' }, 'deploy svc v1', perform);
    release();
    expect((await first).summary).toBe('deployed');
    expect((await second).summary).toMatch(/^deployed \(request req-2 was already done/);
    expect(calls).toBe(1);
  });

  it('an attempt whose worker died is resumed once its lease runs out, with its notes', async () => {
    const ledger = createRequestLedger({ redis, prefix, leaseMs: 300 });
    const dead = await ledger.begin('req-3', 'restart svc');
    expect(dead).toMatchObject({ fresh: true, state: 'started' });
    await ledger.note('req-3', { marker: 'abc', config: { Env: [], Cmd: null } });
    expect((await ledger.begin('req-3', 'restart svc')).state).toBe('busy');
    const seen: unknown[] = [];
    const result = await once(ledger, { requestId: 'req-3' }, 'restart svc', async (entry) => {
      seen.push(entry);
      return { ok: true, summary: 'resumed' };
    });
    expect(result.summary).toBe('resumed');
    expect(seen).toEqual([expect.objectContaining({ fresh: false, state: 'started', notes: { marker: 'abc', config: { Env: [], Cmd: null } } })]);
  });

  it('a failed attempt gives the request back: the retry resumes it', async () => {
    const ledger = createRequestLedger({ redis, prefix });
    const entries: { fresh: boolean }[] = [];
    await expect(
      once(ledger, { requestId: 'req-4' }, 'scale svc 3', async (entry) => {
        entries.push(entry);
        throw new Error('rollout API down');
      }),
    ).rejects.toThrow('rollout API down');
    const ok = await once(ledger, { requestId: 'req-4' }, 'scale svc 3', async (entry) => {
      entries.push(entry);
      return { ok: true, summary: 'scaled' };
    });
    expect(ok.summary).toBe('scaled');
    expect(entries.map((e) => e.fresh)).toEqual([true, false]);
  });
});
