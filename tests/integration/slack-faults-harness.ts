import type { AlertmanagerWebhook } from '../../bot/alerts/alertmanager-payload';
import type { CallRecord, SlackMessage } from '../../sandbox/slack';
import { WEBHOOK_TOKEN, type BotHarness } from '../helpers/bot-harness';
import { firingFor } from '../helpers/fixtures';

/** Helpers of the Slack fault tests (slack-faults-*.test.ts): the real bot against the sandbox answering errors. */

/** Alertmanager fingerprints are 16 hex digits: the group, then the alert. */
const fingerprint = (g: number, k: number) => `${(0xfa000 + g).toString(16).padStart(8, '0')}${k.toString(16).padStart(8, '0')}`;

/** Group `g` with its first `n` alerts firing (`severity`: high is P2 in #ops-critical, warning P3 in #ops-alerts). */
export function group(name: string, g: number, severity: string, n: number): AlertmanagerWebhook {
  const p = firingFor(name, { severity });
  const template = p.alerts[0]!;
  p.alerts = Array.from({ length: n }, (_, k) => ({ ...template, labels: { ...template.labels, instance: `node-${k}` }, fingerprint: fingerprint(g, k) }));
  return p;
}

/** A webhook delivery: its status and how long the bot took to answer. */
export async function deliver(h: BotHarness, body: AlertmanagerWebhook): Promise<{ status: number; incident?: string; ms: number }> {
  const started = Date.now();
  const res = await fetch(`${h.botUrl}/alertmanager/webhook`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${WEBHOOK_TOKEN}` },
    body: JSON.stringify(body),
  });
  const json = (await res.json().catch(() => ({}))) as { incident?: string };
  return { status: res.status, incident: json.incident, ms: Date.now() - started };
}

type Meta = { event_type?: string; event_payload?: Record<string, unknown> };
const meta = (m: SlackMessage) => m.metadata as Meta | undefined;

export interface IncidentInSlack {
  id: string;
  /** Top-level messages anywhere carrying this incident's root marker. */
  roots: SlackMessage[];
  /** The replies of its thread, oldest first. */
  replies: SlackMessage[];
}

/** What Slack shows of each incident: every root posted for it (there must be one) and its thread. */
export async function inSlack(h: BotHarness, ids: string[], channels: string[]): Promise<IncidentInSlack[]> {
  const tops = (await Promise.all(channels.map((c) => h.sandbox.history(c)))).flat();
  const out: IncidentInSlack[] = [];
  for (const id of ids) {
    const roots = tops.filter((m) => meta(m)?.event_type === 'incident_root' && meta(m)?.event_payload?.incident_id === id);
    const incident = await h.bot.store.get(id);
    const replies = incident?.rootTs && incident.channel ? (await h.sandbox.replies(incident.channel, incident.rootTs)).filter((m) => m.ts !== incident.rootTs) : [];
    out.push({ id, roots, replies });
  }
  return out;
}

/** Outbox ids of replies that appear more than once (a reply posted twice). */
export function doubledReplies(replies: SlackMessage[]): string[] {
  const seen = new Map<string, number>();
  for (const r of replies) {
    const id = String(meta(r)?.event_payload?.outbox_id ?? `no-id:${r.text}`);
    seen.set(id, (seen.get(id) ?? 0) + 1);
  }
  return [...seen].filter(([, n]) => n > 1).map(([id]) => id);
}

/**
 * Calls that broke a 429's Retry-After: for every 429 answered to a call of
 * `method` in a channel, a later call of that method in that channel that
 * arrived before Retry-After had passed since the answer. Per channel, since
 * one pump at a time sends a channel's writes (a call of another channel's
 * pump may already have been in flight when the answer came).
 */
export function retryAfterViolations(calls: CallRecord[]): string[] {
  const out: string[] = [];
  for (const r of calls) {
    if (r.status !== 429 || !r.retryAfter || r.answeredAt === undefined) continue;
    const until = r.answeredAt + r.retryAfter * 1000;
    for (const c of calls) {
      if (c !== r && c.method === r.method && c.channel === r.channel && c.at > r.answeredAt && c.at < until) {
        out.push(`${c.method} in ${c.channel} at +${c.at - r.answeredAt} ms after a 429 with Retry-After ${r.retryAfter}s`);
      }
    }
  }
  return out;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A counter or gauge of the bot's registry, summed over the series matching `labels`. */
export async function metric(h: BotHarness, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = (await h.bot.registry.getMetricsAsJSON()).find((x) => x.name === name);
  const values = (m?.values ?? []) as Array<{ value: number; labels: Record<string, string | number> }>;
  return values.filter((v) => Object.entries(labels).every(([k, l]) => String(v.labels[k]) === l)).reduce((s, v) => s + v.value, 0);
}
