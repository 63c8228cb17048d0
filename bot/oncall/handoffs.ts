import { parseDuration } from '../../lib/duration';
import type { Logger } from '../../lib/logger';
import type { OnCallOverride, OpsConfig } from '../../lib/ops-config';
import { whoIsOnCall } from './oncall';

/**
 * Handoffs: who takes over when, for `/ops oncall` and the calendar feeds,
 * and the message posted to a rotation's `channel` when a shift starts.
 */

export interface CoverSegment {
  user: string;
  from: Date;
  to: Date;
  override: boolean;
}

/** Bounds every walk: a 1-hour rotation over a year stays finite. */
const MAX_SEGMENTS = 2000;

/** Who covers the rotation from `from` to `to`, as consecutive segments (the first may start before `from`). */
export function coverSegments(config: OpsConfig, overrides: readonly OnCallOverride[], from: Date, to: Date, rotation?: string): CoverSegment[] {
  const out: CoverSegment[] = [];
  let t = from.getTime();
  for (let i = 0; i < MAX_SEGMENTS && t < to.getTime(); i++) {
    const now = whoIsOnCall(new Date(t), config, overrides, rotation);
    out.push({ user: now.primary, from: now.shiftStart, to: now.shiftEnd, override: Boolean(now.override) });
    if (now.shiftEnd.getTime() <= t) break;
    t = now.shiftEnd.getTime();
  }
  return out;
}

/** The next `count` changes of primary after `at`. */
export function nextHandoffs(config: OpsConfig, overrides: readonly OnCallOverride[], at: Date, count: number, rotation?: string): Array<{ user: string; from: Date; override: boolean }> {
  const out: Array<{ user: string; from: Date; override: boolean }> = [];
  let t = at;
  for (let i = 0; i < count; i++) {
    const now = whoIsOnCall(t, config, overrides, rotation);
    const next = whoIsOnCall(now.shiftEnd, config, overrides, rotation);
    out.push({ user: next.primary, from: now.shiftEnd, override: Boolean(next.override) });
    t = now.shiftEnd;
  }
  return out;
}

/** A shift that started longer ago than this is not announced (a bot that was down for hours stays quiet). */
const GRACE_MS = 15 * 60_000;

export interface HandoffAnnouncerOptions {
  config: OpsConfig;
  /** Runtime overrides (`/ops oncall override`, imports). */
  overrides: (now: Date) => Promise<OnCallOverride[]>;
  /** Posts once per id (the outbox skips an id it has seen), so replicas and restarts never repeat one. */
  post: (message: { id: string; channel: string; text: string }) => Promise<unknown>;
  mention: (name: string) => Promise<string>;
  logger: Logger;
  now?: () => Date;
}

export function createHandoffAnnouncer(options: HandoffAnnouncerOptions) {
  const { config, logger } = options;
  const now = options.now ?? (() => new Date());
  const rotations = [
    ...(config.oncall.rotation.channel ? [{ name: undefined as string | undefined, label: 'main', rotation: config.oncall.rotation }] : []),
    ...Object.entries(config.oncall.rotations).filter(([, r]) => r.channel).map(([name, rotation]) => ({ name: name as string | undefined, label: name, rotation })),
  ];
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  async function check(): Promise<number> {
    const at = now();
    const overrides = await options.overrides(at);
    let posted = 0;
    for (const r of rotations) {
      const cur = whoIsOnCall(at, config, overrides, r.name);
      if (at.getTime() - cur.shiftStart.getTime() > GRACE_MS) continue;
      const before = whoIsOnCall(new Date(cur.shiftStart.getTime() - 1), config, overrides, r.name);
      const text =
        `🔁 *Handoff (${r.label})*: ${await options.mention(cur.primary)} is on call now` +
        `${before.primary !== cur.primary ? `, taking over from ${await options.mention(before.primary)}` : ''}` +
        `${cur.override ? ' (override)' : ''}. Next: ${await options.mention(cur.next.primary)} from <!date^${Math.floor(cur.next.from.getTime() / 1000)}^{date_short_pretty} {time}|${cur.next.from.toISOString()}>.`;
      await options.post({ id: `handoff-${r.label}-${cur.shiftStart.getTime()}`, channel: r.rotation.channel!, text });
      posted += 1;
    }
    return posted;
  }

  function start(): void {
    if (!rotations.length) return;
    const shortest = Math.min(...rotations.map((r) => parseDuration(r.rotation.length)));
    const every = Math.min(30_000, Math.max(200, shortest / 4));
    const tick = () => {
      running ??= check()
        .then(() => undefined, (err: unknown) => logger.warn({ err }, 'handoff check failed'))
        .finally(() => (running = undefined));
    };
    tick();
    timer = setInterval(tick, every);
  }

  async function stop(): Promise<void> {
    if (timer) clearInterval(timer);
    timer = undefined;
    await running;
  }

  return { check, start, stop };
}
