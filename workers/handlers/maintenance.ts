import type { Redis } from 'ioredis';
import { parseActionParams } from '../../lib/action-catalog';
import type { RunbookActionJob } from '../../lib/contracts';
import { formatDuration } from '../../lib/duration';
import { CodedError, ErrorCode } from '../../lib/errors';
import type { ToolCallResult } from '../../lib/mcp-client';
import {
  actionHolderId,
  beginHold,
  createMaintenanceHolders,
  describeHolders,
  endAllHolds,
  endHold,
  keepSilences,
  type Holder,
  type HoldFlow,
  type MaintenanceHolders,
  nameHolders,
} from '../maintenance/holders';
import { askedBy, toolFailure, type ActionHandler, type ActionOutcome, type HandlerDeps } from './types';

/** Every silence a `maintenance on` made and has not expired yet, so `off` (or the window's end) can expire them. */
export const maintenanceSilencesKey = (prefix: string) => `${prefix}:maintenance:silences`;

export interface MaintenanceDeps {
  redis: Redis;
  prefix: string;
  /** Queues the window's end (`maintenance off` at `at`), idempotent per request. */
  scheduleEnd(at: Date, fromRequestId: string): Promise<void>;
  /** @defaultValue Date.now */
  now?: () => number;
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

/** The server refused ops_set_maintenance: carried out of the shared flow, then told as one line. */
class ToolRefused extends CodedError {
  constructor(readonly result: ToolCallResult) {
    super(ErrorCode.McpCall, result.text);
  }
}

/** The end job the worker queues for a window is `<requestId>-end` with origin `schedule`: the holder it ends. */
function endingHolder(job: RunbookActionJob): string | undefined {
  return job.origin === 'schedule' && job.requestId.endsWith('-end') ? actionHolderId(job.requestId.slice(0, -'-end'.length)) : undefined;
}

/**
 * `maintenance on <duration>`: a holder of maintenance (workers/maintenance/holders.ts) until the
 * window's end, the server's maintenance mode (the seed's status file), real Alertmanager silences of
 * the server's alerts for the window, an announcement in the alerts channel, and the window's end
 * queued. The end removes this holder only: the mode goes off when no other holder (another
 * `maintenance on`, a scheduled window) is active, and the window's own silences end with it either
 * way. A person's `maintenance off` ends every holder and expires every maintenance silence. Each
 * step is journaled, so a replay after a crash repeats none.
 */
export function createMaintenanceHandler(m: MaintenanceDeps): ActionHandler {
  const holders = createMaintenanceHolders(m.redis, m.prefix);
  const now = m.now ?? Date.now;
  return async (job, deps) => {
    const flow: HoldFlow = {
      holders,
      once: deps.journal.once,
      now,
      async setMode(enabled, reason) {
        const set = await deps.mcp.callTool('ops_set_maintenance', { enabled, reason });
        if (set.isError) throw new ToolRefused(set);
      },
    };
    try {
      return await run(job, deps, flow, holders);
    } catch (err) {
      if (err instanceof ToolRefused) return toolFailure(`Turning maintenance ${job.params.mode === 'on' ? 'on' : 'off'}`, err.result);
      throw err;
    }
  };

  async function run(job: RunbookActionJob, deps: HandlerDeps, flow: HoldFlow, holders: MaintenanceHolders): Promise<ActionOutcome> {
    const p = parseActionParams('maintenance', job.params);
    const who = askedBy(job);
    if (p.mode === 'on') {
      if (!p.durationSeconds) return { ok: false, summary: '❌ maintenance on needs a duration, e.g. `maintenance on 2h`' };
      const reason = p.reason ?? (job.incidentId ? `for ${job.incidentId}` : `asked by ${job.requestedBy}`);
      const until = new Date(Date.parse(job.requestedAt) + p.durationSeconds * 1000);
      const window = formatDuration(p.durationSeconds * 1000);
      const id = actionHolderId(job.requestId);
      const record = { untilMs: until.getTime(), label: `\`maintenance on ${window}\` by ${who}`, by: job.requestedBy, why: reason, silences: [] as string[] };
      const overridden = async (remaining: Holder[]): Promise<ActionOutcome> => {
        const mode = remaining.length ? `Maintenance stays ON: ${describeHolders(remaining)}.` : 'Maintenance mode is OFF.';
        await announce(deps, job.requestId, `✅ \`maintenance on ${window}\` (${who}) was ended by a \`maintenance off\` while it started. ${mode}`);
        return { ok: true, summary: `✅ Maintenance on for ${window} was overridden by a maintenance off while it started; asked by ${who}`, audit: { overridden: true, holder: id, heldBy: remaining.map((h) => h.id) } };
      };
      const { active, held } = await beginHold(flow, id, record, reason);
      if (!held) return overridden(active);
      // null: a person's `maintenance off` ended the hold while the silences were made (they are expired).
      const silenceIds = await deps.journal.once<string[] | null>('silence', async () => {
        const ids = await silenceWindow(deps, until, job.requestedBy, reason);
        // The holder knows its silences before the set does: an end never takes another holder's silence for an orphan.
        if (!(await keepSilences(holders, id, record, ids, async (sid) => { await deps.silences?.expire(sid); }))) return null;
        if (ids.length) await m.redis.sadd(maintenanceSilencesKey(m.prefix), ...ids);
        return ids;
      });
      if (!silenceIds) return overridden(await holders.active(now()));
      await deps.journal.once('schedule-end', () => m.scheduleEnd(until, job.requestId).then(() => true));
      const silenced = silenceIds.length ? `its alerts silenced in Alertmanager until ${until.toISOString()}` : 'no Alertmanager configured, so alerts are not silenced';
      const others = active.filter((h) => h.id !== id);
      const also = others.length ? ` Also held: ${describeHolders(others)}.` : '';
      await announce(deps, job.requestId, `🚧 Maintenance mode is ON for ${window} (until ${until.toISOString()}), ${who}: ${reason}. Finance tools answer "in maintenance"; ${silenced}.${also}`);
      return { ok: true, summary: `🚧 Maintenance on for ${window}, ${silenced}; asked by ${who}`, audit: { until: until.toISOString(), silenceIds, holder: id, alsoHeldBy: others.map((h) => h.id) } };
    }

    const ending = endingHolder(job);
    if (ending) {
      // The queued end of one `maintenance on`: only its own hold ends.
      const { released, remaining } = await endHold(flow, ending, p.reason ?? `ended by ${job.requestedBy}`);
      const expired = await deps.journal.once('unsilence', () => expireSilences(deps, released?.silences ?? [], remaining.length === 0));
      if (remaining.length) {
        const held = describeHolders(remaining);
        await announce(deps, job.requestId, `🚧 A maintenance window ended (${who}), ${expired.length} of its silence(s) expired. Maintenance stays ON: ${held}.`);
        return { ok: true, summary: `🚧 Maintenance stays ON: ${held}; this window's ${expired.length} silence(s) expired`, audit: { expired, released: ending, heldBy: remaining.map((h) => h.id) } };
      }
      await announce(deps, job.requestId, `✅ Maintenance mode is OFF (${who}); ${expired.length} silence(s) expired, alerts flow again.`);
      return { ok: true, summary: `✅ Maintenance off, ${expired.length} silence(s) expired; asked by ${who}`, audit: { expired, released: ending } };
    }

    // A person's `maintenance off`: an override of every holder.
    const { ended, remaining } = await endAllHolds(flow, p.reason ?? `ended by ${job.requestedBy}`);
    const endedActive = ended.filter((h) => h.active);
    const expired = await deps.journal.once('unsilence', () => expireSilences(deps, ended.flatMap((h) => h.silences), true));
    const which = endedActive.length ? ` Ended: ${nameHolders(endedActive)}.` : '';
    const after = remaining.length ? ` Maintenance was taken again meanwhile: ${describeHolders(remaining)}.` : '';
    await announce(deps, job.requestId, `✅ Maintenance mode is OFF (${who}); ${expired.length} silence(s) expired, alerts flow again.${which}${after}`);
    return {
      ok: true,
      summary: `✅ Maintenance off, ${expired.length} silence(s) expired; asked by ${who}.${which}`,
      audit: { expired, ended: endedActive.map((h) => h.id) },
    };
  }

  /**
   * Expires `ids` (a holder's own silences) and, with `orphans`, every silence of the action's set that no
   * holder still claims (left by a crashed or pre-holder window), which is what `off` always did.
   */
  async function expireSilences(deps: HandlerDeps, ids: string[], orphans: boolean): Promise<string[]> {
    const key = maintenanceSilencesKey(m.prefix);
    const targets = new Set(ids);
    if (orphans) {
      const claimed = new Set((await holders.active(now())).flatMap((h: Holder) => h.silences));
      for (const id of await m.redis.smembers(key)) if (!claimed.has(id)) targets.add(id);
    }
    const list = [...targets];
    for (const id of list) await deps.silences?.expire(id);
    if (list.length) await m.redis.srem(key, ...list);
    return list;
  }
}

async function announce(deps: HandlerDeps, requestId: string, text: string): Promise<void> {
  if (!deps.announce) return;
  await deps.announce.outbox.reply({ channel: deps.announce.channel, text, id: `${requestId}-announce` });
}
