import fs from 'node:fs';
import path from 'node:path';
import type { ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { listen } from '../../lib/http';
import { onCallAt } from './rotation-truth';

/**
 * A local Opsgenie REST API v2, as its reference documents it:
 * `Authorization: GenieKey <key>`, answers `{data, paging?, took, requestId}`,
 * `limit`/`offset` paging with `paging.next`, 401 `{"message": "Could not
 * authenticate"}`, 403 for a key without the rights (`{"message": "You are not
 * authorized to perform this action."}`), 429 with `X-RateLimit-State:
 * THROTTLED` and `X-RateLimit-Period-In-Sec`. `GET
 * /v2/schedules/<id>/on-calls?date=&flat=true` is Opsgenie's own answer of who
 * is on call, which the import is compared with.
 */
const FIXTURES = path.join(__dirname, '..', 'fixtures', 'opsgenie');
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export async function startOpsgenieFake(options: { key?: string; readOnlyKey?: string; pageSize?: number } = {}) {
  const key = options.key ?? 'opsgenie-test-key';
  const pageSize = options.pageSize ?? 2;
  const load = (n: string) => JSON.parse(fs.readFileSync(path.join(FIXTURES, `${n}.json`), 'utf8')) as Json[];
  const fixtures = { users: load('users'), teams: load('teams'), schedules: load('schedules'), escalations: load('escalations') };
  const throttles = new Map<string, number>();
  let throttled = 0;
  const ref: { url?: string } = {};

  const send = (res: ServerResponse, status: number, body: Json, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(JSON.stringify({ ...body, took: 0.01, requestId: randomUUID() }));
  };
  const strip = (s: Json) => Object.fromEntries(Object.entries(s).filter(([k]) => k !== 'rotations' && k !== 'overrides'));

  const server = await listen((req, res) => {
    const url = new URL(req.url ?? '/', ref.url);
    const auth = req.headers.authorization ?? '';
    if (auth !== `GenieKey ${key}` && auth !== `GenieKey ${options.readOnlyKey}`) return send(res, 401, { message: 'Could not authenticate' });
    if ((throttles.get(url.pathname) ?? 0) > 0) {
      throttles.set(url.pathname, throttles.get(url.pathname)! - 1);
      throttled += 1;
      return send(res, 429, { message: 'You are making too many requests! To avoid errors, we recommend you limit requests.' }, { 'X-RateLimit-State': 'THROTTLED', 'X-RateLimit-Reason': 'ACCOUNT', 'X-RateLimit-Period-In-Sec': '1' });
    }
    if (auth === `GenieKey ${options.readOnlyKey}` && url.pathname === '/v2/escalations') return send(res, 403, { message: 'You are not authorized to perform this action.' });
    const paged = (items: Json[], pathname: string) => {
      const limit = Math.min(Number(url.searchParams.get('limit') ?? '20'), pageSize);
      const offset = Number(url.searchParams.get('offset') ?? '0');
      const next = offset + limit < items.length ? `${ref.url}${pathname}?limit=${limit}&offset=${offset + limit}` : undefined;
      return send(res, 200, { data: items.slice(offset, offset + limit), totalCount: items.length, paging: { first: `${ref.url}${pathname}?limit=${limit}&offset=0`, ...(next ? { next } : {}) } });
    };
    if (url.pathname === '/v2/users') return paged(fixtures.users, url.pathname);
    if (url.pathname === '/v2/teams') return send(res, 200, { data: fixtures.teams });
    if (url.pathname === '/v2/schedules') return send(res, 200, { data: fixtures.schedules.map(strip), expandable: ['rotation'] });
    if (url.pathname === '/v2/escalations') return send(res, 200, { data: fixtures.escalations });
    const m = /^\/v2\/schedules\/([^/]+)\/(rotations|overrides|on-calls)$/.exec(url.pathname);
    const schedule = m && fixtures.schedules.find((s) => s.id === decodeURIComponent(m[1]!));
    if (!m || !schedule) return send(res, 404, { message: 'Schedule with identifier [...] does not exist' });
    if (m[2] === 'rotations') return send(res, 200, { data: schedule.rotations });
    if (m[2] === 'overrides') return send(res, 200, { data: schedule.overrides });
    const at = Date.parse(url.searchParams.get('date') ?? '');
    if (Number.isNaN(at)) return send(res, 422, { message: 'date is invalid' });
    const r = schedule.rotations[0];
    const unit = r.type === 'weekly' ? 'weeks' : r.type === 'daily' ? 'days' : 'hours';
    const who = onCallAt(
      { start: r.startDate, zone: schedule.timezone, turn: { [unit]: r.length }, members: r.participants.map((p: Json) => p.username) },
      schedule.overrides.map((o: Json) => ({ start: o.startDate, end: o.endDate, user: o.user.username })),
      at,
    );
    return send(res, 200, { data: { _parent: { id: schedule.id, name: schedule.name, enabled: schedule.enabled }, onCallRecipients: [who] } });
  }, 0);
  ref.url = server.url;
  return {
    url: server.url,
    key,
    fixtures,
    throttle: (pathname: string, n: number) => throttles.set(pathname, n),
    get throttled() {
      return throttled;
    },
    close: () => server.close(),
  };
}
