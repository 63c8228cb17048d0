import { DateTime } from 'luxon';
import { parseDuration } from '../../lib/duration';
import { ValidationError } from '../../lib/errors';
import { knownUsers, parseInstant, type OnCallOverride, type OpsConfig, type RotationConfig } from '../../lib/ops-config';
import { cannotBeOnCall, findRbacMember } from '../../lib/ops-config-rbac';
import { wallClock } from './business-hours';

/**
 * Who is on call, from the rotation in the ops config plus overrides (the
 * config's and the ones `/ops oncall override` stored). Pure: the caller passes
 * the time and any runtime overrides.
 *
 * Shift k starts at the rotation's start date at `handoff` (in its zone) plus
 * k × length. Whole-day lengths step in calendar days so the hand-off stays at
 * 09:00 local across DST; other lengths step in absolute time.
 */

export interface OnCallNow {
  primary: string;
  /** The member after the primary in the rotation; undefined for a rotation of one. */
  secondary: string | undefined;
  /** When the current primary's unbroken cover began (a hand-off or an override's start). */
  shiftStart: Date;
  /** When the primary changes: equal to `next.from`. */
  shiftEnd: Date;
  /** The override in force, if any. */
  override?: OnCallOverride;
  next: { primary: string; from: Date };
}

const DAY_MS = 86_400_000;
/** Segments to walk looking for a change of primary (one member + overrides can repeat the same name). */
const MAX_SEGMENTS = 64;

interface Rota {
  rotation: RotationConfig;
  anchor: DateTime;
  handoff: { hour: number; minute: number };
  anchorMs: number;
  lengthMs: number;
  overrides: Array<{ override: OnCallOverride; from: number; to: number }>;
  /** Shift start (ms) by shift index, for calendar-day shifts: computed once per rota. */
  starts: Map<number, number>;
}

/** Shift starts remembered per rota (a rota is rebuilt when its config or overrides change). */
const SHIFT_STARTS_MAX = 1_024;

/** The rotation by name (`oncall.rotations`), or the main one when no name is given. */
export function rotationOf(config: OpsConfig, name?: string): RotationConfig {
  if (name === undefined) return config.oncall.rotation;
  const rotation = config.oncall.rotations[name];
  if (!rotation) throw new ValidationError(`no rotation named "${name}" in oncall.rotations`);
  return rotation;
}

function buildRota(config: OpsConfig, extra: readonly OnCallOverride[], name?: string): Rota {
  const rotation = rotationOf(config, name);
  const zone = rotation.timezone;
  const startDay = DateTime.fromJSDate(parseInstant(rotation.start, zone), { zone }).startOf('day');
  const [hour, minute] = rotation.handoff.split(':').map(Number);
  const anchor = wallClock(startDay, hour!, minute!);
  // Each override covers one rotation: the main one unless it names another.
  const overrides = [...config.oncall.overrides, ...extra].filter((o) => o.rotation === name).map((override) => ({
    override,
    from: parseInstant(override.from, zone).getTime(),
    to: parseInstant(override.to, zone).getTime(),
  }));
  return {
    rotation,
    anchor,
    anchorMs: anchor.toMillis(),
    handoff: { hour: hour!, minute: minute! },
    lengthMs: parseDuration(rotation.length),
    overrides,
    starts: new Map(),
  };
}

function shiftStartMs(rota: Rota, k: number): number {
  if (rota.lengthMs % DAY_MS === 0) {
    // Time-zone math in luxon is the cost here; a rota asks for the same few shifts again and again.
    const known = rota.starts.get(k);
    if (known !== undefined) return known;
    const day = rota.anchor.startOf('day').plus({ days: k * (rota.lengthMs / DAY_MS) });
    const ms = wallClock(day, rota.handoff.hour, rota.handoff.minute).toMillis();
    if (rota.starts.size >= SHIFT_STARTS_MAX) rota.starts.clear();
    rota.starts.set(k, ms);
    return ms;
  }
  return rota.anchorMs + k * rota.lengthMs;
}

/** Index of the rotation shift containing `t` (negative before the start: the rota extends backwards). */
function shiftIndex(rota: Rota, t: number): number {
  let k = Math.floor((t - rota.anchorMs) / rota.lengthMs);
  // DST makes calendar-day shifts an hour longer or shorter than lengthMs: settle on the right one.
  while (shiftStartMs(rota, k) > t) k--;
  while (shiftStartMs(rota, k + 1) <= t) k++;
  return k;
}

function memberAt(rota: Rota, k: number, offset = 0): string {
  const members = rota.rotation.members;
  const n = members.length;
  return members[(((k + offset) % n) + n) % n]!;
}

/** The override in force at t: the one listed last wins, so a newer override beats an older one. */
function overrideAt(rota: Rota, t: number) {
  for (let i = rota.overrides.length - 1; i >= 0; i--) {
    const o = rota.overrides[i]!;
    if (o.from <= t && t < o.to) return o.override;
  }
  return undefined;
}

function primaryAt(rota: Rota, t: number): string {
  return overrideAt(rota, t)?.user ?? memberAt(rota, shiftIndex(rota, t));
}

/** The next instant after t at which the assignment may change. */
function nextBoundary(rota: Rota, t: number): number {
  let next = shiftStartMs(rota, shiftIndex(rota, t) + 1);
  for (const o of rota.overrides) {
    if (o.from > t && o.from < next) next = o.from;
    if (o.to > t && o.to < next) next = o.to;
  }
  return next;
}

/** The latest instant ≤ t at which the assignment may have changed. */
function previousBoundary(rota: Rota, t: number): number {
  let prev = shiftStartMs(rota, shiftIndex(rota, t));
  for (const o of rota.overrides) {
    if (o.from <= t && o.from > prev) prev = o.from;
    if (o.to <= t && o.to > prev) prev = o.to;
  }
  return prev;
}

/**
 * Where the primary's unbroken cover ends (forward) or began (backward),
 * merging adjacent segments with the same person. When the same person covers
 * every segment in reach (a rotation of one), the nearest boundary is used.
 */
function coverEdge(rota: Rota, t: number, primary: string, direction: 'forward' | 'backward'): number {
  const step = (x: number) => (direction === 'forward' ? nextBoundary(rota, x) : previousBoundary(rota, x - 1));
  const nearest = direction === 'forward' ? nextBoundary(rota, t) : previousBoundary(rota, t);
  let edge = nearest;
  for (let i = 0; i < MAX_SEGMENTS; i++) {
    const beyond = direction === 'forward' ? edge : edge - 1;
    if (primaryAt(rota, beyond) !== primary) return edge;
    edge = step(edge);
  }
  return nearest;
}

/**
 * The answer is the same for every instant of one segment of the rota (between two boundaries: a hand-off, an
 * override's start or end), and computing it costs luxon time-zone math (several ms under load). So the last few
 * segments are kept per rota, keyed by everything the answer depends on: the rotation's config, the config's
 * overrides and the runtime ones, by value (a changed or reloaded config, a new or expired override is a new key).
 */
interface CachedRota {
  rota: Rota;
  segments: Array<{ from: number; to: number; value: OnCallNow }>;
}
const rotaCache = new Map<string, CachedRota>();
/** Rotas kept (distinct rotation × override sets); past it the oldest goes. */
const ROTA_CACHE_MAX = 64;
/** Segments kept per rota: now, and a few around it for escalation steps that fire late or early. */
const SEGMENTS_MAX = 8;

function cachedRota(config: OpsConfig, extra: readonly OnCallOverride[], name?: string): CachedRota {
  const rotation = rotationOf(config, name);
  const key = JSON.stringify([name ?? null, rotation, config.oncall.overrides, extra]);
  let entry = rotaCache.get(key);
  if (entry) {
    // Most recently used last, so the first key is the one to evict.
    rotaCache.delete(key);
  } else {
    entry = { rota: buildRota(config, extra, name), segments: [] };
    if (rotaCache.size >= ROTA_CACHE_MAX) rotaCache.delete(rotaCache.keys().next().value!);
  }
  rotaCache.set(key, entry);
  return entry;
}

function copyOf(value: OnCallNow): OnCallNow {
  return { ...value, shiftStart: new Date(value.shiftStart), shiftEnd: new Date(value.shiftEnd), next: { ...value.next, from: new Date(value.next.from) } };
}

/** Who is on call at `at` (in the main rotation, or the named one), since when, until when, and who comes next. */
export function whoIsOnCall(at: Date, config: OpsConfig, extraOverrides: readonly OnCallOverride[] = [], rotation?: string): OnCallNow {
  const entry = cachedRota(config, extraOverrides, rotation);
  const t = at.getTime();
  const hit = entry.segments.find((s) => s.from <= t && t < s.to);
  if (hit) return copyOf(hit.value);
  const value = onCallIn(entry.rota, t);
  entry.segments.push({ from: previousBoundary(entry.rota, t), to: nextBoundary(entry.rota, t), value });
  if (entry.segments.length > SEGMENTS_MAX) entry.segments.shift();
  return copyOf(value);
}

/** whoIsOnCall without the cache: computed from the config every time (tests compare the two). */
export function computeOnCall(at: Date, config: OpsConfig, extraOverrides: readonly OnCallOverride[] = [], rotation?: string): OnCallNow {
  return onCallIn(buildRota(config, extraOverrides, rotation), at.getTime());
}

function onCallIn(rota: Rota, t: number): OnCallNow {
  const override = overrideAt(rota, t);
  const k = shiftIndex(rota, t);
  const rotaPrimary = memberAt(rota, k);
  const primary = override?.user ?? rotaPrimary;
  let secondary = rota.rotation.members.length > 1 ? memberAt(rota, k, 1) : undefined;
  // Someone covering for the primary: if the cover is the secondary, the two swap.
  if (override && secondary === override.user) secondary = rotaPrimary;

  const end = coverEdge(rota, t, primary, 'forward');
  const start = coverEdge(rota, t, primary, 'backward');

  return {
    primary,
    secondary,
    shiftStart: new Date(start),
    shiftEnd: new Date(end),
    ...(override ? { override } : {}),
    next: { primary: primaryAt(rota, end), from: new Date(end) },
  };
}

export interface OverrideRequest {
  /** "alice", "@alice", or a Slack mention "<@U0ALICE>" / "<@U0ALICE|alice>". */
  user: string;
  /** How long, e.g. "2h"; or give `to`. */
  duration?: string;
  /** @defaultValue now */
  from?: Date;
  to?: Date;
  reason?: string;
  /** Who asked (Slack user id or name), for the timeline. */
  by?: string;
}

/** Resolves a user as typed in Slack to the name the config knows. */
export function resolveUserName(input: string, config: OpsConfig): string | undefined {
  const mention = /^<@([A-Z0-9]+)(?:\|([^>]+))?>$/.exec(input.trim());
  const users = knownUsers(config);
  if (mention) {
    // A mention names a Slack user id; the "|name" part is a label anyone can type, so it is never used.
    return findRbacMember(config, { id: mention[1] })?.name;
  }
  const name = input.trim().replace(/^@/, '');
  return users.has(name) ? name : undefined;
}

/**
 * Validates an override request and returns the override to store: the user
 * must be a rotation member or an RBAC user, the window must be longer than 0,
 * at most `oncall.max_override`, and must not be over already.
 */
export function createOverride(request: OverrideRequest, config: OpsConfig, now: Date): OnCallOverride {
  const user = resolveUserName(request.user, config);
  if (!user) throw new ValidationError(`unknown user "${request.user}": not in the rotation or the RBAC users`);
  const cannot = cannotBeOnCall(config, user);
  if (cannot) throw new ValidationError(cannot);
  const from = request.from ?? now;
  let to: Date;
  if (request.duration !== undefined) {
    if (request.to) throw new ValidationError('give a duration or an end time, not both');
    to = new Date(from.getTime() + parseDuration(request.duration));
  } else if (request.to) {
    to = request.to;
  } else {
    throw new ValidationError('an override needs a duration (e.g. 2h) or an end time');
  }
  const lengthMs = to.getTime() - from.getTime();
  const maxMs = parseDuration(config.oncall.max_override);
  if (!(lengthMs > 0)) throw new ValidationError('an override must last longer than 0');
  if (lengthMs > maxMs) throw new ValidationError(`an override may last at most ${config.oncall.max_override}`);
  if (to.getTime() <= now.getTime()) throw new ValidationError('that override would already be over');
  return {
    user,
    from: from.toISOString(),
    to: to.toISOString(),
    ...(request.reason ? { reason: request.reason } : {}),
    ...(request.by ? { by: request.by } : {}),
  };
}

/**
 * A new config with the override added (validated by createOverride) and the
 * overrides that are over by `now` dropped. The input config is not changed.
 */
export function applyOverride(config: OpsConfig, request: OverrideRequest, now: Date): { config: OpsConfig; override: OnCallOverride } {
  const override = createOverride(request, config, now);
  const zone = config.oncall.rotation.timezone;
  const live = config.oncall.overrides.filter((o) => parseInstant(o.to, zone).getTime() > now.getTime());
  return { config: { ...config, oncall: { ...config.oncall, overrides: [...live, override] } }, override };
}
