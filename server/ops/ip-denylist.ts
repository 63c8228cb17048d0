import net, { BlockList } from 'node:net';
import type { Redis } from 'ioredis';
import { NotFoundError } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import { normalizeIp } from '../auth/client-ip';
import { assertBlockable, parseRange, type BlockPolicy } from './ip-range';
import { requireRedis, withTimeout } from './redis-ready';

export interface IpBlock {
  cidr: string;
  reason: string;
  actor: string;
  createdAt: string;
  expiresAt: string;
}

export interface IpDenylistConfig {
  redis: Redis;
  /** REDIS_PREFIX: the blocks live in `<prefix>:ipblock`, changes are announced on `<prefix>:ipblock:changed`. */
  prefix: string;
  policy: BlockPolicy;
  logger: Logger;
  /** Full reload period, a safety net for a missed announcement. @defaultValue 5000 */
  refreshMs?: number;
}

/**
 * The IP denylist, shared by every replica through Redis. Each replica keeps
 * the list in memory (a `net.BlockList`), so checking a request costs no Redis
 * round trip; a change is announced over pub/sub and every replica reloads at
 * once, with a periodic reload in case an announcement was missed.
 */
export function createIpDenylist(config: IpDenylistConfig) {
  const key = `${config.prefix}:ipblock`;
  const channel = `${config.prefix}:ipblock:changed`;
  let entries = new Map<string, IpBlock>();
  let blockList = new BlockList();
  let nextExpiry = Infinity;
  let subscriber: Redis | undefined;
  let timer: NodeJS.Timeout | undefined;

  function rebuild(next: Map<string, IpBlock>): void {
    const now = Date.now();
    const list = new BlockList();
    let earliest = Infinity;
    for (const [cidr, b] of next) {
      const exp = Date.parse(b.expiresAt);
      if (exp <= now) {
        next.delete(cidr);
        continue;
      }
      earliest = Math.min(earliest, exp);
      const r = parseRange(cidr);
      list.addSubnet(r.network, r.prefix, r.family);
    }
    entries = next;
    blockList = list;
    nextExpiry = earliest;
  }

  async function reload(): Promise<void> {
    const raw = await config.redis.hgetall(key);
    const next = new Map<string, IpBlock>();
    const expired: string[] = [];
    for (const [cidr, json] of Object.entries(raw)) {
      const b = JSON.parse(json) as IpBlock;
      if (Date.parse(b.expiresAt) <= Date.now()) expired.push(cidr);
      else next.set(cidr, b);
    }
    if (expired.length > 0) await config.redis.hdel(key, ...expired);
    rebuild(next);
  }

  async function start(): Promise<void> {
    subscriber = config.redis.duplicate();
    subscriber.on('error', (err: Error) => config.logger.warn({ err: err.message }, 'denylist subscriber error'));
    subscriber.on('message', () => void reload().catch((err: Error) => config.logger.warn({ err: err.message }, 'denylist reload failed')));
    // Neither may hold up the start: without Redis the server still serves /health and says it is not ready.
    subscriber.subscribe(channel).catch((err: Error) => config.logger.error({ err: err.message }, 'denylist: subscribe failed'));
    await withTimeout(reload(), 2000, 'denylist initial load').catch((err: Error) =>
      config.logger.error({ err: err.message }, 'denylist: initial load failed; enforcing the last known list'),
    );
    timer = setInterval(() => {
      if (config.redis.status === 'ready') void reload().catch(() => undefined);
    }, config.refreshMs ?? 5000);
    timer.unref();
  }

  async function stop(): Promise<void> {
    clearInterval(timer);
    if (subscriber) subscriber.disconnect();
    subscriber = undefined;
  }

  /** Hot path: no I/O. */
  function isBlocked(address: string): boolean {
    if (entries.size === 0) return false;
    if (Date.now() >= nextExpiry) rebuild(new Map(entries));
    const ip = normalizeIp(address);
    const family = net.isIPv4(ip) ? 'ipv4' : net.isIPv6(ip) ? 'ipv6' : undefined;
    return family ? blockList.check(ip, family) : false;
  }

  async function block(input: { ip: string; ttlSeconds: number; reason: string; actor: string }): Promise<IpBlock> {
    const range = parseRange(input.ip);
    assertBlockable(range, config.policy);
    requireRedis(config.redis);
    const now = Date.now();
    const entry: IpBlock = {
      cidr: range.cidr,
      reason: input.reason,
      actor: input.actor,
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + input.ttlSeconds * 1000).toISOString(),
    };
    await config.redis.hset(key, range.cidr, JSON.stringify(entry));
    await config.redis.publish(channel, range.cidr);
    rebuild(new Map(entries).set(range.cidr, entry));
    return entry;
  }

  async function unblock(ip: string): Promise<IpBlock> {
    const range = parseRange(ip);
    requireRedis(config.redis);
    const raw = await config.redis.hget(key, range.cidr);
    if (!raw) throw new NotFoundError(`${range.cidr} is not blocked`);
    await config.redis.hdel(key, range.cidr);
    await config.redis.publish(channel, range.cidr);
    const next = new Map(entries);
    next.delete(range.cidr);
    rebuild(next);
    return JSON.parse(raw) as IpBlock;
  }

  /** Straight from Redis, so the answer is the cluster's, not this replica's cache. */
  async function list(): Promise<IpBlock[]> {
    requireRedis(config.redis);
    await reload();
    return [...entries.values()].sort((a, b) => a.cidr.localeCompare(b.cidr));
  }

  async function count(): Promise<number> {
    return (await list()).length;
  }

  return { start, stop, isBlocked, block, unblock, list, count, reload };
}

export type IpDenylist = ReturnType<typeof createIpDenylist>;
