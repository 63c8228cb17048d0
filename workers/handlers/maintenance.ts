import type { Redis } from 'ioredis';
import { parseActionParams } from '../../lib/action-catalog';
import { formatDuration } from '../../lib/duration';
import { askedBy, callOnce, toolFailure, type ActionHandler, type HandlerDeps } from './types';

/** The silences the current maintenance window made, so `off` (or the window's end) can expire them. */
export const maintenanceSilencesKey = (prefix: string) => `${prefix}:maintenance:silences`;

export interface MaintenanceDeps {
  redis: Redis;
  prefix: string;
  /** Queues the window's end (`maintenance off` at `at`), idempotent per request. */
  scheduleEnd(at: Date, fromRequestId: string): Promise<void>;
}

/** One silence per matcher set: Alertmanager ANDs matchers, and the server's alerts carry `job` or `service`. */
async function silenceWindow(deps: HandlerDeps, until: Date, by: string, reason: string): Promise<string[]> {
  if (!deps.silences) return [];
  const matchers = deps.serviceMatchers ?? [{ name: 'job', value: 'mcp-financial-server' }, { name: 'service', value: 'mcp-financial-server' }];
  const ids: string[] = [];
  for (const m of matchers) {
    ids.push(await deps.silences.create([{ name: m.name, value: m.value, isRegex: false }], until, by, `maintenance: ${reason}`));
  }
  return ids;
}

/**
 * `maintenance on <duration>`: the server's maintenance mode (the seed's status
 * file), a real Alertmanager silence of the server's alerts for the window, an
 * announcement in the alerts channel, and the window's end queued. `off` undoes
 * all of it. Each step is journaled, so a replay after a crash repeats none.
 */
export function createMaintenanceHandler(m: MaintenanceDeps): ActionHandler {
  return async (job, deps) => {
    const p = parseActionParams('maintenance', job.params);
    const who = askedBy(job);
    if (p.mode === 'on') {
      if (!p.durationSeconds) return { ok: false, summary: '❌ maintenance on needs a duration, e.g. `maintenance on 2h`' };
      const reason = p.reason ?? (job.incidentId ? `for ${job.incidentId}` : `asked by ${job.requestedBy}`);
      const set = await callOnce(deps, 'set', 'ops_set_maintenance', { enabled: true, reason });
      if (set.isError) return toolFailure('Turning maintenance on', set);
      const until = new Date(Date.parse(job.requestedAt) + p.durationSeconds * 1000);
      const silenceIds = await deps.journal.once('silence', async () => {
        const ids = await silenceWindow(deps, until, job.requestedBy, reason);
        if (ids.length) await m.redis.sadd(maintenanceSilencesKey(m.prefix), ...ids);
        return ids;
      });
      await deps.journal.once('schedule-end', () => m.scheduleEnd(until, job.requestId).then(() => true));
      const window = formatDuration(p.durationSeconds * 1000);
      const silenced = silenceIds.length ? `its alerts silenced in Alertmanager until ${until.toISOString()}` : 'no Alertmanager configured, so alerts are not silenced';
      await announce(deps, job.requestId, `🚧 Maintenance mode is ON for ${window} (until ${until.toISOString()}), ${who}: ${reason}. Finance tools answer "in maintenance"; ${silenced}.`);
      return { ok: true, summary: `🚧 Maintenance on for ${window}, ${silenced}; asked by ${who}`, audit: { until: until.toISOString(), silenceIds } };
    }
    const set = await callOnce(deps, 'set', 'ops_set_maintenance', { enabled: false, reason: p.reason ?? `ended by ${job.requestedBy}` });
    if (set.isError) return toolFailure('Turning maintenance off', set);
    const expired = await deps.journal.once('unsilence', async () => {
      const ids = await m.redis.smembers(maintenanceSilencesKey(m.prefix));
      for (const id of ids) await deps.silences?.expire(id);
      if (ids.length) await m.redis.srem(maintenanceSilencesKey(m.prefix), ...ids);
      return ids;
    });
    await announce(deps, job.requestId, `✅ Maintenance mode is OFF (${who}); ${expired.length} silence(s) expired, alerts flow again.`);
    return { ok: true, summary: `✅ Maintenance off, ${expired.length} silence(s) expired; asked by ${who}`, audit: { expired } };
  };
}

async function announce(deps: HandlerDeps, requestId: string, text: string): Promise<void> {
  if (!deps.announce) return;
  await deps.announce.outbox.reply({ channel: deps.announce.channel, text, id: `${requestId}-announce` });
}
