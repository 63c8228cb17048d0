/**
 * An external iCal calendar as a rotation's override source: served over real
 * HTTP, read and parsed with ical.js, stored as overrides in real Redis, and
 * seen by the rotation maths. Re-reading changes nothing; a removed event goes;
 * a broken calendar changes nothing.
 */
import http from 'node:http';
import { createExternalCalendarSync } from '../../bot/calendars/external-calendar';
import { createOverrideStore } from '../../bot/oncall/oncall-overrides';
import { whoIsOnCall } from '../../bot/oncall/oncall';
import { listen, type RunningServer } from '../../lib/http';
import { silentLogger } from '../../lib/logger';
import { parseOpsConfig } from '../../lib/ops-config';
import { closeRedis } from '../../lib/redis';
import { deletePrefix, testPrefix, testRedis } from '../helpers/redis';

const NOW = new Date('2026-03-25T12:00:00Z');
let body = '';
let server: RunningServer;
const redis = testRedis();
const prefix = testPrefix('ical-ext');

const ics = (events: string[]) =>
  ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//Shared//Team calendar//EN', ...events, 'END:VCALENDAR', ''].join('\r\n');
const CAROL = ['BEGIN:VEVENT', 'UID:swap-1@team', 'DTSTAMP:20260301T000000Z', 'DTSTART:20260327T080000Z', 'DTEND:20260327T200000Z', 'SUMMARY:carol covers (dentist)', 'END:VEVENT'].join('\r\n');
const BOB_WEEKLY = ['BEGIN:VEVENT', 'UID:bob-tuesdays@team', 'DTSTAMP:20260301T000000Z', 'DTSTART;TZID=Europe/London:20260303T180000', 'DTEND;TZID=Europe/London:20260303T220000', 'RRULE:FREQ=WEEKLY;COUNT=8', 'SUMMARY:On call: bob', 'END:VEVENT'].join('\r\n');
const NOBODY = ['BEGIN:VEVENT', 'UID:party@team', 'DTSTAMP:20260301T000000Z', 'DTSTART:20260326T160000Z', 'DTEND:20260326T180000Z', 'SUMMARY:Team drinks', 'END:VEVENT'].join('\r\n');

let config: ReturnType<typeof parseOpsConfig>;
beforeAll(async () => {
  server = await listen((_req: http.IncomingMessage, res: http.ServerResponse) => {
    res.writeHead(200, { 'Content-Type': 'text/calendar' });
    res.end(body);
  }, 0);
  config = parseOpsConfig(`
oncall:
  rotation:
    members: [alice, bob]
    start: 2025-01-06
    length: 1w
    handoff: "09:00"
    timezone: Europe/London
calendars:
  external:
    main:
      url: ${server.url}/team.ics
`);
});
afterAll(async () => {
  await server.close();
  await deletePrefix(redis, prefix);
  await closeRedis(redis);
});

describe('external calendar overrides', () => {
  const store = createOverrideStore({ redis, prefix });
  const sync = () => createExternalCalendarSync({ config, store, logger: silentLogger(), now: () => NOW }).sync('main');

  it('events naming a known user become overrides, recurring ones expanded in the calendar\'s zone; others are skipped', async () => {
    body = ics([CAROL, BOB_WEEKLY, NOBODY]);
    const first = await sync();
    expect(first.skipped).toEqual(['Team drinks']);
    const live = await store.live(NOW);
    expect(whoIsOnCall(new Date('2026-03-27T12:00:00Z'), config, live).primary).toBe('carol');
    // Tuesday 31 March 18:00 London is 17:00 UTC (BST): bob from then, not from 18:00 UTC.
    expect(whoIsOnCall(new Date('2026-03-31T17:30:00Z'), config, live).primary).toBe('bob');
    // COUNT=8 from 3 March: 24 March is over by NOW, 31 March to 21 April are still to come.
    expect(live.filter((o) => o.user === 'bob').map((o) => o.from)).toEqual([
      '2026-03-31T17:00:00.000Z',
      '2026-04-07T17:00:00.000Z',
      '2026-04-14T17:00:00.000Z',
      '2026-04-21T17:00:00.000Z',
    ]);
    const again = await sync();
    expect(again).toMatchObject({ stored: 0, pruned: 0 });
  });

  it('an event removed from the calendar goes away; a broken calendar changes nothing', async () => {
    body = ics([BOB_WEEKLY]);
    expect(await sync()).toMatchObject({ stored: 0, pruned: 1 });
    const before = await redis.zrange(store.key, 0, -1);
    body = 'this is not a calendar';
    await expect(sync()).rejects.toMatchObject({ code: 'E_VALIDATION_FAILED' });
    expect(await redis.zrange(store.key, 0, -1)).toEqual(before);
  });
});
