import { parseRedisUrl } from '../../lib/redis-url';
import { redisUrl } from '../../lib/config';

describe('REDIS_URL', () => {
  it('passes a plain redis:// or rediss:// URL through to ioredis', () => {
    expect(parseRedisUrl('redis://:pw@redis.internal:6380/2')).toEqual({ kind: 'direct', url: 'redis://:pw@redis.internal:6380/2' });
    expect(parseRedisUrl('rediss://cache.example.com:6379').kind).toBe('direct');
  });

  it('reads the Sentinel form: sentinels, master group, credentials, db, TLS', () => {
    expect(parseRedisUrl('redis-sentinel://app:s%40cret@s1:26379,s2,[::1]:26380/mymaster?db=3&sentinelPassword=sp&tls=1')).toEqual({
      kind: 'sentinel',
      options: {
        sentinels: [
          { host: 's1', port: 26379 },
          { host: 's2', port: 26379 },
          { host: '::1', port: 26380 },
        ],
        name: 'mymaster',
        username: 'app',
        password: 's@cret',
        sentinelPassword: 'sp',
        db: 3,
        tls: {},
        enableTLSForSentinelMode: true,
      },
    });
  });

  it('refuses what is neither, with the forms it accepts', () => {
    for (const bad of ['http://redis:6379', 'redis-sentinel://s1:26379', 'redis-sentinel://s1:x/m', 'redis-sentinel://s1/m?db=two', 'redis://']) {
      expect(() => parseRedisUrl(bad)).toThrow();
    }
    expect(redisUrl().safeParse('redis-sentinel://s1:26379,s2:26379/mymaster').success).toBe(true);
    const refused = redisUrl().safeParse('memcached://x');
    expect(refused.success).toBe(false);
    expect(refused.error?.issues[0]?.message).toMatch(/redis-sentinel:\/\//);
  });
});
