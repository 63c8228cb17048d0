import { createOverrideStore } from '../../bot/oncall/oncall-overrides';
import { closeRedis } from '../../lib/redis';
import { deletePrefix, testPrefix, testRedis } from '../helpers/redis';

describe('on-call override store', () => {
  const redis = testRedis();
  const prefix = testPrefix('overrides');

  afterAll(async () => {
    await deletePrefix(redis, prefix);
    await closeRedis(redis);
  });

  it('two overrides made at once: the key lives as long as the longer one (no lost update)', async () => {
    const store = createOverrideStore({ redis, prefix });
    const now = new Date();
    const at = (h: number) => new Date(now.getTime() + h * 3_600_000).toISOString();
    // Sent together, as two people (or two replicas) would: each add reads nothing the other wrote yet.
    await Promise.all([
      store.add({ user: 'alice', from: now.toISOString(), to: at(10) }, now),
      store.add({ user: 'bob', from: now.toISOString(), to: at(1) }, now),
    ]);
    expect(await redis.pttl(store.key)).toBeGreaterThan(9 * 3_600_000);
    // Eleven hours on, alice's is over too; two hours on, hers is still live.
    expect((await store.live(new Date(now.getTime() + 2 * 3_600_000))).map((o) => o.user)).toEqual(['alice']);
  });
});
