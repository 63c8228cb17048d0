import { Gauge, type Registry } from 'prom-client';
import type { Redis } from 'ioredis';
import type { Logger } from '../../lib/logger';
import { redisScript } from '../../lib/redis-script';
import type { Incident, IncidentStore, Priority } from '../incidents/incident-store';
import type { IncidentNotifier } from '../incidents/incident-notifier';
import type { BotMetrics } from '../metrics';

/**
 * The work a new incident needs after it is stored: its root message queued, its escalation planned, its
 * diagnostics and remediation queued. The webhook does not wait for it: Alertmanager's delivery is answered
 * once the ingest has stored the incident, and the ingest script, in the same atomic step, puts the incident's
 * id in the openings set (`IncidentStore.keys.openings`, a sorted set scored by when the opening may be taken).
 *
 * Nothing is lost when the bot dies between the two: the ingest scores a new incident `now + lease`, a lease
 * held by the replica that stored it, which runs the opening at once in process (`opened`). Every replica polls
 * the set: an entry whose lease ran out (its replica died, or the opening failed and is due again) is claimed
 * with a new lease and run there (the store's `openingLeaseMs`, OPENING_LEASE_MS). An entry leaves the set only with the `openHandled` mark, in one MULTI.
 * The opening is idempotent (escalation jobs and diagnostic requests have stable ids), so a lease that ran
 * out under a slow replica costs a repeat, never a second page.
 *
 * Under a burst of new groups the openings queue in process by priority (P1 first; bounded by `maxLocal`,
 * past it they wait in Redis for a poll) and run `concurrency` at a time, so the intake keeps taking deliveries.
 */
export interface OpeningContext {
  /** The incident as read when its opening began. */
  incident: Incident;
  /**
   * Resolves once the root message is queued in the outbox (never rejects): the hook's own replies
   * (diagnostics) wait for it, so they land in the thread after the root.
   */
  rootQueued: Promise<void>;
}

export interface IncidentOpenerOptions {
  redis: Redis;
  store: IncidentStore;
  notifier: IncidentNotifier;
  logger: Logger;
  metrics: BotMetrics;
  registry?: Registry;
  /** Escalation and the runbook side. Must be idempotent: a retry or a second replica may run it again. */
  open: (incidentId: string, opening: OpeningContext) => Promise<void>;
  /** Openings run at once in this process. @defaultValue 8 */
  concurrency?: number;
  /** How often the set is polled for openings whose lease ran out. @defaultValue 1000 */
  pollMs?: number;
  /** A failed opening is tried again after this long, doubled per failure up to 60 s. @defaultValue 1000 */
  retryMs?: number;
  /** Openings held in process at most; past this they wait in Redis for a poll. @defaultValue 5000 */
  maxLocal?: number;
}

/*
 * Renews this replica's leases (ARGV[4..]: ids it holds), then claims up to ARGV[3] openings due by ARGV[1],
 * giving each a lease to ARGV[2]. `XX`: an id that left the set (handled elsewhere) is not put back.
 */
const CLAIM_LUA = `
local key, now, leaseTo, limit = KEYS[1], ARGV[1], ARGV[2], tonumber(ARGV[3])
for i = 4, #ARGV do redis.call('ZADD', key, 'XX', leaseTo, ARGV[i]) end
if limit <= 0 then return {} end
local due = redis.call('ZRANGEBYSCORE', key, '-inf', now, 'LIMIT', 0, limit)
for _, id in ipairs(due) do redis.call('ZADD', key, 'XX', leaseTo, id) end
return due
`;
const CLAIM_SCRIPT = redisScript(CLAIM_LUA);

export function createIncidentOpener(options: IncidentOpenerOptions) {
  const { redis, store, notifier, logger, metrics } = options;
  const key = store.keys.openings;
  const concurrency = options.concurrency ?? 16;
  const leaseMs = store.openingLeaseMs;
  const pollMs = options.pollMs ?? 1000;
  const retryMs = options.retryMs ?? 1000;
  const maxLocal = options.maxLocal ?? 5000;

  /** Ids this replica holds (queued or running). */
  const held = new Set<string>();
  /**
   * Ids whose lease this replica renews: the held ones, less a failed opening from the moment it hands itself
   * back (due again after its retry delay); a renewal sent after that hand-back would push it to a whole lease.
   */
  const leased = new Set<string>();
  // One lane per priority, P1 first: under a burst of new groups a P1's page is not queued behind the P4s.
  // Openings claimed from Redis (retried, or left by another replica) have waited already: the P1 lane.
  const lanes: Record<Priority, string[]> = { P1: [], P2: [], P3: [], P4: [] };
  const queued = () => lanes.P1.length + lanes.P2.length + lanes.P3.length + lanes.P4.length;
  const next = () => lanes.P1.shift() ?? lanes.P2.shift() ?? lanes.P3.shift() ?? lanes.P4.shift();
  const failures = new Map<string, number>();
  let running = 0;
  let timer: NodeJS.Timeout | undefined;
  let polling: Promise<void> | undefined;
  let lastRenew = 0;
  // Not started: openings handed over are held and run once `start` has run (the webhook listens before the
  // rest of the bot has started). Stopped: nothing new is taken; the lease hands it to another replica.
  let started = false;
  let stopped = false;
  const idle: Array<() => void> = [];

  if (options.registry) {
    new Gauge({
      name: 'incident_openings_waiting',
      help: 'New incidents whose opening (root message, escalation plan, diagnostics) has not completed yet, read from Redis at scrape time.',
      registers: [options.registry],
      async collect() {
        // Redis away: NaN for this series, the rest of /metrics still answers (as the outbox depth does).
        this.set(await redis.zcard(key).catch(() => Number.NaN));
      },
    });
  }

  function pump(): void {
    while (started && !stopped && running < concurrency && queued() > 0) {
      const id = next()!;
      running += 1;
      void runOne(id).finally(() => {
        running -= 1;
        held.delete(id);
        leased.delete(id);
        if (running === 0 && queued() === 0) idle.splice(0).forEach((r) => r());
        pump();
      });
    }
  }

  function take(id: string, priority: Priority): boolean {
    if (held.has(id) || held.size >= maxLocal) return false;
    held.add(id);
    leased.add(id);
    (lanes[priority] ?? lanes.P1).push(id);
    return true;
  }

  async function runOne(id: string): Promise<void> {
    try {
      // Read when the opening begins, never the intake's copy: a resolve or an ack may have come in between.
      const incident = await store.get(id);
      if (!incident) {
        // Deleted (retention) before its opening ran: nothing to open.
        await redis.zrem(key, id);
        return;
      }
      if (!incident.openHandled && incident.state !== 'resolved') {
        const rootQueued = notifier.sync(id, undefined, incident);
        await options.open(id, { incident, rootQueued });
        await rootQueued;
      }
      await store.markOpenHandled(id);
      failures.delete(id);
    } catch (err) {
      // Before the hand-back is sent: a poll from here on renews it no more (commands run in the order sent).
      leased.delete(id);
      const n = (failures.get(id) ?? 0) + 1;
      failures.set(id, n);
      const delay = Math.min(60_000, retryMs * 2 ** (n - 1));
      metrics.escalationHookFailures.inc({ hook: 'opened' });
      logger.error({ err, incidentId: id, attempt: n, retryInMs: delay }, 'opening an incident failed; it is tried again');
      // Due again after the delay (for whichever replica polls first); if this write fails too, the lease runs out.
      await redis.zadd(key, 'XX', Date.now() + delay, id).catch(() => undefined);
    }
  }

  async function poll(): Promise<void> {
    const now = Date.now();
    const renew = now - lastRenew > leaseMs / 3 ? [...leased] : [];
    if (renew.length) lastRenew = now;
    const room = Math.min(500, maxLocal - held.size);
    const due = (await CLAIM_SCRIPT.run(redis, 1, key, String(now), String(now + leaseMs), String(room), ...renew)) as string[];
    for (const id of due) take(id, 'P1');
    pump();
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      polling = poll()
        .catch((err) => logger.warn({ err }, 'polling the incident openings failed; next poll soon'))
        .finally(() => {
          polling = undefined;
          schedule();
        });
    }, pollMs);
    timer.unref();
  }

  return {
    /** The intake stored a new incident (its lease is ours): open it now. */
    opened(id: string, priority: Priority): void {
      if (stopped) return;
      if (take(id, priority)) pump();
    },
    /** Claims what is due (openings left by a stopped replica, failed ones), then polls every `pollMs`. */
    async start(): Promise<void> {
      started = true;
      stopped = false;
      pump();
      await poll().catch((err) => logger.warn({ err }, 'first poll of the incident openings failed; polling goes on'));
      schedule();
    },
    /** Resolves when nothing is queued or running here (tests, a graceful stop). */
    async idle(timeoutMs = 10_000): Promise<boolean> {
      if (running === 0 && queued() === 0) return true;
      return Promise.race([
        new Promise<boolean>((r) => idle.push(() => r(true))),
        new Promise<boolean>((r) => setTimeout(() => r(false), timeoutMs).unref()),
      ]);
    },
    /** Stops taking openings, waits for the running ones, and hands the queued ones back (due at once). */
    async stop(timeoutMs = 5000): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      await polling;
      const unstarted = [lanes.P1, lanes.P2, lanes.P3, lanes.P4].flatMap((lane) => lane.splice(0));
      if (unstarted.length) {
        const now = String(Date.now());
        await redis.zadd(key, 'XX', ...unstarted.flatMap((id) => [now, id])).catch(() => undefined);
      }
      for (const id of unstarted) {
        held.delete(id);
        leased.delete(id);
      }
      if (running > 0) {
        await Promise.race([
          new Promise<void>((r) => idle.push(r)),
          new Promise<void>((r) => setTimeout(r, timeoutMs).unref()),
        ]);
      }
    },
    /** Openings held by this replica (queued or running). */
    held: () => held.size,
  };
}

export type IncidentOpener = ReturnType<typeof createIncidentOpener>;
