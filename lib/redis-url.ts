import type { RedisOptions } from 'ioredis';

/**
 * REDIS_URL in either form:
 *   redis[s]://[user:password@]host:port[/db]                  one Redis (ioredis parses it)
 *   redis-sentinel://[user:password@]host:port[,host:port...]/master[?db=N&sentinelPassword=...&tls=1]
 * The Sentinel form names the sentinels and the master group; ioredis asks a
 * sentinel for the current master and follows failovers. `new URL` cannot read
 * a comma-separated host list, hence this parser.
 */
export type ParsedRedisUrl = { kind: 'direct'; url: string } | { kind: 'sentinel'; options: RedisOptions };

const SENTINEL = /^redis-sentinel:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?#]+)\/([^/?#]+)\/?(?:\?([^#]*))?$/;

export function parseRedisUrl(url: string): ParsedRedisUrl {
  if (/^rediss?:\/\//.test(url)) {
    if (!new URL(url).hostname) throw new Error('has no host'); // new URL throws on a malformed one
    return { kind: 'direct', url };
  }
  const m = SENTINEL.exec(url);
  if (!m) throw new Error('must be redis://host:port, rediss://host:port or redis-sentinel://host:port[,host:port...]/master');
  const [, user, password, hosts, master, query] = m;
  const sentinels = hosts!.split(',').map((hp) => {
    const hm = /^(\[[^\]]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(hp.trim());
    if (!hm) throw new Error(`sentinel "${hp}" is not host:port`);
    return { host: hm[1]!.replace(/^\[|\]$/g, ''), port: Number(hm[2] ?? 26379) };
  });
  const params = new URLSearchParams(query ?? '');
  const db = params.get('db');
  if (db !== null && !/^\d+$/.test(db)) throw new Error('db must be a number');
  const options: RedisOptions = {
    sentinels,
    name: decodeURIComponent(master!),
    ...(user ? { username: decodeURIComponent(user) } : {}),
    ...(password ? { password: decodeURIComponent(password) } : {}),
    ...(params.get('sentinelPassword') ? { sentinelPassword: params.get('sentinelPassword')! } : {}),
    ...(db !== null ? { db: Number(db) } : {}),
    ...(params.get('tls') === '1' ? { tls: {}, enableTLSForSentinelMode: true } : {}),
  };
  return { kind: 'sentinel', options };
}
