import fs from 'node:fs';
import path from 'node:path';
import type { ServerResponse } from 'node:http';
import { listen } from '../../lib/http';
import { onCallAt } from './rotation-truth';

/**
 * A local PagerDuty REST API v2, as its reference documents it:
 * `Authorization: Token token=<key>`, classic pagination `{limit, offset,
 * more, total}`, 401 `{"error": {"message": "Invalid Credentials", "code":
 * 2006}}`, 403 `{"error": {"message": "Access Denied", "code": 2010}}`, 429
 * `{"error": {"message": "Rate Limit Exceeded", "code": 2020}}` with
 * `ratelimit-reset` (seconds). `GET /schedules/<id>?since&until` renders the
 * final schedule (`final_schedule.rendered_schedule_entries`): PagerDuty's
 * own answer, which the import is compared with.
 */
const FIXTURES = path.join(__dirname, '..', 'fixtures', 'pagerduty');
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export async function startPagerDutyFake(options: { token?: string; readOnlyToken?: string; pageSize?: number } = {}) {
  const token = options.token ?? 'pagerduty-test-token';
  const pageSize = options.pageSize ?? 2;
  const load = (n: string) => JSON.parse(fs.readFileSync(path.join(FIXTURES, `${n}.json`), 'utf8')) as Json[];
  const fixtures = { users: load('users'), schedules: load('schedules'), escalation_policies: load('escalation_policies'), services: load('services') };
  const throttles = new Map<string, number>();
  let throttled = 0;
  const ref: { url?: string } = {};
  const send = (res: ServerResponse, status: number, body: Json, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  const strip = (s: Json) => Object.fromEntries(Object.entries(s).filter(([k]) => k !== 'overrides'));

  const server = await listen((req, res) => {
    const url = new URL(req.url ?? '/', ref.url);
    const auth = req.headers.authorization ?? '';
    if (auth !== `Token token=${token}` && auth !== `Token token=${options.readOnlyToken}`) return send(res, 401, { error: { message: 'Invalid Credentials', code: 2006 } });
    if ((throttles.get(url.pathname) ?? 0) > 0) {
      throttles.set(url.pathname, throttles.get(url.pathname)! - 1);
      throttled += 1;
      return send(res, 429, { error: { message: 'Rate Limit Exceeded', code: 2020 } }, { 'ratelimit-limit': '960', 'ratelimit-remaining': '0', 'ratelimit-reset': '1' });
    }
    if (auth === `Token token=${options.readOnlyToken}` && url.pathname === '/escalation_policies') return send(res, 403, { error: { message: 'Access Denied', code: 2010, errors: ['Access Denied'] } });
    const list = (key: string, items: Json[]) => {
      const limit = Math.min(Number(url.searchParams.get('limit') ?? '25'), pageSize);
      const offset = Number(url.searchParams.get('offset') ?? '0');
      return send(res, 200, { [key]: items.slice(offset, offset + limit), limit, offset, more: offset + limit < items.length, total: null });
    };
    if (url.pathname === '/users') return list('users', fixtures.users);
    if (url.pathname === '/schedules') return list('schedules', fixtures.schedules.map((s) => ({ ...strip(s), schedule_layers: undefined })));
    if (url.pathname === '/escalation_policies') return list('escalation_policies', fixtures.escalation_policies);
    if (url.pathname === '/services') return list('services', fixtures.services);
    const m = /^\/schedules\/([A-Z0-9]+)(\/overrides)?$/.exec(url.pathname);
    const schedule = m && fixtures.schedules.find((s) => s.id === m[1]);
    if (!m || !schedule) return send(res, 404, { error: { message: 'Not Found', code: 2100 } });
    const since = Date.parse(url.searchParams.get('since') ?? '');
    const until = Date.parse(url.searchParams.get('until') ?? '');
    if (m[2]) {
      if (Number.isNaN(since) || Number.isNaN(until)) return send(res, 400, { error: { message: 'Invalid Input Provided', code: 2001, errors: ['Since is required', 'Until is required'] } });
      return send(res, 200, { overrides: schedule.overrides.filter((o: Json) => Date.parse(o.end) > since && Date.parse(o.start) < until) });
    }
    const body: Json = { ...strip(schedule) };
    if (!Number.isNaN(since) && !Number.isNaN(until)) {
      const layer = schedule.schedule_layers[0];
      const turnS = layer.rotation_turn_length_seconds as number;
      const turn = turnS % 86_400 === 0 ? { days: turnS / 86_400 } : { hours: turnS / 3600 };
      const rota = { start: layer.rotation_virtual_start, zone: schedule.time_zone, turn, members: layer.users.map((u: Json) => u.user.id) };
      const overrides = schedule.overrides.map((o: Json) => ({ start: o.start, end: o.end, user: o.user.id }));
      if (until - since > 7 * 86_400_000) return send(res, 400, { error: { message: 'Invalid Input Provided', code: 2001, errors: ['range is limited to 7 days here'] } });
      // Handoffs and overrides here fall on whole minutes: render minute by minute, merging runs.
      const entries: Json[] = [];
      for (let t = since; t < until; t += 60_000) {
        const who = onCallAt(rota, overrides, t);
        const last = entries[entries.length - 1];
        if (last && last.user.id === who) last.end = new Date(Math.min(t + 60_000, until)).toISOString();
        else entries.push({ start: new Date(t).toISOString(), end: new Date(Math.min(t + 60_000, until)).toISOString(), user: { id: who, type: 'user_reference', summary: fixtures.users.find((u) => u.id === who)?.name } });
      }
      body.final_schedule = { name: 'Final Schedule', rendered_schedule_entries: entries };
    }
    return send(res, 200, { schedule: body });
  }, 0);
  ref.url = server.url;
  return {
    url: server.url,
    token,
    fixtures,
    throttle: (pathname: string, n: number) => throttles.set(pathname, n),
    get throttled() {
      return throttled;
    },
    close: () => server.close(),
  };
}
