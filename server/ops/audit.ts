import type { Redis } from 'ioredis';
import { requireRedis, withTimeout } from './redis-ready';

export interface AuditEntry {
  at: string;
  actor: string;
  tool: string;
  args: unknown;
  ok: boolean;
  result: unknown;
}

/**
 * Every ops action that changes something, in a Redis stream
 * (`<prefix>:audit`) shared by all replicas: who, what, with which arguments,
 * and what came of it.
 */
export function createAuditLog(config: { redis: Redis; prefix: string; maxEntries?: number }) {
  const key = `${config.prefix}:audit`;

  async function record(entry: Omit<AuditEntry, 'at'>): Promise<void> {
    // Bounded: with Redis away the write would otherwise queue until it returns.
    requireRedis(config.redis);
    await withTimeout(write(entry), 3000, 'audit write');
  }

  async function write(entry: Omit<AuditEntry, 'at'>): Promise<unknown> {
    return config.redis.xadd(
      key,
      'MAXLEN',
      '~',
      String(config.maxEntries ?? 100_000),
      '*',
      'actor',
      entry.actor,
      'tool',
      entry.tool,
      'ok',
      entry.ok ? '1' : '0',
      'args',
      JSON.stringify(entry.args ?? null),
      'result',
      JSON.stringify(entry.result ?? null),
    );
  }

  async function recent(count = 100): Promise<AuditEntry[]> {
    requireRedis(config.redis);
    const rows = await config.redis.xrevrange(key, '+', '-', 'COUNT', count);
    return rows.map(([id, fields]) => {
      const m: Record<string, string> = {};
      for (let i = 0; i + 1 < fields.length; i += 2) m[fields[i]!] = fields[i + 1]!;
      return {
        at: new Date(Number(id.split('-')[0])).toISOString(),
        actor: m.actor ?? '?',
        tool: m.tool ?? '?',
        ok: m.ok === '1',
        args: safeJson(m.args),
        result: safeJson(m.result),
      };
    });
  }

  return { record, recent, key };
}

export type AuditLog = ReturnType<typeof createAuditLog>;

function safeJson(s: string | undefined): unknown {
  try {
    return s === undefined ? null : JSON.parse(s);
  } catch {
    return s;
  }
}

/**
 * Runs a changing ops action and writes its outcome (success or refusal) to
 * the audit stream. An audit write that fails after the action succeeded is
 * logged, not thrown: the change happened and the caller must know it did.
 */
export async function audited<T>(
  audit: AuditLog,
  entry: { actor: string; tool: string; args: unknown },
  action: () => Promise<T>,
  onAuditError: (err: Error) => void,
): Promise<T> {
  let result: T;
  try {
    result = await action();
  } catch (err) {
    const e = err as { code?: string; message?: string };
    await audit
      .record({ ...entry, ok: false, result: { error: { code: e.code ?? 'E_INTERNAL', message: e.message ?? String(err) } } })
      .catch(onAuditError);
    throw err;
  }
  await audit.record({ ...entry, ok: true, result }).catch(onAuditError);
  return result;
}
