/**
 * `npm run drill -- <scenario>`: plays one of the operations guide's failure
 * simulations against a running `npm start` and reports how long detection and
 * recovery took. It finds the stack the way `npm start` builds it: the
 * environment, then `.tmp/local.env` (what `npm start` writes) for anything
 * unset, then scripts/local-env.ts's defaults (ports, URLs). `--env-file` picks
 * another file. Faults are cleared on success, failure, timeout and Ctrl-C.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { buildLocalEnv } from './local-env';

export interface Scenario {
  name: string;
  alert: string;
  severity: string;
  /** Which sandbox backend gets the fault, and which. */
  fault?: { service: 'accounts'; state: Record<string, unknown> };
  /** True when real Prometheus can see this fault with no traffic of the drill's own. */
  prometheusSeesIt: boolean;
  /** One paragraph for --list. */
  about: string;
  playable: boolean;
}

export const SCENARIOS: Scenario[] = [
  {
    name: 'backend-down',
    alert: 'BackendServiceDown',
    severity: 'high',
    fault: { service: 'accounts', state: { down: true } },
    prometheusSeesIt: true,
    playable: true,
    about:
      'Takes account-service down (sandbox fault: every request, /metrics included, answers 503), so Prometheus sees up == 0 and BackendServiceDown fires. The responder acknowledges in the incident thread and follows the runbook (health check, then bring the service back). The drill clears the fault, which brings the service back and resolves the alert.',
  },
  {
    name: 'slow-backend',
    alert: 'HighResponseTime',
    severity: 'high',
    fault: { service: 'accounts', state: { latencyMs: 2500 } },
    prometheusSeesIt: false,
    playable: true,
    about:
      'Adds 2.5 s of latency to every account-service answer (above the 2 s p95 threshold), so HighResponseTime fires. The responder acknowledges and checks the backend and breakers. The drill removes the latency and resolves the alert.',
  },
  {
    name: 'error-burst',
    alert: 'HighErrorRate',
    severity: 'high',
    fault: { service: 'accounts', state: { errorRate: 0.5 } },
    prometheusSeesIt: false,
    playable: true,
    about:
      'Makes half of account-service answers 500 (errors above 5 %), so HighErrorRate fires. The responder acknowledges and investigates (health check, breaker state). The drill sets the error rate back to 0 and resolves the alert.',
  },
  {
    name: 'auth-attack',
    alert: 'HighAuthFailureRate',
    severity: 'high',
    prometheusSeesIt: false,
    playable: true,
    about:
      'Sends bursts of requests with bad bearer tokens to the MCP server (from one forwarded address, X-Forwarded-For 203.0.113.66, which counts only when the server trusts the proxy), so HighAuthFailureRate fires. The responder acknowledges and blocks the address. The drill stops the requests and resolves the alert; it leaves no fault behind.',
  },
  {
    name: 'memory-pressure',
    alert: 'HighMemoryUsage',
    severity: 'warning',
    prometheusSeesIt: false,
    playable: true,
    about:
      'HighMemoryUsage (process_memory_usage_bytes / process_memory_limit_bytes > 0.8). The sandbox has no memory fault yet, so the drill raises the alert itself through the webhook. The responder acknowledges and restarts or scales. Nothing to clean up.',
  },
  {
    name: 'disaster-recovery',
    alert: 'ServiceDown',
    severity: 'critical',
    prometheusSeesIt: true,
    playable: false,
    about:
      "The guide's monthly DR drill: stop the MCP server, restore the latest backup into staging, start it, verify health (validate-recovery). Not playable yet: listed so the catalogue is complete; running it exits 1.",
  },
  {
    name: 'validate-recovery',
    alert: '-',
    severity: '-',
    prometheusSeesIt: false,
    playable: false,
    about: "The guide's post-recovery check (health, metrics, a read through the MCP server). Not playable yet; running it exits 1.",
  },
];

export interface DrillArgs {
  list: boolean;
  help: boolean;
  json: boolean;
  scenario?: Scenario;
  timeoutMs: number;
  envFile?: string;
  /** Skip real Prometheus even when it runs: post the Alertmanager-shaped webhook. */
  direct: boolean;
  /** A person acknowledges in the page (or real Slack); the drill waits instead of pressing the button as alice. */
  waitForAck: boolean;
}

export class UsageError extends Error {}

export const USAGE = `usage: npm run drill -- <scenario> [--timeout 120s] [--json] [--direct] [--wait-for-ack] [--env-file .tmp/local.env]
       npm run drill -- --list
scenarios: ${SCENARIOS.map((s) => s.name).join(', ')}`;

function parseDuration(value: string): number {
  const m = /^(\d+)(ms|s|m)?$/.exec(value);
  if (!m) throw new UsageError(`--timeout: "${value}" is not a duration (e.g. 90s, 2m)`);
  const n = Number(m[1]);
  const ms = m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
  if (ms <= 0) throw new UsageError('--timeout: must be > 0');
  return ms;
}

export function parseArgs(argv: string[]): DrillArgs {
  const args: DrillArgs = { list: false, help: false, json: false, timeoutMs: 120_000, direct: false, waitForAck: false };
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${a} needs a value`);
      return v;
    };
    if (a === '--list') args.list = true;
    else if (a === '--help' || a === '-h') args.help = true;
    else if (a === '--json') args.json = true;
    else if (a === '--direct') args.direct = true;
    else if (a === '--wait-for-ack') args.waitForAck = true;
    else if (a === '--timeout') args.timeoutMs = parseDuration(value());
    else if (a === '--env-file') args.envFile = value();
    else if (a.startsWith('-')) throw new UsageError(`unknown flag ${a}`);
    else positional.push(a);
  }
  if (args.list || args.help) return args;
  if (positional.length !== 1) throw new UsageError(positional.length ? `one scenario at a time, got ${positional.join(' ')}` : 'which scenario?');
  const scenario = SCENARIOS.find((s) => s.name === positional[0]);
  if (!scenario) throw new UsageError(`unknown scenario "${positional[0]}"`);
  args.scenario = scenario;
  return args;
}

export function listText(): string {
  return SCENARIOS.map((s) => `${s.name}  (alert: ${s.alert})\n  ${s.about}`).join('\n\n');
}

/** The running stack: environment over .tmp/local.env over npm start's defaults. */
export function stackEnv(envFile: string | undefined, input: NodeJS.ProcessEnv): NodeJS.ProcessEnv & { ports: ReturnType<typeof buildLocalEnv>['ports'] } {
  const file = envFile ?? path.resolve(__dirname, '..', '.tmp', 'local.env');
  const merged: NodeJS.ProcessEnv = {};
  if (fs.existsSync(file)) {
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      const m = /^([A-Z0-9_]+)=(.*)$/.exec(line);
      if (m) merged[m[1]!] = m[2];
    }
  } else if (envFile) throw new UsageError(`--env-file: ${envFile} does not exist`);
  Object.assign(merged, Object.fromEntries(Object.entries(input).filter(([, v]) => v)));
  const stack = buildLocalEnv(merged);
  return Object.assign(stack.env, { ports: stack.ports });
}

export interface DrillReport {
  scenario: string;
  alert: string;
  path: 'prometheus' | 'direct-webhook';
  incident?: string;
  channel?: string;
  alertFired: boolean;
  threadPosted: boolean;
  acknowledged: boolean;
  /** Who pressed Acknowledge, as the thread names them. */
  acknowledgedBy?: string;
  resolved: boolean;
  faultsCleared: boolean;
  timeToAlertMs?: number;
  timeToAcknowledgeMs?: number;
  timeToResolveMs?: number;
  steps: string[];
  error?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  let args: DrillArgs;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`drill: ${err.message}\n${USAGE}`);
      process.exit(2);
    }
    throw err;
  }
  if (args.help) return void console.log(USAGE);
  if (args.list) return void console.log(listText());
  const scenario = args.scenario!;
  if (!scenario.playable) {
    console.error(`drill: ${scenario.name} is not playable yet (see --list)`);
    process.exit(1);
  }
  let env: ReturnType<typeof stackEnv>;
  try {
    env = stackEnv(args.envFile, process.env);
  } catch (err) {
    console.error(`drill: ${(err as Error).message}`);
    process.exit(2);
  }
  const report = await runDrill(scenario, env, args);
  if (args.json) console.log(JSON.stringify(report));
  else {
    console.log(report.steps.join('\n'));
    const s = (ms?: number) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);
    console.log(`${scenario.name}: alert ${s(report.timeToAlertMs)}, acknowledge ${s(report.timeToAcknowledgeMs)}, resolve ${s(report.timeToResolveMs)} (${report.path})`);
    if (report.error) console.error(`drill: ${report.error}`);
  }
  process.exit(report.error ? 1 : 0);
}

export async function runDrill(scenario: Scenario, env: ReturnType<typeof stackEnv>, args: DrillArgs): Promise<DrillReport> {
  const host = env.HOST || '127.0.0.1';
  // The URLs npm start wrote to .tmp/local.env win over ports derived from the environment.
  const slack = env.SLACK_API_URL ? new URL(env.SLACK_API_URL).origin : `http://${host}:${env.ports.slack}`;
  const bot = env.BOT_WEBHOOK_URL ? new URL(env.BOT_WEBHOOK_URL).origin : `http://${host}:${env.ports.bot}`;
  const backends = { accounts: env.ACCOUNT_SERVICE_URL! };
  const promUrl = env.PROMETHEUS_URL;
  const usePrometheus = !args.direct && scenario.prometheusSeesIt && promUrl !== undefined && (await answers(`${promUrl}/-/ready`));
  const report: DrillReport = {
    scenario: scenario.name,
    alert: scenario.alert,
    path: usePrometheus ? 'prometheus' : 'direct-webhook',
    alertFired: false,
    threadPosted: false,
    acknowledged: false,
    resolved: false,
    faultsCleared: scenario.fault === undefined,
    steps: [],
  };
  const t0 = Date.now();
  const deadline = t0 + args.timeoutMs;
  const step = (line: string) => report.steps.push(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${line}`);
  const clearFault = async () => {
    if (!scenario.fault) return;
    const res = await fetch(`${backends[scenario.fault.service]}/_sandbox/faults`, { method: 'DELETE' }).catch(() => undefined);
    const now = res?.ok ? ((await res.json()) as Record<string, unknown>) : undefined;
    report.faultsCleared = now !== undefined && now.down === false && now.errorRate === 0 && now.latencyMs === 0;
  };
  const onSignal = () => void clearFault().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const fingerprint = crypto.randomBytes(8).toString('hex');
  const startsAt = new Date().toISOString();
  const webhook = (status: 'firing' | 'resolved') => postWebhook(bot, env.ALERTMANAGER_WEBHOOK_TOKEN!, scenario, fingerprint, startsAt, status);
  const until = async <T>(what: string, fn: () => Promise<T | undefined>): Promise<T> => {
    while (Date.now() < deadline) {
      const v = await fn().catch(() => undefined);
      if (v) return v;
      await sleep(500);
    }
    throw new Error(`timed out waiting for ${what}`);
  };
  const sinceTs = (t0 / 1000 - 1).toFixed(6);
  try {
    if (scenario.fault) {
      const res = await fetch(`${backends[scenario.fault.service]}/_sandbox/faults`, {
        method: 'PUT',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(scenario.fault.state),
      });
      if (!res.ok) throw new Error(`could not set the fault: ${res.status} ${await res.text()}`);
      report.faultsCleared = false;
      step(`fault set on ${scenario.fault.service}: ${JSON.stringify(scenario.fault.state)}`);
    }
    if (scenario.name === 'auth-attack') {
      const server = env.MCP_SERVER_URL!;
      await Promise.all(
        Array.from({ length: 20 }, () =>
          fetch(server, { method: 'POST', headers: { Authorization: 'Bearer not-a-token', 'X-Forwarded-For': '203.0.113.66', 'Content-Type': 'application/json' }, body: '{}' }).catch(() => undefined),
        ),
      );
      step('20 requests with a bad token sent to the MCP server from 203.0.113.66');
    }
    if (!usePrometheus) {
      await webhook('firing');
      step(`${scenario.alert} posted to the bot as Alertmanager would (direct webhook: ${promUrl ? 'Prometheus cannot see this fault without traffic' : 'no Prometheus running'})`);
    } else step(`waiting for Prometheus and Alertmanager to raise ${scenario.alert}`);

    const root = await until('the incident thread', async () => findRoot(slack, env.SLACK_BOT_TOKEN!, scenario.alert, sinceTs));
    report.alertFired = true;
    report.threadPosted = true;
    report.channel = root.channel;
    report.incident = /(INC-\d+)/.exec(root.text)?.[1];
    report.timeToAlertMs = Date.now() - t0;
    step(`incident ${report.incident ?? '?'} posted in ${root.channelName}: ${root.text.slice(0, 80)}`);

    if (args.waitForAck) step(`waiting for someone to press Acknowledge on ${report.incident ?? 'the incident'} (${slack}/)`);
    else {
      const click = await fetch(`${slack}/_sandbox/click`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ user: 'alice', channel: root.channel, ts: root.ts, action_id: 'incident_ack' }),
      });
      if (!click.ok) throw new Error(`acknowledge click refused: ${click.status} ${await click.text()}`);
    }
    const ack = await until('the acknowledgement', async () => (await replies(slack, env.SLACK_BOT_TOKEN!, root.channel, root.ts)).find((m) => /Acknowledged by/.test(m.text)));
    report.acknowledged = true;
    report.acknowledgedBy = /Acknowledged by @?([^\s.]+)/.exec(ack.text)?.[1];
    report.timeToAcknowledgeMs = Date.now() - t0;
    step(`${report.acknowledgedBy ?? 'someone'} pressed Acknowledge; the thread says so`);

    await clearFault();
    if (scenario.fault) step('fault cleared');
    if (!usePrometheus) await webhook('resolved');
    await until('the resolution', async () => {
      const m = (await history(slack, env.SLACK_BOT_TOKEN!, root.channel)).find((x) => x.ts === root.ts);
      return m && /resolved/i.test(m.text) ? m : undefined;
    });
    report.resolved = true;
    report.timeToResolveMs = Date.now() - t0;
    step('the incident message says resolved');
  } catch (err) {
    report.error = (err as Error).message;
    step(`failed: ${report.error}`);
  } finally {
    await clearFault();
    if (!usePrometheus && !report.resolved) await webhook('resolved').catch(() => undefined);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return report;
}

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(1500) })).ok;
  } catch {
    return false;
  }
}

async function postWebhook(bot: string, token: string, s: Scenario, fingerprint: string, startsAt: string, status: 'firing' | 'resolved'): Promise<void> {
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

interface Msg {
  ts: string;
  text: string;
}

async function slackApi<T>(slack: string, token: string, method: string, params: Record<string, string>): Promise<T> {
  const res = await fetch(`${slack}/api/${method}?${new URLSearchParams(params)}`, { headers: { Authorization: `Bearer ${token}` } });
  return (await res.json()) as T;
}

async function history(slack: string, token: string, channel: string): Promise<Msg[]> {
  return (await slackApi<{ messages?: Msg[] }>(slack, token, 'conversations.history', { channel, limit: '200' })).messages ?? [];
}

async function replies(slack: string, token: string, channel: string, ts: string): Promise<Msg[]> {
  return (await slackApi<{ messages?: Msg[] }>(slack, token, 'conversations.replies', { channel, ts, limit: '200' })).messages ?? [];
}

async function findRoot(slack: string, token: string, alert: string, sinceTs: string): Promise<(Msg & { channel: string; channelName: string }) | undefined> {
  const list = await slackApi<{ channels?: Array<{ id: string; name: string }> }>(slack, token, 'conversations.list', { limit: '200' });
  for (const c of list.channels ?? []) {
    const m = (await history(slack, token, c.id)).find((x) => Number(x.ts) > Number(sinceTs) && x.text.includes(alert) && /INC-\d+/.test(x.text));
    if (m) return { ...m, channel: c.id, channelName: `#${c.name}` };
  }
  return undefined;
}

if (require.main === module) void main();
