/**
 * `npm run drill -- <scenario>`: plays one of the operations guide's failure
 * simulations against a running `npm start` and reports how long detection and
 * recovery took. It finds the stack the way `npm start` builds it: the
 * environment, then `.tmp/local.env` (what `npm start` writes) for anything
 * unset, then scripts/local-env.ts's defaults (ports, URLs). `--env-file` picks
 * another file. Faults are cleared on success, failure, timeout and Ctrl-C.
 * The DR drill and its validation live in scripts/drill/recovery.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { acknowledge, acknowledgedBy, findRoot, postWebhook, stackUrls, until, waitResolved, type StackEnv } from './drill/incident';
import { runDisasterRecovery, runValidateRecovery, startDrill, type DrillReport } from './drill/recovery';
import { buildLocalEnv } from './local-env';

export type { DrillReport, ValidationReport } from './drill/recovery';

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
  /** fault: break a backend or send traffic; recovery: stop the MCP server and restore; validation: checks only, no alert. */
  kind: 'fault' | 'recovery' | 'validation';
}

export const SCENARIOS: Scenario[] = [
  {
    name: 'backend-down',
    alert: 'BackendServiceDown',
    severity: 'high',
    fault: { service: 'accounts', state: { down: true } },
    prometheusSeesIt: true,
    playable: true,
    kind: 'fault',
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
    kind: 'fault',
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
    kind: 'fault',
    about:
      'Makes half of account-service answers 500 (errors above 5 %), so HighErrorRate fires. The responder acknowledges and investigates (health check, breaker state). The drill sets the error rate back to 0 and resolves the alert.',
  },
  {
    name: 'auth-attack',
    alert: 'HighAuthFailureRate',
    severity: 'high',
    prometheusSeesIt: false,
    playable: true,
    kind: 'fault',
    about:
      'Sends bursts of requests with bad bearer tokens to the MCP server (from one forwarded address, X-Forwarded-For 203.0.113.66, which counts only when the server trusts the proxy), so HighAuthFailureRate fires. The responder acknowledges and blocks the address. The drill stops the requests and resolves the alert; it leaves no fault behind.',
  },
  {
    name: 'memory-pressure',
    alert: 'HighMemoryUsage',
    severity: 'warning',
    prometheusSeesIt: false,
    playable: true,
    kind: 'fault',
    about:
      'HighMemoryUsage (process_memory_usage_bytes / process_memory_limit_bytes > 0.8). The sandbox has no memory fault yet, so the drill raises the alert itself through the webhook. The responder acknowledges and restarts or scales. Nothing to clean up.',
  },
  {
    name: 'disaster-recovery',
    alert: 'ServiceDown',
    severity: 'critical',
    prometheusSeesIt: true,
    playable: true,
    kind: 'recovery',
    about:
      "The guide's Monthly DR Drill. Takes a config backup through ops_backup_create (--backup latest|<name>: restore an existing one instead), then stops the MCP server process for real through npm start's control endpoint (STACK_CONTROL_URL, bearer STACK_CONTROL_TOKEN, both in .tmp/local.env) and checks its port refuses connections. Prometheus sees up == 0 and ServiceDown (P1) fires through Alertmanager into a thread; without Prometheus the drill posts the webhook itself and says so. alice acknowledges. With the server down, the drill verifies the backup against its manifest and restores it offline into BACKUP_DIR/restores/drill-<time> (removed afterwards unless --keep-restore), compares the restored files with the live ones, starts the server again, runs the health check (npm run health -- full) and a read through /mcp, and waits for the alert to resolve. Reports time to detect, acknowledge, restore, recover and resolve, counted from the stop. On any failure the server is started again (and npm start starts it by itself when the drill's hold expires).",
  },
  {
    name: 'validate-recovery',
    alert: '-',
    severity: '-',
    prometheusSeesIt: false,
    playable: true,
    kind: 'validation',
    about:
      "The guide's validate-recovery.sh alone, against the running stack, with no alert: npm run health -- full (healthy only), /metrics of the server, bot and workers, up == 1 for the three in Prometheus (skipped, and said so, when no Prometheus runs), a read through /mcp (list_accounts), and ops_backup_verify on the newest backup. Prints each check as ok, FAIL or skip; exits 1 when any check that ran failed.",
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
  /** disaster-recovery: restore this backup ("latest" or a name) instead of taking one. */
  backup?: string;
  /** disaster-recovery: keep the staging restore for inspection. */
  keepRestore: boolean;
}

export class UsageError extends Error {}

export const USAGE = `usage: npm run drill -- <scenario> [--timeout 120s] [--json] [--direct] [--wait-for-ack] [--env-file .tmp/local.env]
       npm run drill -- disaster-recovery [--backup latest|<name>.tar.gz] [--keep-restore] [...]
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
  const args: DrillArgs = { list: false, help: false, json: false, timeoutMs: 120_000, direct: false, keepRestore: false, waitForAck: false };
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
    else if (a === '--backup') {
      const v = value();
      if (v !== 'latest' && !BACKUP_NAME.test(v)) throw new UsageError(`--backup: "${v}" is neither "latest" nor a backup name (backup-….tar.gz, as ops_backup_list shows)`);
      args.backup = v;
    } else if (a === '--keep-restore') args.keepRestore = true;
    else if (a.startsWith('-')) throw new UsageError(`unknown flag ${a}`);
    else positional.push(a);
  }
  if (args.list || args.help) return args;
  if (positional.length !== 1) throw new UsageError(positional.length ? `one scenario at a time, got ${positional.join(' ')}` : 'which scenario?');
  const scenario = SCENARIOS.find((s) => s.name === positional[0]);
  if (!scenario) throw new UsageError(`unknown scenario "${positional[0]}"`);
  args.scenario = scenario;
  if ((args.backup || args.keepRestore) && scenario.kind !== 'recovery') throw new UsageError(`--backup and --keep-restore are for disaster-recovery, not ${scenario.name}`);
  if (args.direct && scenario.kind === 'validation') throw new UsageError('--direct: validate-recovery raises no alert');
  if (args.waitForAck && scenario.kind === 'validation') throw new UsageError('--wait-for-ack: validate-recovery raises no alert');
  return args;
}

/** What ops_backup_list names a backup (server/ops/backups.ts); no paths. */
const BACKUP_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*\.tar\.gz$/;

export function listText(): string {
  return SCENARIOS.map((s) => `${s.name}  (alert: ${s.alert})\n  ${s.about}`).join('\n\n');
}

/** The running stack: environment over .tmp/local.env over npm start's defaults. */
export function stackEnv(envFile: string | undefined, input: NodeJS.ProcessEnv): StackEnv {
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
  let env: StackEnv;
  try {
    env = stackEnv(args.envFile, process.env);
  } catch (err) {
    console.error(`drill: ${(err as Error).message}`);
    process.exit(2);
  }
  if (scenario.kind === 'validation') {
    const report = await runValidateRecovery(env);
    if (args.json) console.log(JSON.stringify(report));
    else {
      console.log(report.steps.join('\n'));
      const ran = report.checks.filter((c) => c.ran);
      console.log(`validate-recovery: ${ran.filter((c) => c.ok).length}/${ran.length} checks passed${ran.length < report.checks.length ? `, ${report.checks.length - ran.length} skipped` : ''}`);
      if (report.error) console.error(`drill: ${report.error}`);
    }
    process.exit(report.ok ? 0 : 1);
  }
  const report =
    scenario.kind === 'recovery'
      ? await runDisasterRecovery(scenario, env, { timeoutMs: args.timeoutMs, direct: args.direct, backup: args.backup, keepRestore: args.keepRestore, waitForAck: args.waitForAck })
      : await runDrill(scenario, env, args);
  if (args.json) console.log(JSON.stringify(report));
  else printReport(scenario, report);
  process.exit(report.error ? 1 : 0);
}

function printReport(scenario: Scenario, report: DrillReport): void {
  console.log(report.steps.join('\n'));
  const s = (ms?: number) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);
  if (scenario.kind === 'recovery') {
    const r = report.recovery!;
    const d = r.differences;
    console.log(
      [
        `${scenario.name}: detect ${s(report.timeToAlertMs)}, acknowledge ${s(report.timeToAcknowledgeMs)}, restore ${s(report.timeToRestoreMs)}, recover ${s(report.timeToRecoverMs)}, resolve ${s(report.timeToResolveMs)} after the server stopped (${report.path})`,
        `  backup     ${r.backup ? `${r.backup.name} (${r.backup.taken ? 'taken by the drill' : `existing, ${r.backup.createdAt}`}, ${r.backup.fileCount} files)` : '-'}`,
        `  restore    ${r.restore ? `${r.restore.fileCount} files into ${r.restore.targetDir}${r.restore.kept ? ' (kept)' : ' (removed)'}` : '-'}`,
        `  vs live    ${d ? `${d.identical} identical, ${d.changed.length} changed, ${d.missingLive.length} gone, ${d.addedLive.length} added${[...d.changed, ...d.missingLive, ...d.addedLive].map((f) => `\n             ${f}`).join('')}` : '-'}`,
        `  server     ${r.server.stopped ? `stopped (pid ${r.server.pidBefore}), port ${r.server.refusedDuringOutage ? 'refused connections' : 'still answered'}; ${r.server.restarted ? `running again (pid ${r.server.pidAfter})` : 'NOT running again'}` : 'not stopped'}`,
        `  health     ${r.checks.length ? r.checks.map((c) => `${c.name} ${c.ok ? 'ok' : 'FAIL'}`).join(', ') : 'not checked'}`,
      ].join('\n'),
    );
  } else console.log(`${scenario.name}: alert ${s(report.timeToAlertMs)}, acknowledge ${s(report.timeToAcknowledgeMs)}, resolve ${s(report.timeToResolveMs)} (${report.path})`);
  if (report.error) console.error(`drill: ${report.error}`);
}

export async function runDrill(scenario: Scenario, env: StackEnv, args: DrillArgs): Promise<DrillReport> {
  const { slack, bot } = stackUrls(env);
  const backends = { accounts: env.ACCOUNT_SERVICE_URL! };
  const promUrl = env.PROMETHEUS_URL;
  const { report, usePrometheus, t0, deadline, step, fingerprint, startsAt } = await startDrill(scenario, env, { ...args, prometheusSeesIt: scenario.prometheusSeesIt }, { faultsCleared: scenario.fault === undefined });
  const clearFault = async () => {
    if (!scenario.fault) return;
    const res = await fetch(`${backends[scenario.fault.service]}/_sandbox/faults`, { method: 'DELETE' }).catch(() => undefined);
    const now = res?.ok ? ((await res.json()) as Record<string, unknown>) : undefined;
    report.faultsCleared = now !== undefined && now.down === false && now.errorRate === 0 && now.latencyMs === 0;
  };
  const onSignal = () => void clearFault().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const webhook = (status: 'firing' | 'resolved') => postWebhook(bot, env.ALERTMANAGER_WEBHOOK_TOKEN!, scenario, fingerprint, startsAt, status);
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

    const root = await until(deadline, 'the incident thread', async () => findRoot(slack, env.SLACK_BOT_TOKEN!, scenario.alert, sinceTs));
    report.alertFired = true;
    report.threadPosted = true;
    report.channel = root.channel;
    report.incident = /(INC-\d+)/.exec(root.text)?.[1];
    report.timeToAlertMs = Date.now() - t0;
    step(`incident ${report.incident ?? '?'} posted in ${root.channelName}: ${root.text.slice(0, 80)}`);

    if (args.waitForAck) step(`waiting for someone to press Acknowledge on ${report.incident ?? 'the incident'} (${slack}/)`);
    const ack = await acknowledge(slack, env.SLACK_BOT_TOKEN!, root, deadline, { clickAsAlice: !args.waitForAck });
    report.acknowledged = true;
    report.acknowledgedBy = acknowledgedBy(ack);
    report.timeToAcknowledgeMs = Date.now() - t0;
    step(`${report.acknowledgedBy ?? 'someone'} pressed Acknowledge; the thread says so`);

    await clearFault();
    if (scenario.fault) step('fault cleared');
    if (!usePrometheus) await webhook('resolved');
    await waitResolved(slack, env.SLACK_BOT_TOKEN!, root, deadline);
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

if (require.main === module) void main();
