/**
 * GET /oncall/<rotation>.ics: the rotation as an RFC 5545 feed, parsed with
 * ical.js and compared with the rotation maths (whoIsOnCall), across the
 * March 2027 change to British Summer Time, with an override in it.
 */
import crypto from 'node:crypto';
import { DateTime } from 'luxon';
import { createOverrideStore } from '../../bot/oncall/oncall-overrides';
import { createOverride, whoIsOnCall } from '../../bot/oncall/oncall';
import { parseOpsConfig } from '../../lib/ops-config';
import { startBotHarness, type BotHarness } from '../helpers/bot-harness';

// ical.js is an ES module with a CommonJS build; jest runs CommonJS.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ICAL = require('ical.js') as typeof import('ical.js', { with: { 'resolution-mode': 'import' } }).default;

const TOKEN = 'calendar-feed-token-0123456789';
const config = parseOpsConfig(`
calendars:
  feed:
    token_sha256: ${crypto.createHash('sha256').update(TOKEN).digest('hex')}
    days_back: 2
    days_ahead: 200
oncall:
  rotation:
    members: [alice, bob]
    start: 2025-01-06
    length: 1w
    handoff: "09:00"
    timezone: Europe/London
  rotations:
    platform:
      members: [carol, bob, alice]
      start: 2026-11-01
      length: 1d
      handoff: "08:30"
      timezone: Europe/London
# carol is on the platform rotation, so she must be able to acknowledge.
rbac:
  roles:
    admin: { commands: ["*"], actions: ["*"] }
    responder: { commands: [help, oncall, ack, unack, resolve], actions: [] }
  users:
    alice: { role: admin, slack_id: U0ALICE }
    bob: { role: responder, slack_id: U0BOB }
    carol: { role: responder, slack_id: U0CAROL }
`);

describe('iCalendar feeds', () => {
  let h: BotHarness;
  beforeAll(async () => {
    h = await startBotHarness({ deps: { opsConfig: config, escalation: false } });
  });
  afterAll(() => h.close());

  async function feed(name: string, token = TOKEN) {
    return fetch(`${h.botUrl}/oncall/${name}.ics?token=${encodeURIComponent(token)}`);
  }

  function events(text: string) {
    const cal = new ICAL.Component(ICAL.parse(text));
    expect(cal.name).toBe('vcalendar');
    expect(cal.getFirstPropertyValue('version')).toBe('2.0');
    return cal.getAllSubcomponents('vevent').map((c) => {
      const e = new ICAL.Event(c);
      return { uid: e.uid, summary: e.summary, start: e.startDate.toJSDate(), end: e.endDate.toJSDate(), categories: c.getFirstPropertyValue('categories') };
    });
  }

  it('a named rotation parses with ical.js and matches the rotation, the hand-off staying 08:30 London time across DST', async () => {
    const res = await feed('platform');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/calendar/);
    const text = await res.text();
    expect(text.split('\r\n').every((l) => Buffer.byteLength(l) <= 75)).toBe(true);
    const list = events(text);
    expect(list.length).toBeGreaterThan(190);
    expect(new Set(list.map((e) => e.uid)).size).toBe(list.length);
    list.forEach((e, i) => {
      const mid = new Date((e.start.getTime() + e.end.getTime()) / 2);
      expect(e.summary).toBe(`On call (platform): ${whoIsOnCall(mid, config, [], 'platform').primary}`);
      expect(DateTime.fromJSDate(e.start, { zone: 'Europe/London' }).toFormat('HH:mm')).toBe('08:30');
      if (i > 0) expect(e.start.getTime()).toBe(list[i - 1]!.end.getTime());
    });
    const offsets = new Set(list.map((e) => DateTime.fromJSDate(e.start, { zone: 'Europe/London' }).offset));
    expect([...offsets].sort()).toEqual([0, 60]);
  });

  it('the main rotation carries overrides from /ops oncall override', async () => {
    // iCalendar times have whole seconds.
    const now = new Date(Math.floor(Date.now() / 1000) * 1000);
    const override = createOverride({ user: 'carol', from: new Date(now.getTime() + 3_600_000), duration: '6h', reason: 'swap' }, config, now);
    await createOverrideStore({ redis: h.redis, prefix: h.prefix }).add(override, now);
    const list = events(await (await feed('main')).text());
    const covered = list.filter((e) => e.categories === 'override');
    expect(covered).toEqual([expect.objectContaining({ summary: 'On call (main): carol', start: new Date(override.from), end: new Date(override.to) })]);
    for (const e of list) {
      const mid = new Date((e.start.getTime() + e.end.getTime()) / 2);
      expect(e.summary).toBe(`On call (main): ${whoIsOnCall(mid, config, [override]).primary}`);
    }
  });

  it('a wrong token or an unknown rotation is a 404 and says nothing more', async () => {
    expect((await feed('platform', 'wrong')).status).toBe(404);
    expect((await feed('nope')).status).toBe(404);
    expect((await fetch(`${h.botUrl}/oncall/platform.ics`)).status).toBe(404);
  });
});
