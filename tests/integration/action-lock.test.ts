import { silentLogger } from '../../lib/logger';
import { holdActionLock, lockTarget, releaseActionLock } from '../../workers/actions/lock';
import { deletePrefix, testPrefix, testRedis } from '../helpers/redis';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The worker holds the bot's per-target lock while an action runs, in real Redis: kept ahead of its TTL for as
 * long as it runs (a rollout longer than the bot's 15 min, a job that waited in the queue), taken again when it
 * ran out and nobody took it, refused when another request holds it, and let go to expire once stopped.
 */
describe('the target lock a running action holds', () => {
  const redis = testRedis();
  let prefix: string;
  const lockFor = (requestId: string) => ({ key: `${prefix}:action-lock:service:mcp-server`, token: requestId });
  beforeEach(() => {
    prefix = testPrefix('action-lock');
  });
  afterEach(async () => deletePrefix(redis, prefix));
  afterAll(async () => redis.quit());

  it('keeps it past the TTL the bot gave it while the action runs, and lets it expire once stopped', async () => {
    const lock = lockFor('req-long');
    await redis.set(lock.key, lock.token, 'PX', 200);
    const hold = await holdActionLock(redis, lock, 300, silentLogger());
    expect(hold).toMatchObject({ ok: true, retaken: false });
    // Five times the TTL the bot gave it, and three times the hold: renewed all along.
    await sleep(1000);
    expect(await redis.get(lock.key)).toBe(lock.token);
    if (hold.ok) hold.stop();
    await sleep(600);
    expect(await redis.exists(lock.key)).toBe(0);
  });

  it('never shortens a longer TTL', async () => {
    const lock = lockFor('req-short-action');
    await redis.set(lock.key, lock.token, 'PX', 60_000);
    const hold = await holdActionLock(redis, lock, 300, silentLogger());
    await sleep(250);
    if (hold.ok) hold.stop();
    expect(await redis.pttl(lock.key)).toBeGreaterThan(59_000);
  });

  it('takes it again when it ran out while the job waited and nobody took it', async () => {
    const lock = lockFor('req-waited');
    const hold = await holdActionLock(redis, lock, 5000, silentLogger());
    expect(hold).toMatchObject({ ok: true, retaken: true });
    if (hold.ok) hold.stop();
    expect(await redis.get(lock.key)).toBe(lock.token);
    expect(await redis.pttl(lock.key)).toBeGreaterThan(4000);
    expect(await releaseActionLock(redis, lock)).toBe(true);
    expect(await redis.exists(lock.key)).toBe(0);
  });

  it('is refused, changing nothing, when another request holds it', async () => {
    const lock = lockFor('req-late');
    await redis.set(lock.key, 'req-other', 'PX', 60_000);
    const hold = await holdActionLock(redis, lock, 300, silentLogger());
    expect(hold).toEqual({ ok: false, holder: 'req-other' });
    await sleep(250);
    expect(await redis.get(lock.key)).toBe('req-other');
    expect(await redis.pttl(lock.key)).toBeGreaterThan(59_000);
    // Nor may it release the other's.
    expect(await releaseActionLock(redis, lock)).toBe(false);
    expect(await redis.get(lock.key)).toBe('req-other');
    expect(lockTarget(lock)).toBe('service:mcp-server');
  });
});
