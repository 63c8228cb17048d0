/**
 * The guide's Monthly DR Drill (Recovery Testing): simulate-failure,
 * disaster-recovery, validate-recovery, against a running `npm start`.
 *
 * disaster-recovery: a backup through ops_backup_create (or the latest one),
 * the MCP server stopped for real through npm start's control endpoint
 * (./stack-control.ts), the outage detected (Prometheus → ServiceDown →
 * Alertmanager → the bot's thread, or the drill's own webhook without
 * Prometheus), acknowledged as alice, the backup verified and restored offline
 * into BACKUP_DIR/restores/<target> with the backup store itself (the server is
 * down), compared with the live files, the server started again, health checked,
 * the alert resolved. Whatever fails, the server is started again.
 *
 * validate-recovery: the post-recovery checks alone, each reported as ran/ok.
 */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { createMcpClient } from '../../lib/mcp-client';
import { createBackupStore, sha256File, type BackupManifest } from '../../server/ops/backups';
import { acknowledge, acknowledgedBy, answers, findRoot, postWebhook, sleep, stackUrls, until, waitResolved, type AlertSpec, type StackEnv } from './incident';
import { stackControlClient } from './stack-control';

export interface RecoveryCheck {
  name: string;
  /** False when the check could not run here (e.g. no Prometheus): not a failure, and said so. */
  ran: boolean;
  ok: boolean;
  detail: string;
}

export interface FileDifferences {
  /** Restored files byte-identical to the live ones. */
  identical: number;
  /** Live path of each restored file whose content differs from the live one. */
  changed: string[];
  /** In the backup, gone from the live tree. */
  missingLive: string[];
  /** Live under a backed-up path, not in the backup (added since). */
  addedLive: string[];
}

export interface RecoveryReport {
  backup?: { name: string; taken: boolean; createdAt: string; fileCount: number };
  restore?: { targetDir: string; fileCount: number; kept: boolean };
  differences?: FileDifferences;
  server: { stopped: boolean; pidBefore?: number; refusedDuringOutage: boolean; restarted: boolean; pidAfter?: number };
  checks: RecoveryCheck[];
  healthOk: boolean;
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
  /** The drill's fault is gone (disaster-recovery: the server runs again). */
  faultsCleared: boolean;
  /** disaster-recovery: from the moment the server stopped. */
  timeToAlertMs?: number;
  timeToAcknowledgeMs?: number;
  timeToRestoreMs?: number;
  timeToRecoverMs?: number;
  timeToResolveMs?: number;
  recovery?: RecoveryReport;
  steps: string[];
  error?: string;
}

export interface ValidationReport {
  scenario: 'validate-recovery';
  ok: boolean;
  checks: RecoveryCheck[];
  steps: string[];
  error?: string;
}

export interface RecoveryOptions {
  timeoutMs: number;
  direct: boolean;
  /** Restore this backup (a name, or "latest") instead of taking a fresh one. */
  backup?: string;
  keepRestore: boolean;
  /** A person acknowledges (in the page); the drill waits instead of pressing the button as alice. */
  waitForAck?: boolean;
}

const LIST_CAP = 50;

/**
 * How every drill that raises an alert starts: the alert's path (real Prometheus when the drill may use it, it
 * runs and it can see the fault; else the drill's own webhook), a report in which nothing has happened yet, the
 * clock and deadline, `step` (a line stamped with the seconds since the start) and the alert's identity.
 */
export async function startDrill(
  spec: AlertSpec,
  env: StackEnv,
  opts: { timeoutMs: number; direct: boolean; prometheusSeesIt: boolean },
  initial: Pick<DrillReport, 'faultsCleared' | 'recovery'>,
) {
  const prometheus = stackUrls(env).prometheus;
  const usePrometheus = !opts.direct && opts.prometheusSeesIt && prometheus !== undefined && (await answers(`${prometheus}/-/ready`));
  const report: DrillReport = {
    scenario: spec.name,
    alert: spec.alert,
    path: usePrometheus ? 'prometheus' : 'direct-webhook',
    alertFired: false,
    threadPosted: false,
    acknowledged: false,
    resolved: false,
    ...initial,
    steps: [],
  };
  const t0 = Date.now();
  const step = (line: string) => void report.steps.push(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${line}`);
  return { report, usePrometheus, t0, deadline: t0 + opts.timeoutMs, step, fingerprint: crypto.randomBytes(8).toString('hex'), startsAt: new Date().toISOString() };
}

function mcpFor(env: StackEnv, scope: string) {
  if (!env.JWT_SECRET || env.JWT_SECRET.length < 16) {
    throw new Error('JWT_SECRET unknown: the drill mints its MCP tokens from it (npm start writes it to .tmp/local.env; or set it)');
  }
  return createMcpClient({
    url: env.MCP_SERVER_URL!,
    clientName: 'drill',
    timeoutMs: 20_000,
    auth: { mint: { secret: env.JWT_SECRET, subject: 'drill', scope, ttl: 120, issuer: env.JWT_ISSUER, audience: env.JWT_AUDIENCE } },
  });
}

function storeFor(env: StackEnv) {
  const list = (v: string | undefined) => (v ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  return createBackupStore({ paths: list(env.BACKUP_PATHS), dir: env.BACKUP_DIR! });
}

async function runCheck(name: string, fn: () => Promise<{ ok: boolean; detail: string; ran?: boolean }>): Promise<RecoveryCheck> {
  try {
    const r = await fn();
    return { name, ran: r.ran ?? true, ok: r.ok, detail: r.detail };
  } catch (err) {
    return { name, ran: true, ok: false, detail: (err as Error).message };
  }
}

/** `npm run health -- full`: ops_health_check over MCP, healthy only (degraded and unhealthy fail). */
export function healthFullCheck(env: StackEnv): Promise<RecoveryCheck> {
  return runCheck('health-full', async () => {
    const r = await mcpFor(env, 'ops:read').callTool('ops_health_check', { mode: 'full' });
    if (r.isError) return { ok: false, detail: r.text };
    const s = r.structuredContent as { status?: string; problems?: string[] } | undefined;
    return { ok: s?.status === 'healthy', detail: `${s?.status ?? 'no status'}${s?.problems?.length ? `: ${s.problems.join('; ')}` : ''}` };
  });
}

/** A finance read through /mcp to the account service: the path an agent uses. */
export function mcpReadCheck(env: StackEnv): Promise<RecoveryCheck> {
  return runCheck('mcp-read', async () => {
    const r = await mcpFor(env, 'accounts:read').callTool('list_accounts', { limit: 5 });
    if (r.isError) return { ok: false, detail: r.text };
    const accounts = (r.structuredContent as { accounts?: unknown[] } | undefined)?.accounts;
    return { ok: Array.isArray(accounts), detail: Array.isArray(accounts) ? `list_accounts answered ${accounts.length} account(s)` : 'list_accounts answered without accounts' };
  });
}

const SCRAPED_JOBS = { server: 'mcp-financial-server', bot: 'mcp-ops-bot', workers: 'mcp-ops-workers' } as const;

export function metricsChecks(env: StackEnv): Promise<RecoveryCheck[]> {
  const urls = stackUrls(env);
  return Promise.all(
    (Object.keys(SCRAPED_JOBS) as Array<keyof typeof SCRAPED_JOBS>).map((part) =>
      runCheck(`metrics-${part}`, async () => {
        const res = await fetch(`${urls[part]}/metrics`, { signal: AbortSignal.timeout(5000) });
        const text = await res.text();
        const ok = res.ok && text.includes('# HELP');
        return { ok, detail: `${urls[part]}/metrics: ${res.status}${ok ? `, ${text.split('\n').filter((l) => l && !l.startsWith('#')).length} samples` : ''}` };
      }),
    ),
  );
}

/** up == 1 for the server, the bot and the workers in Prometheus; waits out a scrape or two after a restart. */
export function prometheusScrapeCheck(env: StackEnv, waitMs = 20_000): Promise<RecoveryCheck> {
  return runCheck('prometheus-scrape', async () => {
    const prom = env.PROMETHEUS_URL;
    if (!prom || !(await answers(`${prom}/-/ready`))) {
      return { ran: false, ok: true, detail: prom ? `Prometheus at ${prom} does not answer: scrape not checked` : 'no Prometheus running (PROMETHEUS_URL unset): scrape not checked' };
    }
    const jobs = Object.values(SCRAPED_JOBS);
    const deadline = Date.now() + waitMs;
    let last: Record<string, string> = {};
    for (;;) {
      const q = `up{job=~"${jobs.join('|')}"}`;
      const res = await fetch(`${prom}/api/v1/query?${new URLSearchParams({ query: q })}`, { signal: AbortSignal.timeout(5000) });
      const body = (await res.json()) as { data?: { result?: Array<{ metric: { job?: string }; value: [number, string] }> } };
      last = Object.fromEntries(jobs.map((j) => [j, body.data?.result?.find((r) => r.metric.job === j)?.value[1] ?? 'absent']));
      if (jobs.every((j) => last[j] === '1') || Date.now() > deadline) break;
      await sleep(1000);
    }
    return { ok: jobs.every((j) => last[j] === '1'), detail: jobs.map((j) => `up{job="${j}"} ${last[j]}`).join(', ') };
  });
}

/** The newest backup, verified by the server (ops_backup_verify). */
export function latestBackupCheck(env: StackEnv): Promise<RecoveryCheck> {
  return runCheck('backup-verify', async () => {
    const mcp = mcpFor(env, 'ops:read');
    const listed = await mcp.callTool('ops_backup_list', { limit: 1 });
    if (listed.isError) return { ok: false, detail: listed.text };
    const latest = (listed.structuredContent as { backups?: Array<{ name: string; createdAt: string }> } | undefined)?.backups?.[0];
    if (!latest) return { ok: false, detail: 'no backup to verify (take one: ops_backup_create, or /ops report backup)' };
    const v = await mcp.callTool('ops_backup_verify', { name: latest.name });
    if (v.isError) return { ok: false, detail: v.text };
    const s = v.structuredContent as { ok?: boolean; fileCount?: number; problems?: string[] };
    return { ok: s.ok === true, detail: s.ok ? `${latest.name} (${latest.createdAt}): ${s.fileCount} files intact` : `${latest.name}: ${(s.problems ?? []).join('; ')}` };
  });
}

/** The guide's validate-recovery.sh: every check, each saying whether it ran. */
export async function runValidateRecovery(env: StackEnv): Promise<ValidationReport> {
  const t0 = Date.now();
  const steps: string[] = [];
  const checks: RecoveryCheck[] = [];
  const record = (c: RecoveryCheck) => {
    checks.push(c);
    steps.push(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${c.ran ? (c.ok ? 'ok  ' : 'FAIL') : 'skip'} ${c.name}: ${c.detail}`);
  };
  record(await healthFullCheck(env));
  for (const c of await metricsChecks(env)) record(c);
  record(await prometheusScrapeCheck(env));
  record(await mcpReadCheck(env));
  record(await latestBackupCheck(env));
  const failed = checks.filter((c) => c.ran && !c.ok).map((c) => c.name);
  return { scenario: 'validate-recovery', ok: failed.length === 0, checks, steps, ...(failed.length ? { error: `failed: ${failed.join(', ')}` } : {}) };
}

async function filesUnder(dir: string): Promise<string[]> {
  const stat = await fs.stat(dir).catch(() => undefined);
  if (!stat) return [];
  if (stat.isFile()) return [dir];
  if (!stat.isDirectory()) return [];
  const out: string[] = [];
  for (const e of await fs.readdir(dir)) out.push(...(await filesUnder(path.join(dir, e))));
  return out;
}

/** The restored files against the live ones they came from (a backup stores "/a/b" as "a/b"). */
export async function compareWithLive(manifest: BackupManifest, targetDir: string): Promise<FileDifferences> {
  const diff: FileDifferences = { identical: 0, changed: [], missingLive: [], addedLive: [] };
  const inBackup = new Set<string>();
  for (const f of manifest.files) {
    const live = `/${f.path}`;
    inBackup.add(live);
    const restored = await sha256File(path.join(targetDir, f.path));
    const current = await sha256File(live).catch(() => undefined);
    if (current === undefined) diff.missingLive.push(live);
    else if (current !== restored) diff.changed.push(live);
    else diff.identical += 1;
  }
  for (const p of manifest.paths.filter((x) => path.isAbsolute(x))) {
    for (const live of await filesUnder(p)) if (!inBackup.has(live)) diff.addedLive.push(live);
  }
  return diff;
}

const cap = (list: string[]) => (list.length > LIST_CAP ? [...list.slice(0, LIST_CAP), `… ${list.length - LIST_CAP} more`] : list);

/** Is anything listening? Connection refused is the answer a stopped server gives. */
async function portRefuses(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(2000) });
    return false;
  } catch (err) {
    return (err as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED';
  }
}

export async function runDisasterRecovery(spec: AlertSpec, env: StackEnv, opts: RecoveryOptions): Promise<DrillReport> {
  const urls = stackUrls(env);
  const recovery: RecoveryReport = { server: { stopped: false, refusedDuringOutage: false, restarted: false }, checks: [], healthOk: false };
  const { report, usePrometheus, t0, deadline, step, fingerprint, startsAt } = await startDrill(spec, env, { ...opts, prometheusSeesIt: true }, { faultsCleared: true, recovery });
  const slackToken = env.SLACK_BOT_TOKEN!;
  let webhookFired = false;
  let restoreDir: string | undefined;
  let outageAt = 0;
  const since = () => Date.now() - outageAt;

  if (!env.STACK_CONTROL_URL || !env.STACK_CONTROL_TOKEN) {
    report.error = 'STACK_CONTROL_URL/STACK_CONTROL_TOKEN unknown: disaster-recovery stops the MCP server through npm start\'s control endpoint (npm start writes both to .tmp/local.env); nothing was done';
    step(`failed: ${report.error}`);
    return report;
  }
  const control = stackControlClient(env.STACK_CONTROL_URL, env.STACK_CONTROL_TOKEN);
  const store = storeFor(env);

  /** Never leave the stack broken: the server runs again, the drill's alert is resolved, a partial restore is gone. */
  let cleaned: Promise<void> | undefined;
  const cleanup = () =>
    (cleaned ??= (async () => {
      if (recovery.server.stopped && !recovery.server.restarted) {
        try {
          const started = await control.start();
          recovery.server.restarted = true;
          recovery.server.pidAfter = started.pid;
          step(`MCP server started again after the failure (pid ${started.pid})`);
        } catch (err) {
          step(`could not start the MCP server again: ${(err as Error).message} (npm start restarts it itself when the hold expires)`);
        }
      }
      const state = await control.state().catch(() => undefined);
      report.faultsCleared = state?.state === 'running';
      if (webhookFired && !report.resolved) await postWebhook(urls.bot, env.ALERTMANAGER_WEBHOOK_TOKEN!, spec, fingerprint, startsAt, 'resolved').catch(() => undefined);
      if (restoreDir && (report.error || !opts.keepRestore)) {
        await fs.rm(restoreDir, { recursive: true, force: true }).catch(() => undefined);
        if (recovery.restore) recovery.restore.kept = false;
      }
    })());
  const onSignal = () => void cleanup().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    const before = await control.state();
    if (before.state !== 'running') throw new Error(`the MCP server is ${before.state} before the drill (${before.reason ?? 'not by a drill'}); start it first`);
    if (!(await answers(`${urls.server}/health`))) throw new Error(`the MCP server does not answer ${urls.server}/health before the drill`);

    // 1. A recent backup.
    let manifest: BackupManifest;
    if (opts.backup) {
      const name = opts.backup === 'latest' ? (await store.list()).find((m) => /^backup-\d/.test(m.name))?.name : opts.backup;
      if (!name) throw new Error(`no config backup in BACKUP_DIR=${store.dir} to restore (drop --backup to take one)`);
      manifest = await store.readManifest(name);
      recovery.backup = { name, taken: false, createdAt: manifest.createdAt, fileCount: manifest.files.length };
      step(`using backup ${name} from ${manifest.createdAt} (${manifest.files.length} files)`);
    } else {
      const created = await mcpFor(env, 'ops:admin').callTool('ops_backup_create', { kind: 'config' });
      if (created.isError) throw new Error(`ops_backup_create failed: ${created.text}`);
      const name = String(created.structuredContent?.name ?? '');
      manifest = await store.readManifest(name).catch((err: Error) => {
        throw new Error(`the server made ${name}, but its manifest is not in BACKUP_DIR=${store.dir}: is this the server's BACKUP_DIR (.tmp/local.env)? ${err.message}`);
      });
      recovery.backup = { name, taken: true, createdAt: manifest.createdAt, fileCount: manifest.files.length };
      step(`backup ${name} taken through ops_backup_create: ${manifest.files.length} files`);
    }

    // 2. The outage: the server process stops for real.
    const maxDownSeconds = Math.ceil(opts.timeoutMs / 1000) + 60;
    const stopped = await control.stop(`npm run drill -- ${spec.name}`, maxDownSeconds);
    outageAt = Date.now();
    recovery.server.stopped = true;
    recovery.server.pidBefore = stopped.pid;
    report.faultsCleared = false;
    step(`MCP server stopped (pid ${stopped.pid}); npm start starts it itself by ${stopped.restartAt} if the drill does not`);
    recovery.server.refusedDuringOutage = await portRefuses(`${urls.server}/health`);
    if (!recovery.server.refusedDuringOutage) throw new Error(`${urls.server} still accepts connections after the stop`);
    step(`${urls.server} refuses connections`);

    // 3. Detection.
    const sinceTs = (t0 / 1000 - 1).toFixed(6);
    if (usePrometheus) step(`waiting for Prometheus (up{job="mcp-financial-server"} == 0) and Alertmanager to raise ${spec.alert}`);
    else {
      await postWebhook(urls.bot, env.ALERTMANAGER_WEBHOOK_TOKEN!, spec, fingerprint, startsAt, 'firing');
      webhookFired = true;
      step(`${spec.alert} posted to the bot as Alertmanager would (direct webhook: ${urls.prometheus ? 'Prometheus not answering, or --direct' : 'no Prometheus running'})`);
    }
    const root = await until(deadline, 'the incident thread', () => findRoot(urls.slack, slackToken, spec.alert, sinceTs));
    report.alertFired = report.threadPosted = true;
    report.channel = root.channel;
    report.incident = /(INC-\d+)/.exec(root.text)?.[1];
    report.timeToAlertMs = since();
    step(`incident ${report.incident ?? '?'} posted in ${root.channelName}: ${root.text.slice(0, 80)}`);

    // 4. Acknowledge.
    if (opts.waitForAck) step(`waiting for someone to press Acknowledge on ${report.incident ?? 'the incident'} (${urls.slack}/)`);
    const ack = await acknowledge(urls.slack, slackToken, root, deadline, { clickAsAlice: !opts.waitForAck });
    report.acknowledged = true;
    report.acknowledgedBy = acknowledgedBy(ack);
    report.timeToAcknowledgeMs = since();
    step(`${report.acknowledgedBy ?? 'someone'} pressed Acknowledge; the thread says so`);

    // 5. Restore offline into staging, compare with the live files.
    const target = `drill-${new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${fingerprint.slice(0, 6)}`;
    restoreDir = path.join(store.restoreRoot, target);
    const restored = await store.restore(manifest.name, target);
    recovery.restore = { targetDir: restored.targetDir, fileCount: restored.fileCount, kept: opts.keepRestore };
    const diff = await compareWithLive(manifest, restored.targetDir);
    recovery.differences = { identical: diff.identical, changed: cap(diff.changed), missingLive: cap(diff.missingLive), addedLive: cap(diff.addedLive) };
    report.timeToRestoreMs = since();
    step(`verified ${manifest.name} against its manifest and restored ${restored.fileCount} files into ${restored.targetDir}`);
    const same = diff.changed.length + diff.missingLive.length + diff.addedLive.length === 0;
    step(
      same
        ? `restored files match the live config (${diff.identical} identical)`
        : `restored vs live: ${diff.identical} identical, ${diff.changed.length} changed, ${diff.missingLive.length} gone live, ${diff.addedLive.length} added live since the backup${[...diff.changed, ...diff.missingLive, ...diff.addedLive].length ? ` (${[...diff.changed, ...diff.missingLive, ...diff.addedLive].slice(0, 5).join(', ')}${[...diff.changed, ...diff.missingLive, ...diff.addedLive].length > 5 ? ', …' : ''})` : ''}`,
    );

    // 6. Start it again.
    const started = await control.start();
    recovery.server.restarted = true;
    recovery.server.pidAfter = started.pid;
    report.timeToRecoverMs = since();
    step(`MCP server started again (pid ${started.pid}, ${(started.tookMs / 1000).toFixed(1)} s to answer)`);

    // 7. Verify: npm run health -- full, and a read through /mcp (a just-started server may take a moment to reach Redis).
    let health = await healthFullCheck(env);
    const healthDeadline = Math.min(deadline, Date.now() + 15_000);
    while (!health.ok && Date.now() < healthDeadline) {
      await sleep(1000);
      health = await healthFullCheck(env);
    }
    const read = await mcpReadCheck(env);
    recovery.checks.push(health, read);
    recovery.healthOk = health.ok && read.ok;
    for (const c of [health, read]) step(`${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`);
    if (!recovery.healthOk) throw new Error(`the recovered server is not healthy: ${[health, read].filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`).join('; ')}`);
    report.faultsCleared = true;

    // 8. Resolution.
    if (webhookFired) await postWebhook(urls.bot, env.ALERTMANAGER_WEBHOOK_TOKEN!, spec, fingerprint, startsAt, 'resolved');
    await waitResolved(urls.slack, slackToken, root, deadline);
    report.resolved = true;
    report.timeToResolveMs = since();
    step('the incident message says resolved');
  } catch (err) {
    report.error = (err as Error).message;
    step(`failed: ${report.error}`);
  } finally {
    await cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (recovery.restore && !recovery.restore.kept && !report.error) step(`staging ${recovery.restore.targetDir} removed (--keep-restore keeps it)`);
  return report;
}
