import crypto from 'node:crypto';
import type { Redis } from '../../lib/redis';

/** One key under a prefix: its name, its type and a digest of its content (TTLs left out: they tick). */
export interface KeyState {
  type: string;
  digest: string;
}

function read(pipeline: ReturnType<Redis['pipeline']>, key: string, type: string): void {
  if (type === 'string') pipeline.getBuffer(key);
  else if (type === 'hash') pipeline.hgetall(key);
  else if (type === 'list') pipeline.lrange(key, 0, -1);
  else if (type === 'set') pipeline.smembers(key);
  else if (type === 'zset') pipeline.zrange(key, 0, -1, 'WITHSCORES');
  else if (type === 'stream') pipeline.xrange(key, '-', '+');
  else pipeline.echo(type);
}

/** Content in a stable form: hashes and sets sorted, strings as base64. */
function stable(type: string, value: unknown): unknown {
  if (type === 'string') return (value as Buffer | null)?.toString('base64');
  if (type === 'hash') return Object.entries(value as Record<string, string>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (type === 'set') return [...(value as string[])].sort();
  return value;
}

/**
 * Every key under `prefix:` with its type and a sha256 of its content, sorted
 * by name: two snapshots are equal exactly when nothing under the prefix changed.
 */
export async function snapshotPrefix(redis: Redis, prefix: string, ignore: (key: string) => boolean = () => false): Promise<Record<string, KeyState>> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  const names = [...new Set(keys)].filter((k) => !ignore(k)).sort();
  const types = await names.reduce((p, k) => p.type(k), redis.pipeline()).exec();
  const reads = redis.pipeline();
  names.forEach((k, i) => read(reads, k, String(types?.[i]?.[1])));
  const values = await reads.exec();
  const out: Record<string, KeyState> = {};
  names.forEach((key, i) => {
    const type = String(types?.[i]?.[1]);
    // Gone, or deleted between the TYPE and the read (a lock released, a key expiring): not there.
    if (type === 'none' || values?.[i]?.[1] == null) return;
    const digest = crypto.createHash('sha256').update(JSON.stringify(stable(type, values?.[i]?.[1]))).digest('hex');
    out[key] = { type, digest };
  });
  return out;
}
