import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Backends } from '../backends/types';
import type { MaintenanceStore } from './maintenance';

export const HealthStatusSchema = z.enum(['healthy', 'degraded', 'unhealthy']);

const BreakerStateSchema = z.enum(['closed', 'open', 'half-open']);

export const HealthReportSchema = z.object({
  status: HealthStatusSchema,
  mode: z.enum(['basic', 'full']),
  version: z.string(),
  uptimeSeconds: z.number(),
  checkedAt: z.string(),
  maintenance: z.object({
    enabled: z.boolean(),
    reason: z.string().optional(),
    actor: z.string().optional(),
    since: z.string().optional(),
  }),
  /** Why the status is not healthy, one line each. */
  problems: z.array(z.string()),
  backends: z
    .array(
      z.object({
        service: z.string(),
        url: z.string(),
        healthy: z.boolean(),
        latencyMs: z.number(),
        breaker: BreakerStateSchema,
        error: z.string().optional(),
      }),
    )
    .optional(),
  breakers: z.array(z.object({ service: z.string(), state: BreakerStateSchema, failures: z.number(), since: z.string() })).optional(),
  memory: z.object({ rssBytes: z.number(), heapUsedBytes: z.number(), limitBytes: z.number(), usedRatio: z.number() }).optional(),
  redis: z.object({ ok: z.boolean(), latencyMs: z.number(), error: z.string().optional() }).optional(),
  blockedIps: z.number().optional(),
});
export type HealthReport = z.infer<typeof HealthReportSchema>;

export interface HealthDeps {
  version: string;
  /** Date.now() at start. */
  startedAt: number;
  maintenance: MaintenanceStore;
  backends: Backends;
  redis: Redis;
  memoryLimitBytes: number;
  blockedIpCount?: () => Promise<number>;
}

/** Memory above this share of the limit makes the server degraded (the seed's 80% rule). */
const MEMORY_DEGRADED_RATIO = 0.8;

export async function pingRedis(redis: Redis, timeoutMs = 1000): Promise<{ ok: boolean; latencyMs: number; error?: string }> {
  const started = performance.now();
  // With maxRetriesPerRequest: null a command on a dead connection waits forever; ask the status first.
  if (redis.status !== 'ready') return { ok: false, latencyMs: 0, error: `connection ${redis.status}` };
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      redis.ping(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no reply within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { ok: true, latencyMs: round(performance.now() - started) };
  } catch (err) {
    return { ok: false, latencyMs: round(performance.now() - started), error: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

export async function checkHealth(deps: HealthDeps, mode: 'basic' | 'full'): Promise<HealthReport> {
  const maintenance = await deps.maintenance.status();
  const problems: string[] = [];
  if (maintenance.enabled) problems.push(`maintenance mode is on${maintenance.reason ? ` (${maintenance.reason})` : ''}`);
  const report: HealthReport = {
    status: 'healthy',
    mode,
    version: deps.version,
    uptimeSeconds: Math.round((Date.now() - deps.startedAt) / 1000),
    checkedAt: new Date().toISOString(),
    maintenance,
    problems,
  };
  let unhealthy = false;
  if (mode === 'full') {
    const [backends, redis, blockedIps] = await Promise.all([
      deps.backends.health(),
      pingRedis(deps.redis),
      deps.blockedIpCount ? deps.blockedIpCount().catch(() => -1) : Promise.resolve(0),
    ]);
    const breakers = deps.backends.breakers();
    const mem = process.memoryUsage();
    report.backends = backends;
    report.breakers = breakers;
    report.redis = redis;
    report.blockedIps = blockedIps;
    report.memory = {
      rssBytes: mem.rss,
      heapUsedBytes: mem.heapUsed,
      limitBytes: deps.memoryLimitBytes,
      usedRatio: round(mem.rss / deps.memoryLimitBytes, 4),
    };
    if (!redis.ok) problems.push(`redis unreachable: ${redis.error}`);
    for (const b of backends) if (!b.healthy) problems.push(`${b.service} unhealthy${b.error ? `: ${b.error}` : ''}`);
    for (const b of breakers) if (b.state !== 'closed') problems.push(`circuit breaker for ${b.service} is ${b.state}`);
    if (report.memory.usedRatio > MEMORY_DEGRADED_RATIO) problems.push(`memory at ${Math.round(report.memory.usedRatio * 100)}% of limit`);
    unhealthy = !redis.ok || (backends.length > 0 && backends.every((b) => !b.healthy));
  }
  report.status = unhealthy ? 'unhealthy' : problems.length > 0 ? 'degraded' : 'healthy';
  return report;
}

export function renderHealthText(r: HealthReport): string {
  const icon = { healthy: 'OK', degraded: 'DEGRADED', unhealthy: 'UNHEALTHY' }[r.status];
  const lines = [
    `Health (${r.mode}): ${icon} — version ${r.version}, up ${formatUptime(r.uptimeSeconds)}`,
    `Maintenance: ${r.maintenance.enabled ? `ON${r.maintenance.reason ? ` (${r.maintenance.reason})` : ''}` : 'off'}`,
  ];
  if (r.redis) lines.push(`Redis: ${r.redis.ok ? `ok (${r.redis.latencyMs} ms)` : `DOWN (${r.redis.error})`}`);
  for (const b of r.backends ?? []) {
    lines.push(`Backend ${b.service}: ${b.healthy ? 'ok' : 'DOWN'} (${b.latencyMs} ms, breaker ${b.breaker})${b.error ? ` — ${b.error}` : ''}`);
  }
  if (r.breakers && r.breakers.length > 0) lines.push(`Breakers: ${r.breakers.map((b) => `${b.service}=${b.state}`).join(', ')}`);
  if (r.memory) lines.push(`Memory: ${mib(r.memory.rssBytes)} MiB RSS of ${mib(r.memory.limitBytes)} MiB (${Math.round(r.memory.usedRatio * 100)}%)`);
  if (r.blockedIps !== undefined) lines.push(`Blocked IPs: ${r.blockedIps < 0 ? 'unknown' : r.blockedIps}`);
  if (r.problems.length > 0) lines.push(`Problems:\n${r.problems.map((p) => `  - ${p}`).join('\n')}`);
  return lines.join('\n');
}

function formatUptime(s: number): string {
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return d > 0 ? `${d}d ${h}h ${m}m` : h > 0 ? `${h}h ${m}m` : `${m}m ${s % 60}s`;
}

const mib = (b: number) => Math.round(b / 1048576);
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;
