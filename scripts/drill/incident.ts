/**
 * The incident side of a drill, as a responder sees it: the Alertmanager-shaped
 * webhook (when the drill raises the alert itself), the thread in the sandbox
 * Slack, alice's Acknowledge, and the root message turning resolved.
 */
import type { LocalStack } from '../local-env';

export type StackEnv = NodeJS.ProcessEnv & { ports: LocalStack['ports'] };

export interface AlertSpec {
  name: string;
  alert: string;
  severity: string;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` every 500 ms until it returns something, or throws at `deadline`. */
export async function until<T>(deadline: number, what: string, fn: () => Promise<T | undefined>): Promise<T> {
  while (Date.now() < deadline) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    await sleep(500);
  }
  throw new Error(`timed out waiting for ${what}`);
}

export async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(1500) })).ok;
  } catch {
    return false;
  }
}

/** Where the drill finds each part of the stack: the URLs npm start wrote win over ports derived from the environment. */
export function stackUrls(env: StackEnv) {
  const host = env.HOST || '127.0.0.1';
  return {
    slack: env.SLACK_API_URL ? new URL(env.SLACK_API_URL).origin : `http://${host}:${env.ports.slack}`,
    bot: env.BOT_WEBHOOK_URL ? new URL(env.BOT_WEBHOOK_URL).origin : `http://${host}:${env.ports.bot}`,
    server: env.MCP_SERVER_URL ? new URL(env.MCP_SERVER_URL).origin : `http://${host}:${env.ports.server}`,
    workers: `http://${host}:${env.ports.workers}`,
    prometheus: env.PROMETHEUS_URL,
  };
}

export async function postWebhook(bot: string, token: string, s: AlertSpec, fingerprint: string, startsAt: string, status: 'firing' | 'resolved'): Promise<void> {
  const labels = { alertname: s.alert, service: 'mcp-financial-server', severity: s.severity, drill: s.name };
  const annotations = { summary: `drill ${s.name}: ${s.alert}`, runbook_url: `${bot}/runbooks/${s.alert}.yaml` };
  const body = {
    receiver: 'mcp-ops-bot',
    status,
    alerts: [{ status, labels, annotations, startsAt, endsAt: status === 'resolved' ? new Date().toISOString() : '0001-01-01T00:00:00Z', generatorURL: 'http://drill.invalid/', fingerprint }],
    groupLabels: { alertname: s.alert, service: labels.service },
    commonLabels: labels,
    commonAnnotations: annotations,
    externalURL: 'http://drill.invalid/',
    version: '4',
    groupKey: `{}:{alertname="${s.alert}", drill="${fingerprint}"}`,
    truncatedAlerts: 0,
  };
  const res = await fetch(`${bot}/alertmanager/webhook`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`bot refused the webhook: ${res.status} ${await res.text()}`);
}

export interface Msg {
  ts: string;
  text: string;
}

async function slackApi<T>(slack: string, token: string, method: string, params: Record<string, string>): Promise<T> {
  const res = await fetch(`${slack}/api/${method}?${new URLSearchParams(params)}`, { headers: { Authorization: `Bearer ${token}` } });
  return (await res.json()) as T;
}

export async function history(slack: string, token: string, channel: string): Promise<Msg[]> {
  return (await slackApi<{ messages?: Msg[] }>(slack, token, 'conversations.history', { channel, limit: '200' })).messages ?? [];
}

export async function replies(slack: string, token: string, channel: string, ts: string): Promise<Msg[]> {
  return (await slackApi<{ messages?: Msg[] }>(slack, token, 'conversations.replies', { channel, ts, limit: '200' })).messages ?? [];
}

/** The incident root posted after `sinceTs` naming `alert` as a word (ServiceDown is not BackendServiceDown). */
export async function findRoot(slack: string, token: string, alert: string, sinceTs: string): Promise<(Msg & { channel: string; channelName: string }) | undefined> {
  const word = new RegExp(`\\b${alert.replace(/[^A-Za-z0-9_]/g, '')}\\b`);
  const list = await slackApi<{ channels?: Array<{ id: string; name: string }> }>(slack, token, 'conversations.list', { limit: '200' });
  for (const c of list.channels ?? []) {
    const m = (await history(slack, token, c.id)).find((x) => Number(x.ts) > Number(sinceTs) && word.test(x.text) && /INC-\d+/.test(x.text));
    if (m) return { ...m, channel: c.id, channelName: `#${c.name}` };
  }
  return undefined;
}

/** alice presses Acknowledge on the root; resolves once the thread says so. */
/**
 * Waits for the thread to say the incident was acknowledged and returns that reply; with
 * `clickAsAlice` the drill presses Acknowledge as alice first, otherwise a person does (in the page).
 */
export async function acknowledge(slack: string, token: string, root: { channel: string; ts: string }, deadline: number, opts: { clickAsAlice: boolean }): Promise<Msg> {
  if (opts.clickAsAlice) {
    const click = await fetch(`${slack}/_sandbox/click`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ user: 'alice', channel: root.channel, ts: root.ts, action_id: 'incident_ack' }),
    });
    if (!click.ok) throw new Error(`acknowledge click refused: ${click.status} ${await click.text()}`);
  }
  return until(deadline, 'the acknowledgement', async () => (await replies(slack, token, root.channel, root.ts)).find((m) => /Acknowledged by/.test(m.text)));
}

/** Who the acknowledgement reply names ("Acknowledged by @bob."). */
export const acknowledgedBy = (reply: Msg) => /Acknowledged by @?([^\s.]+)/.exec(reply.text)?.[1];

export async function waitResolved(slack: string, token: string, root: { channel: string; ts: string }, deadline: number): Promise<void> {
  await until(deadline, 'the resolution', async () => {
    const m = (await history(slack, token, root.channel)).find((x) => x.ts === root.ts);
    return m && /resolved/i.test(m.text) ? m : undefined;
  });
}
