import { DateTime } from 'luxon';
import { ConfigError } from '../../lib/errors';
import { WEEKDAYS, type OpsConfig } from '../../lib/ops-config';

/**
 * Business hours: what "next business day" means for P4 response times and the
 * `next_business_day` escalation delay. All wall-clock math is done in the
 * configured IANA zone with luxon, so a DST change never moves 09:00.
 */

/** How far ahead we look for a business day before calling the config broken (holidays cover everything). */
const MAX_DAYS_AHEAD = 800;

function localDay(at: Date, config: OpsConfig): DateTime {
  return DateTime.fromJSDate(at, { zone: config.business_hours.timezone }).startOf('day');
}

function atTime(day: DateTime, hhmm: string): DateTime {
  const [hour, minute] = hhmm.split(':').map(Number);
  return wallClock(day, hour!, minute!);
}

/**
 * A wall-clock time on a calendar day in the day's zone. A time inside a DST
 * gap moves forward past it; a time that happens twice (fall back) is the
 * first of the two, so a day never starts an hour late.
 */
export function wallClock(day: DateTime, hour: number, minute: number): DateTime {
  const dt = DateTime.fromObject({ year: day.year, month: day.month, day: day.day, hour, minute }, { zone: day.zone });
  const candidates = dt.getPossibleOffsets();
  return candidates.length > 1 ? candidates.reduce((a, b) => (b.toMillis() < a.toMillis() ? b : a)) : dt;
}

/** Is this calendar day (in the business-hours zone) a working day: a listed weekday and no holiday? */
export function isBusinessDay(day: DateTime, config: OpsConfig): boolean {
  const bh = config.business_hours;
  const weekday = WEEKDAYS[day.weekday - 1]!;
  return bh.days.includes(weekday) && !bh.holidays.includes(day.toISODate() ?? '');
}

/** True when `at` falls inside business hours: a business day, start ≤ local time < end. */
export function isWithinBusinessHours(at: Date, config: OpsConfig): boolean {
  const day = localDay(at, config);
  if (!isBusinessDay(day, config)) return false;
  const t = at.getTime();
  return atTime(day, config.business_hours.start).toMillis() <= t && t < atTime(day, config.business_hours.end).toMillis();
}

/**
 * The next moment a business day begins, strictly after `from`: before 09:00 on
 * a working Monday that is Monday 09:00; during or after Friday's hours it is
 * Monday 09:00 (or later, past holidays).
 */
export function nextBusinessDayStart(from: Date, config: OpsConfig): Date {
  let day = localDay(from, config);
  for (let i = 0; i < MAX_DAYS_AHEAD; i++, day = day.plus({ days: 1 })) {
    if (!isBusinessDay(day, config)) continue;
    const start = atTime(day, config.business_hours.start);
    if (start.toMillis() > from.getTime()) return start.toJSDate();
  }
  throw new ConfigError(`business_hours: no business day in the ${MAX_DAYS_AHEAD} days after ${from.toISOString()}`);
}

/** The end of the business day that contains (or starts at) `dayStart`. */
export function businessDayEnd(dayStart: Date, config: OpsConfig): Date {
  return atTime(localDay(dayStart, config), config.business_hours.end).toJSDate();
}

/** "Next business day" as a deadline: the end of the business day that starts next after `from`. */
export function nextBusinessDayDeadline(from: Date, config: OpsConfig): Date {
  return businessDayEnd(nextBusinessDayStart(from, config), config);
}
