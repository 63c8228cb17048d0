import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createMcpClient } from '../../lib/mcp-client';
import { findBinary } from '../../monitoring/processes';
import { SCENARIOS, type DrillReport, type ValidationReport } from '../../scripts/drill';
import { runDrillCli, type DrillRun } from '../helpers/drill';
import { freePort } from '../helpers/ports';
import { startStack, STACK_SECRETS, type Stack } from '../helpers/stack';

/**
 * Every playable drill through the real `npm run drill` CLI against one `npm start` stack
 * with real Prometheus and Alertmanager and a compressed escalation clock.
 */
jest.setTimeout(240_000);
const CONTROL_TOKEN = 'e2e-stack-control-token-0123456789';

let tmp: string;
let backupDir: string;
let controlPort: number;

function drill(stack: Stack, scenario: string, extra: string[] = []): Promise<DrillRun> {
  return runDrillCli(stack, scenario, ['--timeout', '40s', ...extra], {
    WORKERS_METRICS_PORT: String(stack.ports.WORKERS_METRICS_PORT),
    JWT_SECRET: STACK_SECRETS.JWT_SECRET,
    STACK_CONTROL_URL: `http://127.0.0.1:${controlPort}`,
    STACK_CONTROL_TOKEN: CONTROL_TOKEN,
    BACKUP_DIR: backupDir,
  });
}

/** Every root message in the sandbox, channel by channel: what a failed drill's thread search saw. */
async function slackRoots(stack: Stack): Promise<string> {
  const api = async (method: string, params: Record<string, string>) =>
    (await (await fetch(`${stack.url('SANDBOX_SLACK_PORT', `/api/${method}`)}?${new URLSearchParams(params)}`, { headers: { Authorization: `Bearer ${STACK_SECRETS.SLACK_BOT_TOKEN}` } })).json()) as {
      channels?: Array<{ id: string; name: string }>;
      messages?: Array<{ ts: string; text: string }>;
    };
  const lines: string[] = [];
  for (const c of (await api('conversations.list', { limit: '200' })).channels ?? []) {
    for (const m of (await api('conversations.history', { channel: c.id, limit: '200' })).messages ?? []) lines.push(`#${c.name} ${m.ts} ${m.text.slice(0, 140)}`);
  }
  return lines.join('\n');
}

const lastJson = <T>(stdout: string) => JSON.parse(stdout.trim().split('\n').pop()!) as T;

/** What a client sees at the server's port, every 200 ms, until stopped. */
function watchServer(url: string) {
  const seen = { refused: 0, answered: 0, answeredAfterRefused: 0 };
  let on = true;
  const loop = (async () => {
    while (on) {
      try {
        await fetch(url, { signal: AbortSignal.timeout(1000) });
        seen.answered += 1;
        if (seen.refused > 0) seen.answeredAfterRefused += 1;
      } catch (err) {
        if ((err as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED') seen.refused += 1;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return {
    seen,
    stop: async () => {
      on = false;
      await loop;
      return seen;
    },
  };
}

describe('npm run drill, every scenario', () => {
  let stack: Stack;
  const control = (p: string, init: RequestInit = {}, token = CONTROL_TOKEN) =>
    fetch(`http://127.0.0.1:${controlPort}${p}`, { ...init, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...init.headers } });
  const serverState = async () => (await (await control('/server')).json()) as { state: string; pid: number };
  const mcp = (scope: string) =>
    createMcpClient({
      url: stack.url('SERVER_PORT', '/mcp'),
      auth: { mint: { secret: STACK_SECRETS.JWT_SECRET, subject: 'e2e-drills', scope, issuer: 'mcp-financial-ops-local', audience: 'mcp-financial-server' } },
    });

  beforeAll(async () => {
    // CI installs both; a missing binary is a failure here, not a skip.
    expect(findBinary('prometheus')).toBeDefined();
    expect(findBinary('alertmanager', 'prometheus-alertmanager')).toBeDefined();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-drills-'));
    backupDir = path.join(tmp, 'backups');
    // The compressed local rules (20 s windows) make MemoryExhaustionForecast and, during error-burst,
    // BackendServiceDown flap: more than 10 new incidents a minute in a channel, and storm mode would put
    // a drill's incident into a digest line instead of its own thread. The drills are about their own
    // incident, so this stack's storm threshold is out of their way (storm mode has its own tests).
    const opsConfig = path.join(tmp, 'ops.yaml');
    fs.writeFileSync(opsConfig, 'storm:\n  threshold_per_minute: 1000\n');
    controlPort = await freePort();
    stack = await startStack({
      MONITORING: 'on',
      ESCALATION_TIME_SCALE: '0.01',
      BACKUP_DIR: backupDir,
      OPS_CONFIG: opsConfig,
      STACK_CONTROL_PORT: String(controlPort),
      STACK_CONTROL_TOKEN: CONTROL_TOKEN,
    });
    expect(stack.output()).toMatch(/Prometheus +http:\/\/127\.0\.0\.1:\d+/);
    expect(stack.output()).toMatch(/Alertmanager +http:\/\/127\.0\.0\.1:\d+/);
    expect(stack.output()).toContain(`stack control        http://127.0.0.1:${controlPort}`);
  });

  afterAll(async () => {
    await stack?.cleanup();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('every playable scenario is played below', () => {
    expect(SCENARIOS.filter((s) => s.playable).map((s) => s.name)).toEqual([...faults.map((s) => s.name), 'disaster-recovery', 'validate-recovery']);
  });

  const faults = SCENARIOS.filter((s) => s.playable && s.kind === 'fault');
  it.each(faults.map((s) => s.name))('%s: alert, thread, acknowledge, resolve, faults cleared', async (name) => {
    const scenario = SCENARIOS.find((s) => s.name === name)!;
    const run = await drill(stack, name);
    if (run.code !== 0) console.log(run.stdout, run.stderr, stack.output().slice(-3000), await slackRoots(stack));
    expect(run.code).toBe(0);
    const report = lastJson<DrillReport>(run.stdout);
    expect(report).toMatchObject({ scenario: name, alert: scenario.alert, alertFired: true, threadPosted: true, acknowledged: true, resolved: true, faultsCleared: true });
    expect(report.path).toBe(scenario.prometheusSeesIt ? 'prometheus' : 'direct-webhook');
    expect(report.incident).toMatch(/^INC-\d+$/);
    for (const t of [report.timeToAlertMs, report.timeToAcknowledgeMs, report.timeToResolveMs]) expect(t).toBeGreaterThan(0);
    expect(report.timeToAlertMs!).toBeLessThanOrEqual(report.timeToAcknowledgeMs!);
    expect(report.timeToAcknowledgeMs!).toBeLessThanOrEqual(report.timeToResolveMs!);
    // Nothing left broken behind the drill.
    for (const port of ['ACCOUNT_SERVICE_PORT', 'TRANSACTION_SERVICE_PORT'] as const) {
      expect(await (await fetch(stack.url(port, '/_sandbox/faults'))).json()).toEqual({ down: false, errorRate: 0, latencyMs: 0 });
    }
  });

  it('the control endpoint refuses a wrong token and a bad stop, and changes nothing', async () => {
    const before = await serverState();
    expect(before.state).toBe('running');
    expect((await control('/server/stop', { method: 'POST', body: JSON.stringify({ reason: 'x', maxDownSeconds: 5 }) }, 'wrong-token-0123456789')).status).toBe(401);
    const bad = await control('/server/stop', { method: 'POST', body: JSON.stringify({ reason: '', maxDownSeconds: 99_999 }) });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/reason: .*maxDownSeconds: /s);
    expect(await serverState()).toMatchObject({ state: 'running', pid: before.pid });
    expect((await fetch(stack.url('SERVER_PORT', '/health'))).ok).toBe(true);
  });

  it('disaster-recovery: backup, the server really down, ServiceDown through Prometheus, restore into staging, back up and healthy, resolved', async () => {
    const pidBefore = (await serverState()).pid;
    const watch = watchServer(stack.url('SERVER_PORT', '/health'));
    const run = await drill(stack, 'disaster-recovery');
    const seen = await watch.stop();
    if (run.code !== 0) console.log(run.stdout, run.stderr, stack.output().slice(-3000), await slackRoots(stack));
    expect(run.code).toBe(0);
    const report = lastJson<DrillReport>(run.stdout);
    expect(report).toMatchObject({ scenario: 'disaster-recovery', alert: 'ServiceDown', path: 'prometheus', alertFired: true, threadPosted: true, acknowledged: true, resolved: true, faultsCleared: true });
    expect(report.incident).toMatch(/^INC-\d+$/);
    const r = report.recovery!;
    // A fresh backup, taken through the server, in the server's BACKUP_DIR with its manifest.
    expect(r.backup).toMatchObject({ taken: true });
    expect(r.backup!.name).toMatch(/^backup-\d{8}T\d{6}Z-[0-9a-f]{6}\.tar\.gz$/);
    expect(fs.existsSync(path.join(backupDir, r.backup!.name))).toBe(true);
    expect(fs.existsSync(path.join(backupDir, `${r.backup!.name}.manifest.json`))).toBe(true);
    expect(r.backup!.fileCount).toBeGreaterThan(10);
    // Restored under BACKUP_DIR/restores/<target>, every file, identical to the live config; the staging is removed after.
    expect(r.restore!.fileCount).toBe(r.backup!.fileCount);
    expect(path.dirname(r.restore!.targetDir)).toBe(path.join(backupDir, 'restores'));
    expect(r.restore!.kept).toBe(false);
    expect(fs.existsSync(r.restore!.targetDir)).toBe(false);
    expect(r.differences).toEqual({ identical: r.backup!.fileCount, changed: [], missingLive: [], addedLive: [] });
    // The server process really went away and came back.
    expect(r.server).toMatchObject({ stopped: true, refusedDuringOutage: true, restarted: true, pidBefore });
    expect(r.server.pidAfter).not.toBe(pidBefore);
    expect(seen.refused).toBeGreaterThan(0);
    expect(seen.answeredAfterRefused).toBeGreaterThan(0);
    expect(await serverState()).toMatchObject({ state: 'running', pid: r.server.pidAfter });
    expect(r.healthOk).toBe(true);
    expect(r.checks.map((c) => [c.name, c.ok])).toEqual([
      ['health-full', true],
      ['mcp-read', true],
    ]);
    const times = [report.timeToAlertMs, report.timeToAcknowledgeMs, report.timeToRestoreMs, report.timeToRecoverMs, report.timeToResolveMs];
    for (const t of times) expect(t).toBeGreaterThan(0);
    expect([...times].sort((a, b) => a! - b!)).toEqual(times);
  });

  it('disaster-recovery with a tampered backup: refuses to restore, starts the server again anyway, exits 1', async () => {
    const made = await mcp('ops:admin').callTool('ops_backup_create', { kind: 'config' });
    expect(made.isError).toBe(false);
    const name = String(made.structuredContent!.name);
    fs.appendFileSync(path.join(backupDir, name), 'tampered');
    const run = await drill(stack, 'disaster-recovery', ['--backup', name]);
    expect(run.code).toBe(1);
    const report = lastJson<DrillReport>(run.stdout);
    expect(report.error).toMatch(new RegExp(`backup ${name.replace(/\./g, '\\.')} failed verification, nothing restored: archive sha256`));
    expect(report.recovery!.backup).toMatchObject({ name, taken: false });
    expect(report.recovery!.restore).toBeUndefined();
    expect(report.recovery!.server).toMatchObject({ stopped: true, refusedDuringOutage: true, restarted: true });
    expect(report.faultsCleared).toBe(true);
    expect(fs.readdirSync(path.join(backupDir, 'restores'))).toEqual([]);
    expect(await serverState()).toMatchObject({ state: 'running' });
    expect((await fetch(stack.url('SERVER_PORT', '/health'))).ok).toBe(true);
  });

  it('validate-recovery: every check runs against the live stack, and says so', async () => {
    // Its own newest backup (the one above was tampered with on purpose).
    expect((await mcp('ops:admin').callTool('ops_backup_create', { kind: 'config' })).isError).toBe(false);
    const run = await drill(stack, 'validate-recovery');
    if (run.code !== 0) console.log(run.stdout, run.stderr);
    expect(run.code).toBe(0);
    const report = lastJson<ValidationReport>(run.stdout);
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => [c.name, c.ran, c.ok])).toEqual(
      ['health-full', 'metrics-server', 'metrics-bot', 'metrics-workers', 'prometheus-scrape', 'mcp-read', 'backup-verify'].map((n) => [n, true, true]),
    );
    expect(report.checks.find((c) => c.name === 'prometheus-scrape')!.detail).toBe('up{job="mcp-financial-server"} 1, up{job="mcp-ops-bot"} 1, up{job="mcp-ops-workers"} 1');
  });

  it('validate-recovery fails, naming the check, when the newest backup does not verify', async () => {
    const made = await mcp('ops:admin').callTool('ops_backup_create', { kind: 'config' });
    const name = String(made.structuredContent!.name);
    fs.appendFileSync(path.join(backupDir, name), 'tampered');
    const run = await drill(stack, 'validate-recovery');
    expect(run.code).toBe(1);
    const report = lastJson<ValidationReport>(run.stdout);
    expect(report).toMatchObject({ ok: false, error: 'failed: backup-verify' });
    expect(report.checks.find((c) => c.name === 'backup-verify')!.detail).toMatch(new RegExp(`^${name.replace(/\./g, '\\.')}: archive sha256`));
  });
});
