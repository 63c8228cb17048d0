import fs from 'node:fs';
import path from 'node:path';
import { DateTime } from 'luxon';
import { listen, type RunningServer } from '../../lib/http';

/**
 * A local Grafana OnCall HTTP API v1, as its public reference documents it:
 * `Authorization: <token>` (the bare token), DRF error bodies
 * (`{"detail": "Invalid token."}` 401, `{"detail": "You do not have
 * permission to perform this action."}` 403, 429 with `Retry-After` and
 * `{"detail": "Request was throttled. Expected available in N seconds."}`),
 * lists paginated `{count, next, previous, results, page_size,
 * current_page_number, total_pages}` with absolute `next` links, and
 * `GET /api/v1/schedules/<id>/final_shifts/?start_date&end_date`: who Grafana
 * says is on call, from the shifts with overrides on top. That last one is
 * the source's answer the importer's result is compared with.
 */

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'grafana-oncall');
type Json = Record<string, unknown>;

export interface GrafanaOnCallFake {
  url: string;
  token: string;
  /** The next `n` requests to `path` answer 429 with Retry-After: `seconds`. */
  throttle(pathname: string, n: number, seconds?: number): void;
  /** Requests served, by pathname (429s included). */
  hits: Map<string, number>;
  throttled: number;
  fixtures: Record<string, Json[]>;
  close(): Promise<void>;
}

const LISTS = ['users', 'schedules', 'on_call_shifts', 'escalation_chains', 'escalation_policies', 'integrations', 'routes'] as const;

export async function startGrafanaOnCallFake(options: { token?: string; readOnlyToken?: string; pageSize?: number } = {}): Promise<GrafanaOnCallFake> {
  const token = options.token ?? 'grafana-oncall-test-token';
  const pageSize = options.pageSize ?? 2;
  const fixtures = Object.fromEntries(LISTS.map((name) => [name, JSON.parse(fs.readFileSync(path.join(FIXTURES, `${name}.json`), 'utf8')) as Json[]]));
  const throttles = new Map<string, { n: number; seconds: number }>();
  const hits = new Map<string, number>();
  let throttled = 0;
  const ref: { server?: RunningServer } = {};

  const send = (res: import('node:http').ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };

  const server = await listen((req, res) => {
    const url = new URL(req.url ?? '/', ref.server!.url);
    hits.set(url.pathname, (hits.get(url.pathname) ?? 0) + 1);
    if (req.method !== 'GET') return send(res, 405, { detail: `Method "${req.method}" not allowed.` });
    const auth = req.headers.authorization;
    if (!auth) return send(res, 401, { detail: 'Authentication credentials were not provided.' });
    if (auth !== token && auth !== options.readOnlyToken) return send(res, 401, { detail: 'Invalid token.' });
    const t = throttles.get(url.pathname);
    if (t && t.n > 0) {
      t.n -= 1;
      throttled += 1;
      return send(res, 429, { detail: `Request was throttled. Expected available in ${t.seconds} seconds.` }, { 'Retry-After': String(t.seconds) });
    }
    const m = /^\/api\/v1\/([a-z_]+)\/$/.exec(url.pathname);
    if (m && (LISTS as readonly string[]).includes(m[1]!)) {
      // A read-only token here is one without the rights to read escalation set-ups.
      if (auth === options.readOnlyToken && m[1]!.startsWith('escalation')) return send(res, 403, { detail: 'You do not have permission to perform this action.' });
      const all = fixtures[m[1]!]!;
      const pageNo = Number(url.searchParams.get('page') ?? '1');
      if (!Number.isInteger(pageNo) || pageNo < 1 || (pageNo - 1) * pageSize >= Math.max(all.length, 1)) return send(res, 404, { detail: 'Invalid page.' });
      const link = (p: number) => `${ref.server!.url}/api/v1/${m[1]}/?page=${p}`;
      const totalPages = Math.max(1, Math.ceil(all.length / pageSize));
      return send(res, 200, {
        count: all.length,
        next: pageNo < totalPages ? link(pageNo + 1) : null,
        previous: pageNo > 1 ? link(pageNo - 1) : null,
        results: all.slice((pageNo - 1) * pageSize, pageNo * pageSize),
        page_size: pageSize,
        current_page_number: pageNo,
        total_pages: totalPages,
      });
    }
    const fs_ = /^\/api\/v1\/schedules\/([A-Z0-9]+)\/final_shifts\/$/.exec(url.pathname);
    if (fs_) {
      const schedule = fixtures.schedules!.find((s) => s.id === fs_[1]);
      if (!schedule) return send(res, 404, { detail: 'Not found.' });
      const start = DateTime.fromISO(url.searchParams.get('start_date') ?? '', { zone: 'UTC' });
      const end = DateTime.fromISO(url.searchParams.get('end_date') ?? '', { zone: 'UTC' });
      if (!start.isValid || !end.isValid) return send(res, 400, { start_date: ['Date has wrong format. Use one of these formats instead: YYYY-MM-DD.'] });
      return send(res, 200, { count: 0, next: null, previous: null, results: finalShifts(fixtures, schedule, start.toMillis(), end.plus({ days: 1 }).toMillis()) });
    }
    return send(res, 404, { detail: 'Not found.' });
  }, 0);
  ref.server = server;

  return {
    url: server.url,
    token,
    throttle: (p, n, seconds = 1) => throttles.set(p, { n, seconds }),
    hits,
    get throttled() {
      return throttled;
    },
    fixtures,
    close: () => server.close(),
  };
}

interface Segment {
  from: number;
  to: number;
  user: string;
}

/**
 * Grafana's final schedule for [from, to): each rolling_users rotation's
 * occurrences (recurring at the same wall-clock time in its zone, the user
 * group advancing by one each occurrence) with overrides on top. Written from
 * Grafana's documented semantics, independently of the importer.
 */
function finalShifts(fixtures: Record<string, Json[]>, schedule: Json, from: number, to: number) {
  const shifts = fixtures.on_call_shifts!.filter((s) => (schedule.shifts as string[]).includes(s.id as string));
  const segments: Segment[] = [];
  for (const s of shifts.filter((x) => x.type === 'rolling_users')) {
    const zone = (s.time_zone as string | null) ?? (schedule.time_zone as string) ?? 'UTC';
    const first = DateTime.fromISO(s.start as string, { zone });
    const groups = s.rolling_users as string[][];
    const step = s.frequency === 'weekly' ? { weeks: (s.interval as number) ?? 1 } : { days: (s.interval as number) ?? 1 };
    const startIndex = (s.start_rotation_from_user_index as number | null) ?? 0;
    for (let k = 0; k < 10_000; k++) {
      const occ = first.plus({ weeks: (step.weeks ?? 0) * k, days: (step.days ?? 0) * k });
      if (occ.toMillis() >= to) break;
      const next = first.plus({ weeks: (step.weeks ?? 0) * (k + 1), days: (step.days ?? 0) * (k + 1) });
      if (next.toMillis() <= from) continue;
      segments.push({ from: occ.toMillis(), to: next.toMillis(), user: groups[(k + startIndex) % groups.length]![0]! });
    }
  }
  for (const o of shifts.filter((x) => x.type === 'override')) {
    const zone = (o.time_zone as string | null) ?? 'UTC';
    const oFrom = DateTime.fromISO(o.start as string, { zone }).toMillis();
    const oTo = oFrom + (o.duration as number) * 1000;
    const carved: Segment[] = [];
    for (const seg of segments) {
      if (seg.to <= oFrom || seg.from >= oTo) carved.push(seg);
      else {
        if (seg.from < oFrom) carved.push({ ...seg, to: oFrom });
        if (seg.to > oTo) carved.push({ ...seg, from: oTo });
      }
    }
    carved.push({ from: oFrom, to: oTo, user: (o.users as string[])[0]! });
    segments.splice(0, segments.length, ...carved);
  }
  const users = new Map(fixtures.users!.map((u) => [u.id as string, u]));
  return segments
    .sort((a, b) => a.from - b.from)
    .map((seg) => ({
      user_pk: seg.user,
      user_email: users.get(seg.user)?.email,
      user_username: users.get(seg.user)?.username,
      shift_start: new Date(seg.from).toISOString().replace('.000Z', 'Z'),
      shift_end: new Date(seg.to).toISOString().replace('.000Z', 'Z'),
    }));
}
