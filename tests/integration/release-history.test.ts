import { closeRedis, type Redis } from '../../lib/redis';
import { createReleaseHistory } from '../../workers/drivers/release-history';
import { createRequestLedger, once } from '../../workers/drivers/request-ledger';
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
    expect((await once(ledger, 'req-1', 'restart svc', perform)).summary).toBe('restarted');
    const again = await once(ledger, 'req-1', 'restart svc', perform);
    expect(again.summary).toMatch(/already done; nothing was repeated/);
    expect(calls).toBe(1);
    await expect(ledger.begin('req-1', 'deploy svc v1.0.0')).rejects.toMatchObject({ code: 'E_IDEMPOTENCY_CONFLICT' });
  });

  it('a started request resumes with the notes of the first attempt', async () => {
    const ledger = createRequestLedger({ redis, prefix });
    const first = await ledger.begin('req-2', 'restart svc');
    expect(first.fresh).toBe(true);
    await ledger.note('req-2', { marker: 'abc' });
    const second = await ledger.begin('req-2', 'restart svc');
    expect(second).toMatchObject({ fresh: false, state: 'started', notes: { marker: 'abc' } });
  });
});
