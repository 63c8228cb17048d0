import { DateTime, type DurationLikeObject } from 'luxon';

/**
 * Who a source's own schedule puts on call at `t`, as Opsgenie and PagerDuty
 * document it: turns of a fixed calendar length from the rotation's start,
 * handed over at the same wall-clock time in the schedule's zone, the
 * participants in order, overrides on top. Used by the fakes' "who is on
 * call" endpoints, written apart from the importers it checks.
 */
export function onCallAt(
  rotation: { start: string; zone: string; turn: DurationLikeObject; members: string[] },
  overrides: Array<{ start: string; end: string; user: string }>,
  t: number,
): string {
  for (const o of overrides) if (Date.parse(o.start) <= t && t < Date.parse(o.end)) return o.user;
  const first = DateTime.fromISO(rotation.start, { zone: rotation.zone });
  const turnAt = (k: number) => first.plus(Object.fromEntries(Object.entries(rotation.turn).map(([unit, n]) => [unit, (n as number) * k]))).toMillis();
  let k = 0;
  while (turnAt(k + 1) <= t && k < 100_000) k++;
  while (turnAt(k) > t && k > -100_000) k--;
  const n = rotation.members.length;
  return rotation.members[((k % n) + n) % n]!;
}
