import type { Redis } from 'ioredis';
import type { Logger } from '../../lib/logger';
import type { ServerMetrics } from '../metrics';
import { requireRedis } from '../ops/redis-ready';
import type { JwtFailureReason } from './jwt-verifier';

/** Refusals of authentication (a bad token) and of authorization (a missing scope). */
export type AuthFailureReason = JwtFailureReason | 'insufficient_scope';

const JWT_REASONS = new Set<string>([
  'missing',
  'malformed',
  'alg',
  'signature',
  'expired',
  'not_yet_valid',
  'issuer',
  'audience',
  'lifetime',
  'subject',
  'jwks_unavailable',
]);

export interface AuthFailureEntry {
  at: string;
  ip: string;
  reason: AuthFailureReason;
}

export interface AuthFailureLogConfig {
  redis: Redis;
  /** Key prefix (REDIS_PREFIX); the stream is `<prefix>:security:auth-failures`. */
  prefix: string;
  metrics: ServerMetrics;
  logger: Logger;
  /** Stream length cap, approximate. @defaultValue 100000 */
  maxEntries?: number;
}

/**
 * Counts every refusal in the metrics and keeps it, with the client address,
 * in a Redis stream whose ids are timestamps, so ops_security_report can read
 * any recent window with one XRANGE and every replica writes to the same place.
 */
export function createAuthFailureLog(config: AuthFailureLogConfig) {
  const key = `${config.prefix}:security:auth-failures`;
  const maxEntries = config.maxEntries ?? 100_000;

  function record(reason: AuthFailureReason, ip: string): void {
    config.metrics.authFailures.inc({ reason });
    if (JWT_REASONS.has(reason)) config.metrics.jwtFailures.inc({ reason });
    config.logger.info({ reason, ip }, 'auth refused');
    // Never make a refusal wait on Redis, and never queue writes while it is away:
    // an attacker must not be able to slow us down or grow our memory through it.
    if (config.redis.status !== 'ready') return;
    config.redis
      .xadd(key, 'MAXLEN', '~', String(maxEntries), '*', 'ip', ip, 'reason', reason)
      .catch((err: Error) => config.logger.warn({ err: err.message }, 'could not record auth failure'));
  }

  async function since(sinceMs: number, limit = 50_000): Promise<AuthFailureEntry[]> {
    requireRedis(config.redis);
    const rows = await config.redis.xrange(key, `${sinceMs}-0`, '+', 'COUNT', limit);
    return rows.map(([id, fields]) => {
      const map: Record<string, string> = {};
      for (let i = 0; i + 1 < fields.length; i += 2) map[fields[i]!] = fields[i + 1]!;
      return { at: new Date(Number(id.split('-')[0])).toISOString(), ip: map.ip ?? '?', reason: (map.reason ?? 'malformed') as AuthFailureReason };
    });
  }

  return { record, since, key };
}

export type AuthFailureLog = ReturnType<typeof createAuthFailureLog>;
