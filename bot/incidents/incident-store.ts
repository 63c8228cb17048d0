import crypto from 'node:crypto';
import type { Redis } from 'ioredis';
import type { AlertmanagerWebhook } from '../alerts/alertmanager-payload';
import { wellFormedDeep } from '../../lib/slack-text';
import { redisScript } from '../../lib/redis-script';

export type IncidentState = 'triggered' | 'acknowledged' | 'snoozed' | 'resolved';
export type Priority = 'P1' | 'P2' | 'P3' | 'P4';

export interface Incident {
  id: string;
  receiver: string;
  groupKey: string;
  state: IncidentState;
  priority: Priority;
  /** Which rule decided the priority, shown in the thread. */
  priorityRule: string;
  title: string;
  summary: string;
  labels: Record<string, string>;
  /**
   * Alertmanager's group labels (the route's `group_by` values): what selects every alert of this
   * incident. Unset on incidents recorded before they were kept.
   */
  groupLabels?: Record<string, string>;
  generatorURL: string;
  runbookUrl: string;
  externalURL: string;
  /** A Grafana dashboard or explore link, when the alert or the config gives one. */
  grafanaUrl?: string;
  firing: number;
  resolved: number;
  version: number;
  createdAt: string;
  updatedAt: string;
  resolvedAt?: string;
  owner?: string;
  /** Escalation policy chosen by routing. */
  policy: string;
  /** Channel name routing chose (the root is posted there). */
  route: string;
  acknowledgedAt?: string;
  snoozedUntil?: string;
  /** Alertmanager silence that backs a snooze. */
  silenceId?: string;
  /** The steps after opening (escalation start) have run; until then every delivery re-runs them. */
  openHandled?: boolean;
  /** Slack channel id and root message ts, once posted. */
  channel?: string;
  rootTs?: string;
}

export interface IngestResult {
  /** Empty when the notification only resolves alerts of an episode we never opened. */
  incidentId: string;
  created: boolean;
  /** Something a person would see changed (an alert's status, the incident state). */
  changed: boolean;
  /** The incident became resolved with this notification. */
  resolvedNow: boolean;
  /** Alerts whose status changed, for the thread reply. */
  transitions: Array<{ fingerprint: string; alertname: string; status: 'firing' | 'resolved' }>;
  /**
   * The incident after this notification (read in the same atomic step); unset when incidentId is empty, and for
   * a quiet repeat (see `quiet`).
   */
  incident?: Incident;
  /** Set instead of `incident` for a repeat that changed nothing and owes no reply: whether its root is in Slack. */
  quiet?: { rootPosted: boolean };
  /**
   * Thread replies owed for alert changes, oldest first: this notification's, and any an earlier delivery
   * recorded but never saw queued (the bot died in between). Unset when none is owed. `incidentId` is the
   * incident they belong to: the one above, or, for a notification that finds no open incident (a retried
   * resolve), the incident its alerts last belonged to.
   */
  owed?: { incidentId: string; replies: OwedReply[] };
}

/** One batch of alert changes whose thread reply is owed until the outbox has it (`clearReplies`). */
export interface OwedReply {
  /** Per incident, from 1: the outbox dedupe id is built from it, so queuing a batch twice posts it once. */
  seq: number;
  /** The first REPLY_TRANSITIONS_KEPT changes; `total` says how many there were. */
  transitions: IngestResult['transitions'];
  total: number;
  /** The batch resolved the incident. */
  resolvedNow: boolean;
  /** Changes of older batches dropped past REPLIES_OWED_MAX, summed up here (they are on the timeline). */
  earlier: number;
}

/** What the intake decides when a notification opens an incident. */
export type NewIncidentMeta = Pick<
  Incident,
  'priority' | 'priorityRule' | 'policy' | 'route' | 'title' | 'summary' | 'labels' | 'generatorURL' | 'runbookUrl' | 'externalURL' | 'grafanaUrl'
>;

/*
 * One Lua script does the whole ingest so that concurrent deliveries of the same
 * notification (retries, Alertmanager HA peers, two bot replicas) serialise in
 * Redis: one of them creates the incident, the others see it.
 *
 * Redis does not roll a script back when it fails half-way, so every decode and
 * check runs before the first write: a script that errors has changed nothing.
 *
 * The group remembers what it saw of each alert (`seenKey`: fingerprint ->
 * "status|startsAt ms|incident"), across episodes, because Alertmanager HA peers
 * and retries reorder notifications: a firing re-sent after its resolve (same
 * startsAt) must not open a new incident, and a resolve that overtook its firing
 * must keep that firing from opening one nothing would close. A genuinely new
 * firing has a later startsAt. Counts are kept incrementally, so an ingest costs
 * what its notification carries, not what the group ever saw.
 */
const INGEST_LUA = `
local openKey, seqKey, openSet, allZset, seenKey, openings, owing = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local prefix, now, nowMs = ARGV[1], ARGV[2], tonumber(ARGV[3])
local openingLeaseMs = tonumber(ARGV[10])
local replyKept, repliesMax = tonumber(ARGV[11]), tonumber(ARGV[12])
local seenTtl, seenMax, seenKeepMs = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local groupLabels = ARGV[9]
local okMeta, meta = pcall(cjson.decode, ARGV[4])
local okAlerts, alerts = pcall(cjson.decode, ARGV[5])
if not okMeta or not okAlerts or type(meta) ~= 'table' or type(alerts) ~= 'table' then
  return redis.error_reply('BADINPUT ingest arguments are not valid JSON')
end
for _, a in ipairs(alerts) do
  if type(a.fp) ~= 'string' or type(a.json) ~= 'string' or type(a.sa) ~= 'number' or (a.status ~= 'firing' and a.status ~= 'resolved') then
    return redis.error_reply('BADINPUT malformed alert')
  end
end
-- Read phase: nothing below writes until every alert is judged.
local id = redis.call('GET', openKey)
local k = id and (prefix .. id) or nil
local firing, resolved = 0, 0
if id then
  firing = tonumber(redis.call('HGET', k, 'firing') or '0') or 0
  resolved = tonumber(redis.call('HGET', k, 'resolved') or '0') or 0
end
local fresh = {}
local anyFiring = false
-- The incident the alerts last belonged to: a retried resolve finds no open incident, but may find its reply owed.
local lastInc = ''
for _, a in ipairs(alerts) do
  local st, sa, inc
  local p = redis.call('HGET', seenKey, a.fp)
  if p then
    st, sa, inc = string.match(p, '^(%a+)|(%-?%d+)|(.*)$')
    sa = tonumber(sa)
    if lastInc == '' and inc and inc ~= '' then lastInc = inc end
  end
  local stale = false
  if st == 'resolved' and a.status == 'firing' and sa and a.sa <= sa then stale = true end
  if st == 'firing' and a.status == 'resolved' and sa and a.sa < sa then stale = true end
  if not stale then
    local old = nil
    if id and inc == id then old = st end
    if id and not p then
      -- An alert recorded before the group kept its memory: read its stored status.
      local raw = redis.call('HGET', k .. ':alerts', a.fp)
      if raw then
        local ok, rec = pcall(cjson.decode, raw)
        if ok and type(rec) == 'table' then old = rec.status end
      end
    end
    table.insert(fresh, {a = a, old = old})
    if a.status == 'firing' then anyFiring = true end
  end
end
if not id and not anyFiring then
  -- Nothing to open. Resolves are remembered, so their late firing opens nothing.
  for _, f in ipairs(fresh) do
    redis.call('HSET', seenKey, f.a.fp, f.a.status .. '|' .. string.format('%d', f.a.sa) .. '|')
  end
  if #fresh > 0 then redis.call('EXPIRE', seenKey, seenTtl) end
  local owed = {}
  if lastInc ~= '' then owed = redis.call('HGETALL', prefix .. lastInc .. ':replies-owed') end
  return {'', 0, 0, 0, '[]', {}, lastInc, owed}
end
-- Write phase.
local created = 0
if not id then
  id = 'INC-' .. redis.call('INCR', seqKey)
  k = prefix .. id
  redis.call('SET', openKey, id)
  redis.call('HSET', k, 'id', id, 'state', 'triggered', 'createdAt', now, 'updatedAt', now, 'version', 0,
    'receiver', meta.receiver, 'groupKey', meta.groupKey, 'openKey', openKey,
    'priority', meta.priority, 'priorityRule', meta.priorityRule, 'policy', meta.policy, 'route', meta.route,
    'title', meta.title, 'summary', meta.summary,
    'labels', meta.labels, 'generatorURL', meta.generatorURL, 'runbookUrl', meta.runbookUrl, 'externalURL', meta.externalURL,
    'grafanaUrl', meta.grafanaUrl or '')
  redis.call('SADD', openSet, id)
  redis.call('ZADD', allZset, nowMs, id)
  -- Its opening (root, escalation, diagnostics) is owed from now on; the caller holds the lease and runs it.
  redis.call('ZADD', openings, nowMs + openingLeaseMs, id)
  redis.call('XADD', k .. ':timeline', '*', 'type', 'opened', 'at', now, 'by', 'alertmanager',
    'priority', meta.priority, 'rule', meta.priorityRule)
  created = 1
end
local alertsKey = k .. ':alerts'
local transitions = {}
for _, f in ipairs(fresh) do
  local a = f.a
  redis.call('HSET', alertsKey, a.fp, a.json)
  redis.call('HSET', seenKey, a.fp, a.status .. '|' .. string.format('%d', a.sa) .. '|' .. id)
  if f.old ~= a.status then
    if f.old == 'firing' then firing = firing - 1 elseif f.old == 'resolved' then resolved = resolved - 1 end
    if a.status == 'firing' then firing = firing + 1 else resolved = resolved + 1 end
    table.insert(transitions, {fingerprint = a.fp, alertname = a.alertname, status = a.status})
    redis.call('XADD', k .. ':timeline', '*', 'type', 'alert_' .. a.status, 'at', now, 'by', 'alertmanager',
      'fingerprint', a.fp, 'alertname', a.alertname)
  end
end
redis.call('EXPIRE', seenKey, seenTtl)
-- Bound the group's memory: past seenMax entries, forget resolves older than seenKeepMs.
if redis.call('HLEN', seenKey) > seenMax then
  local cursor = '0'
  repeat
    local r = redis.call('HSCAN', seenKey, cursor, 'COUNT', 500)
    cursor = r[1]
    for i = 1, #r[2], 2 do
      local st, sa = string.match(r[2][i + 1], '^(%a+)|(%-?%d+)|')
      if st == 'resolved' and tonumber(sa) and tonumber(sa) < nowMs - seenKeepMs then redis.call('HDEL', seenKey, r[2][i]) end
    end
  until cursor == '0'
end
-- Bound the episode's alert records the same way: past seenMax, resolved ones leave (the timeline keeps them;
-- the counts are kept apart, so they stay right).
if redis.call('HLEN', alertsKey) > seenMax then
  local cursor = '0'
  repeat
    local r = redis.call('HSCAN', alertsKey, cursor, 'COUNT', 500)
    cursor = r[1]
    for i = 1, #r[2], 2 do
      local p = redis.call('HGET', seenKey, r[2][i])
      if not p or string.sub(p, 1, 9) == 'resolved|' then redis.call('HDEL', alertsKey, r[2][i]) end
    end
  until cursor == '0'
end
if firing < 0 then firing = 0 end
if resolved < 0 then resolved = 0 end
local changed = 0
if #transitions > 0 or created == 1 then changed = 1 end
local resolvedNow = 0
local state = redis.call('HGET', k, 'state')
if firing == 0 and state ~= 'resolved' then
  redis.call('HSET', k, 'state', 'resolved', 'resolvedAt', now)
  redis.call('DEL', openKey)
  redis.call('SREM', openSet, id)
  redis.call('XADD', k .. ':timeline', '*', 'type', 'resolved', 'at', now, 'by', 'alertmanager')
  resolvedNow = 1
  changed = 1
end
redis.call('HSET', k, 'firing', firing, 'resolved', resolved)
if changed == 1 then
  redis.call('HSET', k, 'updatedAt', now)
  redis.call('HINCRBY', k, 'version', 1)
end
-- The group labels of the notification that opened it (the first writer wins; later ones are the same group).
if groupLabels ~= '' then redis.call('HSETNX', k, 'groupLabels', groupLabels) end
-- The thread reply for this change is owed from now on, in the same step as the change: the caller queues it
-- and clears it, and a caller that dies in between leaves it for the next delivery or the next start.
-- A new incident's first reply is its root message (its opening), not owed here.
local owedKey = k .. ':replies-owed'
if created == 0 and (#transitions > 0 or resolvedNow == 1) then
  local seq = redis.call('HINCRBY', k, 'replySeq', 1)
  local kept = {}
  for i = 1, math.min(#transitions, replyKept) do kept[i] = transitions[i] end
  -- Bounded: past repliesMax batches owed (every queuing of them failed), the oldest go; the newest counts
  -- their changes, which stay on the timeline.
  local earlier = 0
  local fields = redis.call('HKEYS', owedKey)
  if #fields >= repliesMax then
    local seqs = {}
    for _, f in ipairs(fields) do table.insert(seqs, tonumber(f)) end
    table.sort(seqs)
    for i = 1, #seqs - repliesMax + 1 do
      local ok, b = pcall(cjson.decode, redis.call('HGET', owedKey, tostring(seqs[i])))
      if ok and type(b) == 'table' then earlier = earlier + (tonumber(b.total) or 0) + (tonumber(b.earlier) or 0) end
      redis.call('HDEL', owedKey, tostring(seqs[i]))
    end
  end
  redis.call('HSET', owedKey, seq, cjson.encode({seq = seq, t = kept, total = #transitions, resolved = resolvedNow, earlier = earlier}))
  redis.call('SADD', owing, id)
end
local t = '[]'
if #transitions > 0 then t = cjson.encode(transitions) end
local owedNow = redis.call('HGETALL', owedKey)
-- A repeat that changed nothing and owes nothing (Alertmanager's resends, the busiest case) needs only whether the
-- root is posted; anything else gets the incident as it is now, so the caller needs no second round trip.
if created == 0 and changed == 0 and #owedNow == 0 then
  return {id, 0, 0, 0, '[]', {}, id, owedNow, redis.call('HGET', k, 'rootTs') or ''}
end
return {id, created, changed, resolvedNow, t, redis.call('HGETALL', k), id, owedNow, ''}
`;
const INGEST_LUA_SCRIPT = redisScript(INGEST_LUA);

/** Forgets the owed replies `ARGV[2..]` of incident `ARGV[1]`; the incident leaves the owing set once none is left. */
const CLEAR_REPLIES_LUA = `
local owedKey, owing = KEYS[1], KEYS[2]
for i = 2, #ARGV do redis.call('HDEL', owedKey, ARGV[i]) end
if redis.call('EXISTS', owedKey) == 0 then redis.call('SREM', owing, ARGV[1]) end
`;
const CLEAR_REPLIES_LUA_SCRIPT = redisScript(CLEAR_REPLIES_LUA);

/**
 * Records the root message `ARGV[2]` in channel `ARGV[1]` of incident hash `KEYS[1]` if none is recorded yet, with
 * the reverse index `KEYS[2]` = `ARGV[3]`, in one step, so no reader sees a root ts without its channel. 1 if it won.
 */
const SET_ROOT_LUA = `
if redis.call('HSETNX', KEYS[1], 'rootTs', ARGV[2]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'channel', ARGV[1])
redis.call('SET', KEYS[2], ARGV[3])
return 1
`;
const SET_ROOT_LUA_SCRIPT = redisScript(SET_ROOT_LUA);

/** An owed reply keeps this many alert changes (the reply shows as many; the rest are on the timeline). */
export const REPLY_TRANSITIONS_KEPT = 50;
/** Batches owed per incident at most; past it the oldest are summed into the newest (see INGEST_LUA). */
export const REPLIES_OWED_MAX = 20;

/**
 * The lease the ingest gives a new incident's opening: the replica that stored it runs it at once; if that
 * replica dies, another takes it after this long (alerts/incident-opener.ts).
 */
export const OPENING_LEASE_MS = 15_000;

/** How long a group remembers its alerts after its last notification (stale-notification checks). */
const SEEN_TTL_S = 7 * 86_400;
/** Past this many remembered alerts in a group, resolves older than SEEN_KEEP_MS are forgotten. */
const SEEN_MAX = 5_000;
const SEEN_KEEP_MS = 86_400_000;

/*
 * A person's state change, checked and applied in one step so two people
 * clicking at once cannot both win: the state must be one of `from`.
 * Field values of "" delete the field. Resolving also closes the episode.
 */
const TRANSITION_LUA = `
local k, openSet = KEYS[1], KEYS[2]
local from = cjson.decode(ARGV[1])
local to, now = ARGV[2], ARGV[3]
local fields = cjson.decode(ARGV[4])
local event = cjson.decode(ARGV[5])
local state = redis.call('HGET', k, 'state')
if not state then return {'missing', ''} end
local allowed = false
for _, s in ipairs(from) do if s == state then allowed = true end end
if not allowed then return {'refused', state} end
if to ~= '' then redis.call('HSET', k, 'state', to) end
for name, value in pairs(fields) do
  if value == '' then redis.call('HDEL', k, name) else redis.call('HSET', k, name, value) end
end
if to == 'resolved' then
  local openKey = redis.call('HGET', k, 'openKey')
  if openKey then redis.call('DEL', openKey) end
  redis.call('SREM', openSet, redis.call('HGET', k, 'id'))
  redis.call('HSET', k, 'resolvedAt', now)
end
redis.call('HSET', k, 'updatedAt', now)
redis.call('HINCRBY', k, 'version', 1)
local args = {'at', now}
for name, value in pairs(event) do table.insert(args, name); table.insert(args, value) end
redis.call('XADD', k .. ':timeline', '*', unpack(args))
return {'ok', state}
`;
const TRANSITION_LUA_SCRIPT = redisScript(TRANSITION_LUA);

export interface TransitionRequest {
  /** States the incident must be in for the change to apply. */
  from: IncidentState[];
  /** New state; omit to change fields only (e.g. reclassify). */
  to?: IncidentState;
  /** Fields to set; an empty string removes one. */
  fields?: Record<string, string>;
  /** Timeline entry: at least a `type` and `by`. */
  event: Record<string, string>;
}

export type TransitionResult = { ok: true; previous: IncidentState } | { ok: false; reason: 'missing' | 'refused'; state?: IncidentState };

/** A flat HGETALL reply from a script ([field, value, ...]) as an object. */
function pairs(flat: string[]): Record<string, string> {
  const h: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) h[flat[i]!] = flat[i + 1]!;
  return h;
}

/** A flat HGETALL of `inc:<id>:replies-owed` as batches, oldest first. */
function owedReplies(flat: string[]): OwedReply[] {
  const replies: OwedReply[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const b = JSON.parse(flat[i + 1]!) as { seq: number; t: unknown; total: number; resolved: number; earlier: number };
    // cjson encodes an empty table as an object.
    replies.push({ seq: Number(b.seq), transitions: Array.isArray(b.t) ? (b.t as OwedReply['transitions']) : [], total: Number(b.total) || 0, resolvedNow: b.resolved === 1, earlier: Number(b.earlier) || 0 });
  }
  return replies.sort((a, b) => a.seq - b.seq);
}

/** An incident's hash as an Incident; undefined when there is none. */
function fromHash(h: Record<string, string>): Incident | undefined {
  if (!h.id) return undefined;
  return {
    id: h.id,
    receiver: h.receiver ?? '',
    groupKey: h.groupKey ?? '',
    state: (h.state as IncidentState) ?? 'triggered',
    priority: (h.priority as Priority) ?? 'P3',
    priorityRule: h.priorityRule ?? '',
    title: h.title ?? '',
    summary: h.summary ?? '',
    labels: h.labels ? (JSON.parse(h.labels) as Record<string, string>) : {},
    groupLabels: h.groupLabels ? (JSON.parse(h.groupLabels) as Record<string, string>) : undefined,
    generatorURL: h.generatorURL ?? '',
    runbookUrl: h.runbookUrl ?? '',
    externalURL: h.externalURL ?? '',
    grafanaUrl: h.grafanaUrl || undefined,
    firing: Number(h.firing ?? 0),
    resolved: Number(h.resolved ?? 0),
    version: Number(h.version ?? 0),
    createdAt: h.createdAt ?? '',
    updatedAt: h.updatedAt ?? '',
    resolvedAt: h.resolvedAt || undefined,
    owner: h.owner || undefined,
    policy: h.policy ?? '',
    route: h.route ?? '',
    acknowledgedAt: h.acknowledgedAt || undefined,
    snoozedUntil: h.snoozedUntil || undefined,
    silenceId: h.silenceId || undefined,
    openHandled: h.openHandled === '1' || undefined,
    channel: h.channel || undefined,
    rootTs: h.rootTs || undefined,
  };
}

export interface IncidentStoreOptions {
  redis: Redis;
  /** Key namespace (REDIS_PREFIX). */
  prefix: string;
  /** The lease a new incident's opening gets from the ingest (OPENING_LEASE_MS). @defaultValue 15000 */
  openingLeaseMs?: number;
}

/** Incidents in Redis: one hash each, alerts by fingerprint, an append-only timeline stream. */
export function createIncidentStore({ redis, prefix, openingLeaseMs = OPENING_LEASE_MS }: IncidentStoreOptions) {
  const base = `${prefix}:inc:`;
  const keys = {
    seq: `${base}seq`,
    open: `${base}open`,
    all: `${base}all`,
    /** New incidents whose opening has not completed: id -> when it may be taken (ms; see alerts/incident-opener.ts). */
    openings: `${base}openings`,
    /** Incidents with thread replies owed (`repliesOwed`): what the bot's start queues. */
    owing: `${base}replies-owing`,
    openEpisode: (receiver: string, groupKey: string) =>
      `${base}episode:${crypto.createHash('sha256').update(`${receiver}\u0000${groupKey}`).digest('hex')}`,
    incident: (id: string) => `${base}${id}`,
    timeline: (id: string) => `${base}${id}:timeline`,
    alerts: (id: string) => `${base}${id}:alerts`,
    /** seq -> a batch of alert changes whose thread reply is not in the outbox yet. */
    repliesOwed: (id: string) => `${base}${id}:replies-owed`,
    /** Which incident a root message belongs to (reactions and shortcuts name a message, not an incident). */
    byRoot: (channel: string, ts: string) => `${base}root:${channel}:${ts}`,
  };

  async function ingest(rawPayload: AlertmanagerWebhook, rawMeta: NewIncidentMeta, now = new Date()): Promise<IngestResult> {
    // Lone UTF-16 surrogates become U+FFFD here: Redis' cjson refuses them.
    const payload = wellFormedDeep(rawPayload);
    const meta = wellFormedDeep(rawMeta);
    const alerts = payload.alerts.map((a) => ({
      fp: a.fingerprint,
      status: a.status,
      alertname: a.labels.alertname ?? 'unknown',
      sa: Number.isFinite(Date.parse(a.startsAt)) ? Date.parse(a.startsAt) : 0,
      json: JSON.stringify({
        status: a.status,
        labels: a.labels,
        annotations: a.annotations,
        startsAt: a.startsAt,
        endsAt: a.endsAt,
        generatorURL: a.generatorURL,
      }),
    }));
    const metaArg = JSON.stringify({
      ...meta,
      labels: JSON.stringify(meta.labels),
      receiver: payload.receiver,
      groupKey: payload.groupKey,
    });
    const episode = keys.openEpisode(payload.receiver, payload.groupKey);
    const reply = (await INGEST_LUA_SCRIPT.run(
      redis,
      7,
      episode,
      keys.seq,
      keys.open,
      keys.all,
      `${episode}:seen`,
      keys.openings,
      keys.owing,
      base,
      now.toISOString(),
      String(now.getTime()),
      metaArg,
      JSON.stringify(alerts),
      String(SEEN_TTL_S),
      String(SEEN_MAX),
      String(SEEN_KEEP_MS),
      JSON.stringify(payload.groupLabels ?? {}),
      String(openingLeaseMs),
      String(REPLY_TRANSITIONS_KEPT),
      String(REPLIES_OWED_MAX),
    )) as [string, number, number, number, string, string[], string, string[], string];
    const [incidentId, created, changed, resolvedNow, transitions, flat, owedBy, owedFlat, quietRootTs] = reply;
    const incident = incidentId && flat.length ? fromHash(pairs(flat)) : undefined;
    return {
      incidentId,
      created: created === 1,
      changed: changed === 1,
      resolvedNow: resolvedNow === 1,
      transitions: JSON.parse(transitions) as IngestResult['transitions'],
      ...(incident ? { incident } : {}),
      ...(incidentId && !flat.length ? { quiet: { rootPosted: quietRootTs !== '' } } : {}),
      ...(owedFlat.length ? { owed: { incidentId: owedBy, replies: owedReplies(owedFlat) } } : {}),
    };
  }

  /** The thread replies owed for an incident's alert changes, oldest first. */
  async function repliesOwed(id: string): Promise<OwedReply[]> {
    return owedReplies(Object.entries(await redis.hgetall(keys.repliesOwed(id))).flat());
  }

  /** Incidents with replies owed. */
  async function repliesOwing(): Promise<string[]> {
    return redis.smembers(keys.owing);
  }

  /** The outbox has these batches (`seq`s): they are owed no more. Batches recorded meanwhile stay. */
  async function clearReplies(id: string, seqs: number[]): Promise<void> {
    await CLEAR_REPLIES_LUA_SCRIPT.run(redis, 2, keys.repliesOwed(id), keys.owing, id, ...seqs.map(String));
  }

  async function get(id: string): Promise<Incident | undefined> {
    return fromHash(await redis.hgetall(keys.incident(id)));
  }

  /** Records where the root message lives. Only the first writer wins, so replicas agree. */
  async function setRootMessage(id: string, channel: string, ts: string): Promise<boolean> {
    return (await SET_ROOT_LUA_SCRIPT.run(redis, 2, keys.incident(id), keys.byRoot(channel, ts), channel, ts, id)) === 1;
  }

  /** Records that the steps after opening ran, and takes the incident out of the openings owed (one MULTI). */
  async function markOpenHandled(id: string): Promise<void> {
    await redis.multi().hset(keys.incident(id), 'openHandled', '1').zrem(keys.openings, id).exec();
  }

  /** Puts an open incident whose opening never completed (stored before the openings set existed) in it, due now. */
  async function oweOpening(id: string): Promise<void> {
    await redis.zadd(keys.openings, 'NX', Date.now(), id);
  }

  /** The incident whose root message is `ts` in `channel`, if any. */
  async function byRootMessage(channel: string, ts: string): Promise<string | undefined> {
    return (await redis.get(keys.byRoot(channel, ts))) ?? undefined;
  }

  async function appendTimeline(id: string, event: Record<string, string>): Promise<string> {
    const fields = Object.entries({ at: new Date().toISOString(), ...event }).flat();
    return (await redis.xadd(keys.timeline(id), '*', ...fields)) as string;
  }

  async function timeline(id: string): Promise<Array<{ id: string } & Record<string, string>>> {
    const entries = await redis.xrange(keys.timeline(id), '-', '+');
    return entries.map(([entryId, fields]) => {
      const event: Record<string, string> = {};
      for (let i = 0; i < fields.length; i += 2) event[fields[i]!] = fields[i + 1]!;
      return { id: entryId, ...event };
    });
  }

  async function transition(id: string, req: TransitionRequest, now = new Date()): Promise<TransitionResult> {
    const [outcome, state] = (await TRANSITION_LUA_SCRIPT.run(
      redis,
      2,
      keys.incident(id),
      keys.open,
      JSON.stringify(req.from),
      req.to ?? '',
      now.toISOString(),
      JSON.stringify(req.fields ?? {}),
      JSON.stringify(req.event),
    )) as [string, string];
    if (outcome === 'ok') return { ok: true, previous: state as IncidentState };
    return { ok: false, reason: outcome as 'missing' | 'refused', state: (state || undefined) as IncidentState | undefined };
  }

  /** Alerts of an incident by fingerprint, as last reported. */
  async function alerts(id: string): Promise<Record<string, { status: string; labels: Record<string, string>; annotations: Record<string, string>; startsAt: string; endsAt: string; generatorURL: string }>> {
    const raw = await redis.hgetall(keys.alerts(id));
    return Object.fromEntries(Object.entries(raw).map(([fp, json]) => [fp, JSON.parse(json)]));
  }

  /** Priority and state of every open incident, in one round trip (for metrics). */
  async function openSummary(): Promise<Array<{ id: string; priority: string; state: string }>> {
    const ids = await redis.smembers(keys.open);
    if (!ids.length) return [];
    const pipeline = redis.pipeline();
    for (const id of ids) pipeline.hmget(keys.incident(id), 'priority', 'state');
    const rows = (await pipeline.exec()) ?? [];
    return ids.map((id, n) => {
      const [priority, state] = (rows[n]?.[1] as [string | null, string | null]) ?? [null, null];
      return { id, priority: priority ?? 'unknown', state: state ?? 'unknown' };
    });
  }

  async function openIds(): Promise<string[]> {
    return redis.smembers(keys.open);
  }

  return { ingest, get, transition, alerts, setRootMessage, byRootMessage, markOpenHandled, oweOpening, repliesOwed, repliesOwing, clearReplies, appendTimeline, timeline, openIds, openSummary, keys, openingLeaseMs };
}

export type IncidentStore = ReturnType<typeof createIncidentStore>;
