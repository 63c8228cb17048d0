import { DateTime } from 'luxon';
import { ConfigError } from '../../lib/errors';
import { loadOpsConfig, parseOpsConfig } from '../../lib/ops-config';
import {
  businessDayEnd,
  isBusinessDay,
  isWithinBusinessHours,
  nextBusinessDayDeadline,
  nextBusinessDayStart,
} from '../../bot/oncall/business-hours';

const london = loadOpsConfig(); // Europe/London, mon-fri 09:00-17:00, UK holidays
const at = (iso: string) => new Date(iso);
const next = (iso: string, config = london) => nextBusinessDayStart(at(iso), config).toISOString();

function withHours(yaml: string) {
  return parseOpsConfig(`business_hours:\n${yaml}`);
}

describe('nextBusinessDayStart (Europe/London)', () => {
  it.each([
    ['before opening on a Monday: the same morning', '2025-03-24T08:00:00Z', '2025-03-24T09:00:00.000Z'],
    ['during Monday: Tuesday', '2025-03-24T10:00:00Z', '2025-03-25T09:00:00.000Z'],
    ['at opening exactly: the next day (strictly after)', '2025-03-24T09:00:00Z', '2025-03-25T09:00:00.000Z'],
    ['Friday evening into BST: Monday 09:00 BST = 08:00Z', '2025-03-28T18:00:00Z', '2025-03-31T08:00:00.000Z'],
    ['Saturday night during the spring-forward: Monday 08:00Z', '2025-03-30T00:30:00Z', '2025-03-31T08:00:00.000Z'],
    ['Friday in BST into GMT: Monday 09:00Z', '2025-10-24T11:00:00Z', '2025-10-27T09:00:00.000Z'],
    ['Christmas Eve: past the two holidays and the weekend', '2025-12-24T12:00:00Z', '2025-12-29T09:00:00.000Z'],
    ['New Year’s Eve evening: past New Year’s Day', '2025-12-31T20:00:00Z', '2026-01-02T09:00:00.000Z'],
    ['late Sunday in UTC, already Monday in London', '2025-06-08T23:30:00Z', '2025-06-09T08:00:00.000Z'],
  ])('%s', (_what, from, expected) => {
    expect(next(from)).toBe(expected);
  });
});

describe('other zones, weeks and DST edges', () => {
  const newYork = withHours('  timezone: America/New_York\n  days: [sun, mon, tue, wed, thu]\n  start: "08:30"\n  end: "16:30"\n  holidays: [2025-07-04]\n');

  it('honours the configured days: a Sunday-to-Thursday week', () => {
    // Thursday 2025-07-03 17:00 EDT → the next day is Friday 4th: not a business day (and a holiday); Sunday 6th 08:30 EDT.
    expect(next('2025-07-03T21:00:00Z', newYork)).toBe('2025-07-06T12:30:00.000Z');
    expect(isBusinessDay(DateTime.fromISO('2025-07-06', { zone: 'America/New_York' }), newYork)).toBe(true);
    expect(isBusinessDay(DateTime.fromISO('2025-07-05', { zone: 'America/New_York' }), newYork)).toBe(false);
  });

  it('keeps the wall-clock start across the US DST changes', () => {
    // Before the spring change EST (-5), after it EDT (-4).
    expect(next('2025-03-06T22:00:00Z', newYork)).toBe('2025-03-09T12:30:00.000Z'); // Thu evening EST → Sun 08:30 EDT
    expect(next('2025-10-30T22:00:00Z', newYork)).toBe('2025-11-02T13:30:00.000Z'); // Thu evening EDT → Sun 08:30 EST
  });

  it('moves a start inside the spring-forward gap to after it', () => {
    const gap = withHours('  timezone: America/New_York\n  days: [sun]\n  start: "02:30"\n  end: "10:00"\n');
    // 2025-03-09 02:30 does not exist in New York; luxon moves it forward to 03:30 EDT = 07:30Z.
    expect(next('2025-03-08T12:00:00Z', gap)).toBe('2025-03-09T07:30:00.000Z');
  });

  it('takes the first of the two 01:30s on the fall-back night', () => {
    const twice = withHours('  timezone: America/New_York\n  days: [sun]\n  start: "01:30"\n  end: "10:00"\n');
    expect(next('2025-11-01T12:00:00Z', twice)).toBe('2025-11-02T05:30:00.000Z'); // 01:30 EDT, not 01:30 EST (06:30Z)
  });

  it('works in a zone with a half-hour offset and no DST', () => {
    const kolkata = withHours('  timezone: Asia/Kolkata\n  days: [mon, tue, wed, thu, fri]\n  start: "10:00"\n  end: "18:00"\n');
    expect(next('2025-03-28T13:00:00Z', kolkata)).toBe('2025-03-31T04:30:00.000Z');
  });

  it('gives up with a ConfigError rather than loop when no day can qualify', () => {
    const holidays = Array.from({ length: 130 }, (_, i) => DateTime.fromISO('2025-01-06').plus({ weeks: i }).toISODate());
    const never = withHours(`  timezone: UTC\n  days: [mon]\n  start: "09:00"\n  end: "17:00"\n  holidays: [${holidays.join(', ')}]\n`);
    expect(() => nextBusinessDayStart(at('2025-01-01T00:00:00Z'), never)).toThrow(ConfigError);
  });
});

describe('hours and deadlines', () => {
  it('knows when it is inside business hours', () => {
    expect(isWithinBusinessHours(at('2025-07-01T08:00:00Z'), london)).toBe(true); // 09:00 BST
    expect(isWithinBusinessHours(at('2025-07-01T07:59:59Z'), london)).toBe(false);
    expect(isWithinBusinessHours(at('2025-07-01T16:00:00Z'), london)).toBe(false); // 17:00 BST: closed
    expect(isWithinBusinessHours(at('2025-07-05T10:00:00Z'), london)).toBe(false); // Saturday
    expect(isWithinBusinessHours(at('2025-12-25T10:00:00Z'), london)).toBe(false); // holiday
  });

  it('ends the day at the configured end, and the deadline is the end of the next business day', () => {
    expect(businessDayEnd(at('2025-03-31T08:00:00Z'), london).toISOString()).toBe('2025-03-31T16:00:00.000Z');
    expect(nextBusinessDayDeadline(at('2025-03-28T18:00:00Z'), london).toISOString()).toBe('2025-03-31T16:00:00.000Z');
    expect(nextBusinessDayDeadline(at('2025-03-24T08:00:00Z'), london).toISOString()).toBe('2025-03-24T17:00:00.000Z');
  });
});
