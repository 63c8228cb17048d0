import type { Redis } from 'ioredis';
import { parseDuration } from '../../lib/duration';
import { NotFoundError } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import type { HeartbeatsConfig } from '../../lib/ops-config-heartbeats';
import { syntheticFingerprint, syntheticNotification } from '../../lib/synthetic-alert';
import { AlertmanagerWebhookSchema, type AlertmanagerWebhook } from '../alerts/alertmanager-payload';

/**
 * Dead-man's switches. Each heartbeat has a deadline in one Redis sorted set
 * (`<prefix>:heartbeats:deadlines`, score = ms) and a state in a hash
 * (`ok` | `missing`). A beat moves the deadline on; a sweep claims what is
 * past due in one Lua script, so with two replicas sweeping only one opens
 * the incident, and a restart loses nothing (the deadlines are in Redis).
 * Incidents open and resolve through the alert intake, as an
 * Alertmanager-shaped `HeartbeatMissing` alert with a `heartbeat` label.
 */

export const HEARTBEAT_ALERTNAME = 'HeartbeatMissing';
/** The Watchdog heartbeat's name. */
export const ALERTMANAGER_HEARTBEAT = 'alertmanager';

/** KEYS: deadlines, state. ARGV: name, deadline ms. Returns the previous state. */
const BEAT = `
local prev = redis.call('HGET', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], 'ok')
return prev or ''
`;

/** KEYS: deadlines, state. ARGV: now ms. Claims every past-due heartbeat not already missing. */
const CLAIM = `
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local claimed = {}
for _, name in ipairs(due) do
  redis.call('ZREM', KEYS[1], name)
  if redis.call('HGET', KEYS[2], name) ~= 'missing' then
    redis.call('HSET', KEYS[2], name, 'missing')
    table.insert(claimed, name)
  end
end
return claimed
`;

export interface HeartbeatMonitorOptions {
  redis: Redis;
  prefix: string;
  config: HeartbeatsConfig;
  /** ESCALATION_TIME_SCALE: multiplies every interval (drills and tests). @defaultValue 1 */
  timeScale?: number;
  /** Feeds a synthetic notification to the alert intake. */
  deliver: (payload: AlertmanagerWebhook) => Promise<unknown>;
  logger: Logger;
  now?: () => Date;
}

export function createHeartbeatMonitor(options: HeartbeatMonitorOptions) {
  const { redis, prefix, config, logger } = options;
  const keys = [`${prefix}:heartbeats:deadlines`, `${prefix}:heartbeats:state`];
  const now = options.now ?? (() => new Date());
  const scale = options.timeScale ?? 1;
  let timer: NodeJS.Timeout | undefined;
  let sweeping: Promise<void> | undefined;

  function spec(name: string) {
    if (name === ALERTMANAGER_HEARTBEAT) return { interval: config.watchdog.interval, priority: config.watchdog.priority, description: 'Alertmanager Watchdog' };
    const source = config.sources[name];
    if (!source) throw new NotFoundError(`no heartbeat named "${name}" in the ops config`);
    return { interval: source.interval, priority: source.priority, description: source.description ?? name };
  }

  const intervalMs = (name: string) => Math.max(1, Math.round(parseDuration(spec(name).interval) * scale));

  function payload(name: string, status: 'firing' | 'resolved', since: Date): AlertmanagerWebhook {
    const s = spec(name);
    const labels = { alertname: HEARTBEAT_ALERTNAME, heartbeat: name, priority: s.priority };
    return AlertmanagerWebhookSchema.parse(
      syntheticNotification({
        groupKey: `{}/{heartbeat="${name}"}:{alertname="${HEARTBEAT_ALERTNAME}"}`,
        receiver: 'heartbeats',
        groupLabels: { alertname: HEARTBEAT_ALERTNAME, heartbeat: name },
        labels,
        annotations: {
          summary:
            name === ALERTMANAGER_HEARTBEAT
              ? `Alertmanager's Watchdog has not arrived for over ${s.interval}: the alerting pipeline may be down, and no other alert would reach you.`
              : `Heartbeat "${name}" (${s.description}) has not arrived for over ${s.interval}.`,
        },
        commonAnnotations: {},
        status,
        startsAt: since,
        endsAt: now(),
        fingerprint: syntheticFingerprint(`heartbeat:${name}`),
      }),
    );
  }

  /** Records a beat; when the heartbeat was missing, its incident resolves. */
  async function beat(name: string): Promise<'ok' | 'recovered'> {
    const at = now();
    const prev = (await redis.eval(BEAT, 2, ...keys, name, String(at.getTime() + intervalMs(name)))) as string;
    if (prev !== 'missing') return 'ok';
    logger.info({ heartbeat: name }, 'heartbeat is back');
    await options.deliver(payload(name, 'resolved', at));
    return 'recovered';
  }

  /** Opens an incident for every heartbeat past its deadline; runs on every replica, claims once. */
  async function sweep(): Promise<string[]> {
    const at = now();
    const claimed = (await redis.eval(CLAIM, 2, ...keys, String(at.getTime()))) as string[];
    for (const name of claimed) {
      logger.warn({ heartbeat: name }, 'heartbeat missing: opening an incident');
      try {
        await options.deliver(payload(name, 'firing', at));
      } catch (err) {
        // Not delivered: give the claim back so the next sweep tries again.
        logger.error({ err, heartbeat: name }, 'could not open the heartbeat incident; retrying');
        await redis.multi().hset(keys[1]!, name, 'ok').zadd(keys[0]!, at.getTime(), name).exec();
      }
    }
    return claimed;
  }

  /**
   * Configured sources are armed at start (one that never beats is caught); the
   * Watchdog is armed by its first arrival. Sweeps a few times per shortest interval.
   */
  async function start(): Promise<void> {
    const t = now().getTime();
    for (const name of Object.keys(config.sources)) await redis.zadd(keys[0]!, 'NX', t + intervalMs(name), name);
    const names = [ALERTMANAGER_HEARTBEAT, ...Object.keys(config.sources)];
    const every = Math.min(1000, Math.max(20, Math.min(...names.map(intervalMs)) / 5));
    const tick = () => {
      sweeping ??= sweep()
        .then(() => undefined, (err: unknown) => logger.warn({ err }, 'heartbeat sweep failed'))
        .finally(() => (sweeping = undefined));
    };
    tick();
    timer = setInterval(tick, every);
  }

  async function stop(): Promise<void> {
    if (timer) clearInterval(timer);
    timer = undefined;
    await sweeping;
  }

  /** The heartbeat's state: undefined before its first beat (or arming). */
  async function state(name: string): Promise<{ state?: string; deadline?: Date }> {
    const [s, score] = await Promise.all([redis.hget(keys[1]!, name), redis.zscore(keys[0]!, name)]);
    return { ...(s ? { state: s } : {}), ...(score ? { deadline: new Date(Number(score)) } : {}) };
  }

  return { beat, sweep, start, stop, state, spec };
}

export type HeartbeatMonitor = ReturnType<typeof createHeartbeatMonitor>;
