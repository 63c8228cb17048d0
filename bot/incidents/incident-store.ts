import crypto from 'node:crypto';
import type { Redis } from 'ioredis';
import type { AlertmanagerWebhook } from '../alerts/alertmanager-payload';

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
 */
const INGEST_LUA = `
local openKey, seqKey, openSet, allZset = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local prefix, now, nowMs = ARGV[1], ARGV[2], tonumber(ARGV[3])
local meta = cjson.decode(ARGV[4])
local alerts = cjson.decode(ARGV[5])
local id = redis.call('GET', openKey)
local created = 0
if not id then
  local anyFiring = false
  for _, a in ipairs(alerts) do if a.status == 'firing' then anyFiring = true end end
  if not anyFiring then return {'', 0, 0, 0, '[]'} end
  id = 'INC-' .. redis.call('INCR', seqKey)
  redis.call('SET', openKey, id)
  local k = prefix .. id
  redis.call('HSET', k, 'id', id, 'state', 'triggered', 'createdAt', now, 'updatedAt', now, 'version', 0,
    'receiver', meta.receiver, 'groupKey', meta.groupKey, 'openKey', openKey,
    'priority', meta.priority, 'priorityRule', meta.priorityRule, 'policy', meta.policy, 'route', meta.route,
    'title', meta.title, 'summary', meta.summary,
    'labels', meta.labels, 'generatorURL', meta.generatorURL, 'runbookUrl', meta.runbookUrl, 'externalURL', meta.externalURL,
    'grafanaUrl', meta.grafanaUrl or '')
  redis.call('SADD', openSet, id)
  redis.call('ZADD', allZset, nowMs, id)
  redis.call('XADD', k .. ':timeline', '*', 'type', 'opened', 'at', now, 'by', 'alertmanager',
    'priority', meta.priority, 'rule', meta.priorityRule)
  created = 1
end
local k = prefix .. id
local alertsKey = k .. ':alerts'
local transitions = {}
for _, a in ipairs(alerts) do
  local old = redis.call('HGET', alertsKey, a.fp)
  local oldStatus = nil
  if old then oldStatus = cjson.decode(old).status end
  redis.call('HSET', alertsKey, a.fp, a.json)
  if oldStatus ~= a.status then
    table.insert(transitions, {fingerprint = a.fp, alertname = a.alertname, status = a.status})
    redis.call('XADD', k .. ':timeline', '*', 'type', 'alert_' .. a.status, 'at', now, 'by', 'alertmanager',
      'fingerprint', a.fp, 'alertname', a.alertname)
  end
end
local firing, resolved = 0, 0
for _, v in ipairs(redis.call('HVALS', alertsKey)) do
  if cjson.decode(v).status == 'firing' then firing = firing + 1 else resolved = resolved + 1 end
end
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
local t = '[]'
if #transitions > 0 then t = cjson.encode(transitions) end
return {id, created, changed, resolvedNow, t}
`;

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

export interface IncidentStoreOptions {
  redis: Redis;
  /** Key namespace (REDIS_PREFIX). */
  prefix: string;
}

/** Incidents in Redis: one hash each, alerts by fingerprint, an append-only timeline stream. */
export function createIncidentStore({ redis, prefix }: IncidentStoreOptions) {
  const base = `${prefix}:inc:`;
  const keys = {
    seq: `${base}seq`,
    open: `${base}open`,
    all: `${base}all`,
    openEpisode: (receiver: string, groupKey: string) =>
      `${base}episode:${crypto.createHash('sha256').update(`${receiver}\u0000${groupKey}`).digest('hex')}`,
    incident: (id: string) => `${base}${id}`,
    timeline: (id: string) => `${base}${id}:timeline`,
    alerts: (id: string) => `${base}${id}:alerts`,
    /** Which incident a root message belongs to (reactions and shortcuts name a message, not an incident). */
    byRoot: (channel: string, ts: string) => `${base}root:${channel}:${ts}`,
  };

  async function ingest(payload: AlertmanagerWebhook, meta: NewIncidentMeta, now = new Date()): Promise<IngestResult> {
    const alerts = payload.alerts.map((a) => ({
      fp: a.fingerprint,
      status: a.status,
      alertname: a.labels.alertname ?? 'unknown',
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
    const reply = (await redis.eval(
      INGEST_LUA,
      4,
      keys.openEpisode(payload.receiver, payload.groupKey),
      keys.seq,
      keys.open,
      keys.all,
      base,
      now.toISOString(),
      String(now.getTime()),
      metaArg,
      JSON.stringify(alerts),
    )) as [string, number, number, number, string];
    const [incidentId, created, changed, resolvedNow, transitions] = reply;
    return {
      incidentId,
      created: created === 1,
      changed: changed === 1,
      resolvedNow: resolvedNow === 1,
      transitions: JSON.parse(transitions) as IngestResult['transitions'],
    };
  }

  async function get(id: string): Promise<Incident | undefined> {
    const h = await redis.hgetall(keys.incident(id));
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

  /** Records where the root message lives. Only the first writer wins, so replicas agree. */
  async function setRootMessage(id: string, channel: string, ts: string): Promise<boolean> {
    const won = await redis.hsetnx(keys.incident(id), 'rootTs', ts);
    if (won) await redis.multi().hset(keys.incident(id), 'channel', channel).set(keys.byRoot(channel, ts), id).exec();
    return won === 1;
  }

  /** Keeps the group labels of the notification that opened the incident (the first writer wins; later ones are the same group). */
  async function recordGroupLabels(id: string, groupLabels: Record<string, string>): Promise<void> {
    await redis.hsetnx(keys.incident(id), 'groupLabels', JSON.stringify(groupLabels));
  }

  /** Records that the steps after opening ran (see the intake). */
  async function markOpenHandled(id: string): Promise<void> {
    await redis.hset(keys.incident(id), 'openHandled', '1');
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
    const [outcome, state] = (await redis.eval(
      TRANSITION_LUA,
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

  return { ingest, get, transition, alerts, setRootMessage, byRootMessage, recordGroupLabels, markOpenHandled, appendTimeline, timeline, openIds, openSummary, keys };
}

export type IncidentStore = ReturnType<typeof createIncidentStore>;
