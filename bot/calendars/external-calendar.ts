import { DateTime, IANAZone } from 'luxon';
import { parseDuration } from '../../lib/duration';
import { CodedError, ErrorCode, ValidationError } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import { knownUsers, type OnCallOverride, type OpsConfig } from '../../lib/ops-config';
import type { OverrideStore } from '../oncall/oncall-overrides';

// ical.js ships an ES module and a CommonJS build; this package runs CommonJS.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ICAL = require('ical.js') as typeof import('ical.js', { with: { 'resolution-mode': 'import' } }).default;

/**
 * External iCal calendars as a rotation's override source (a shared team
 * calendar, as Grafana OnCall's override calendars): every event in the
 * window whose summary names a known user (`alice`, `On call: alice`) is an
 * override for that rotation, stored under `ical:<rotation>:<uid>:<start>` so
 * a re-read changes nothing, and events removed from the calendar are pruned.
 * A calendar that cannot be read or parsed changes nothing.
 */

const MAX_BYTES = 2_000_000;
const MAX_EVENTS = 2000;
const HORIZON_MS = 60 * 86_400_000;

export interface CalendarEvent {
  uid: string;
  summary: string;
  start: Date;
  end: Date;
}

/** Events (recurrences expanded) overlapping [from, to). Throws ValidationError on text that is not iCalendar. */
export function parseCalendarEvents(text: string, from: Date, to: Date): CalendarEvent[] {
  let root: InstanceType<typeof ICAL.Component>;
  try {
    root = new ICAL.Component(ICAL.parse(text));
  } catch (err) {
    throw new ValidationError(`not an iCalendar file: ${(err as Error).message}`);
  }
  if (root.name !== 'vcalendar') throw new ValidationError('not an iCalendar file: no VCALENDAR');
  const out: CalendarEvent[] = [];
  for (const vevent of root.getAllSubcomponents('vevent')) {
    const event = new ICAL.Event(vevent);
    if (!event.startDate || !event.endDate) continue;
    // A TZID names an IANA zone in every calendar we meet; luxon knows them all, with or without a VTIMEZONE.
    const tzid = vevent.getFirstProperty('dtstart')?.getParameter('tzid');
    const zone = typeof tzid === 'string' && IANAZone.isValidZone(tzid) ? tzid : undefined;
    const toDate = (t: InstanceType<typeof ICAL.Time>): Date =>
      zone && !t.isDate ? DateTime.fromObject({ year: t.year, month: t.month, day: t.day, hour: t.hour, minute: t.minute, second: t.second }, { zone }).toJSDate() : t.toJSDate();
    const lengthMs = toDate(event.endDate).getTime() - toDate(event.startDate).getTime();
    if (event.isRecurring()) {
      const it = event.iterator();
      // Walk from DTSTART (an old daily series takes thousands of steps), keep at most MAX_EVENTS.
      for (let i = 0, next = it.next(); next && i < 100_000 && out.length < MAX_EVENTS; i++, next = it.next()) {
        const start = toDate(next);
        if (start.getTime() >= to.getTime()) break;
        if (start.getTime() + lengthMs > from.getTime()) out.push({ uid: event.uid, summary: event.summary ?? '', start, end: new Date(start.getTime() + lengthMs) });
      }
    } else {
      const start = toDate(event.startDate);
      if (start.getTime() < to.getTime() && start.getTime() + lengthMs > from.getTime()) out.push({ uid: event.uid, summary: event.summary ?? '', start, end: new Date(start.getTime() + lengthMs) });
    }
    if (out.length >= MAX_EVENTS) break;
  }
  return out;
}

/** The first word of the summary that is a user the config knows. */
function userIn(summary: string, users: Set<string>): string | undefined {
  return summary
    .split(/[^A-Za-z0-9._-]+/)
    .map((w) => w.replace(/^@/, ''))
    .find((w) => users.has(w));
}

export function createExternalCalendarSync(options: { config: OpsConfig; store: OverrideStore; logger: Logger; now?: () => Date }) {
  const { config, store, logger } = options;
  const now = options.now ?? (() => new Date());
  const timers: NodeJS.Timeout[] = [];
  const users = knownUsers(config);

  async function read(url: string): Promise<string> {
    let res: Response;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(15_000), redirect: 'follow', headers: { Accept: 'text/calendar' } });
    } catch (err) {
      throw new CodedError(ErrorCode.BackendUnavailable, `calendar ${new URL(url).host}: ${(err as Error).message}`);
    }
    if (!res.ok) throw new CodedError(ErrorCode.BackendUnavailable, `calendar ${new URL(url).host} answered ${res.status}`);
    const text = await res.text();
    if (Buffer.byteLength(text) > MAX_BYTES) throw new ValidationError(`calendar ${new URL(url).host} is larger than ${MAX_BYTES} bytes`);
    return text;
  }

  /** Reads one rotation's calendar and brings its overrides in Redis in line with it. */
  async function sync(rotation: string): Promise<{ stored: number; pruned: number; skipped: string[] }> {
    const source = config.calendars.external[rotation];
    if (!source) throw new ValidationError(`no external calendar for rotation "${rotation}"`);
    const at = now();
    const events = parseCalendarEvents(await read(source.url), at, new Date(at.getTime() + HORIZON_MS));
    const prefix = `ical:${rotation}:`;
    const keep = new Set<string>();
    const skipped: string[] = [];
    let stored = 0;
    for (const e of events) {
      const user = userIn(e.summary, users);
      if (!user) {
        skipped.push(e.summary);
        continue;
      }
      const id = `${prefix}${e.uid}:${e.start.getTime()}`;
      const override: OnCallOverride = {
        user,
        from: e.start.toISOString(),
        to: e.end.toISOString(),
        reason: `calendar: ${e.summary}`.slice(0, 200),
        ...(rotation === 'main' ? {} : { rotation }),
      };
      keep.add(id);
      const result = await store.put(id, override, at);
      if (result === 'added' || result === 'updated') stored += 1;
    }
    const pruned = await store.prune(prefix, keep);
    if (skipped.length) logger.warn({ rotation, skipped: skipped.slice(0, 10) }, 'calendar events naming no known user were skipped');
    return { stored, pruned, skipped };
  }

  function start(): void {
    for (const [rotation, source] of Object.entries(config.calendars.external)) {
      const run = () => void sync(rotation).catch((err: unknown) => logger.warn({ err, rotation }, 'external calendar sync failed; overrides unchanged'));
      run();
      timers.push(setInterval(run, Math.max(60_000, parseDuration(source.refresh))));
    }
  }

  function stop(): void {
    for (const t of timers.splice(0)) clearInterval(t);
  }

  return { sync, start, stop };
}
