/**
 * The routine end to end with real parts: the workers' routine queue (BullMQ
 * job schedulers) against the real MCP server over the backend simulators, a
 * real Prometheus (Debian's binary) scraping the server, the bot and the
 * workers, the real bot (webhook, /ops, buttons, outbox) and the sandbox
 * Slack read back as a person would. Each report runs on demand (`/ops
 * report`) and from its scheduler (the next slot promoted, or a schedule two
 * seconds apart).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Job } from 'bullmq';
import { routineSchedulerId } from '../../lib/contracts';
import { ROUTINE_REPORTS } from '../../lib/ops-config-routine';
import { renderMonitoring } from '../../monitoring/render';
import { freePort, startPrometheus, type ToolProcess } from '../../monitoring/processes';
import { pngSize } from '../../workers/routine/chart';
import { WEBHOOK_TOKEN } from '../helpers/bot-harness';
import { eventually } from '../helpers/ports';
import { certificateExpiringIn, scrapeCounter, startRoutineHarness, startTlsServer, type RoutineHarness } from './routine-harness';

jest.setTimeout(240_000);

type Msg = { ts: string; text: string; blocks?: unknown[]; files?: Array<{ name: string; url_private: string; size: number }> };
const DAY = 86_400_000;
const NEVER = '0 0 1 1 *';

describe('the routine (real Prometheus, MCP server, bot, workers, sandbox Slack)', () => {
  let h: RoutineHarness;
  let prometheus: ToolProcess;
  let tlsServer: Awaited<ReturnType<typeof startTlsServer>>;
  let dir: string;
  let certDir: string;

  const reports = async () => (await h.bot.sandbox.history('ops-reports')) as unknown as Msg[];
  const body = (m: Msg) => `${m.text}\n${JSON.stringify(m.blocks ?? [])}`;
  /** The newest report whose text matches, posted after `since` (a Slack ts). */
  const report = (match: RegExp, since = '0') =>
    eventually(async () => (await reports()).find((m) => Number(m.ts) > Number(since) && match.test(m.text)), 60_000, 200);
  const latestTs = async () => (await reports())[0]?.ts ?? '0';
  const ops = (user: string, text: string) => h.bot.sandbox.command({ user, channel: 'ops-reports', command: '/ops', text });
  /** Workers processes' metrics endpoints: the harness's, and a replica's once one runs. */
  const workerUrls: string[] = [];
  const successes = async (job: string) => {
    let total = 0;
    for (const url of workerUrls) total += await scrapeCounter(url, 'routine_jobs_total', { job, outcome: 'success' });
    return total;
  };
  const queue = () => h.workers.routine()!.queue;

  /** Promotes the scheduler's pending job (its next slot) so it runs now. */
  async function runNextSlot(schedulerId: string): Promise<void> {
    const job = await eventually(async () => ((await queue().getDelayed()) as Job[]).find((j) => j.repeatJobKey === schedulerId), 10_000);
    await job.promote();
  }

  async function backupIncidents(): Promise<Array<{ id: string; state: string }>> {
    const ids: Array<{ id: string; state: string }> = [];
    for (let n = 1; n <= 20; n += 1) {
      const i = await h.bot.bot.store.get(`INC-${n}`);
      if (i && i.title === 'BackupFailed') ids.push({ id: i.id, state: i.state });
    }
    return ids;
  }

  beforeAll(async () => {
    const cert = await certificateExpiringIn(10);
    certDir = cert.dir;
    tlsServer = await startTlsServer(cert);
    const [promPort, workersPort] = [await freePort(), await freePort()];
    const yaml = `
routine:
  timezone: UTC
  schedules:
    morning_health: "${NEVER}"
    daily_checklist: "${NEVER}"
    backup: "${NEVER}"
    certificates: "*/2 * * * * *"
    security_report: "${NEVER}"
    capacity_report: "${NEVER}"
    maintenance_plan: "${NEVER}"
  overnight: 5m
  security_window: 10m
  capacity: { history: 5m, step: 2s, horizon: 90d, chart_width: 640, chart_height: 360 }
  tls_endpoints:
    - { name: local test endpoint, host: 127.0.0.1, port: ${tlsServer.port}, servername: localhost }
`;
    h = await startRoutineHarness(yaml, { PROMETHEUS_URL: `http://127.0.0.1:${promPort}`, WORKERS_METRICS_PORT: String(workersPort) });
    workerUrls.push(h.workersUrl);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'routine-prom-'));
    const hostPort = (url: string) => new URL(url).host;
    const rendered = renderMonitoring({
      outDir: path.join(dir, 'config'),
      webhookToken: WEBHOOK_TOKEN,
      targets: {
        server: hostPort(h.server.url),
        bot: hostPort(h.bot.botUrl),
        workers: `127.0.0.1:${workersPort}`,
        accountService: hostPort(h.sims.accountUrl),
        transactionService: hostPort(h.sims.transactionUrl),
      },
      scrapeInterval: '1s',
      evaluationInterval: '1s',
      alerts: [],
    });
    prometheus = await startPrometheus({ configFile: rendered.prometheusConfig, dataDir: path.join(dir, 'data'), port: promPort });

    const promValue = async (expr: string) => {
      const res = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(expr)}`);
      return Number(((await res.json()) as { data: { result: Array<{ value: [number, string] }> } }).data.result[0]?.value[1] ?? NaN);
    };
    // Prometheus sees the counters before the traffic, so increase() and rate() count all of it.
    await eventually(async () => (await promValue('count_over_time(mcp_active_connections[5m])')) >= 3, 60_000, 250);
    // Traffic for the reports: tool calls, and three requests with a bad token (auth failures from 127.0.0.1, 2% of requests).
    const agent = await h.server.client(await h.server.token('accounts:read', { sub: 'report-agent' }));
    // A counter series is born with the first call; Prometheus counts increases from its first sample on,
    // so one call, a scrape of it, then the rest (else a fast machine makes all 150 before the first scrape).
    await agent.callTool({ name: 'list_accounts', arguments: {} });
    await eventually(async () => (await promValue('sum(mcp_requests_total{tool="list_accounts"})')) >= 1 && (await promValue('sum(mcp_request_duration_seconds_count{tool="list_accounts"})')) >= 1, 60_000, 250);
    for (let i = 1; i < 150; i += 1) await agent.callTool({ name: 'list_accounts', arguments: {} });
    const badToken = () => fetch(h.server.mcpUrl, { method: 'POST', headers: { Authorization: 'Bearer not.a.jwt', 'Content-Type': 'application/json' }, body: '{}' });
    // The first failure creates its series; Prometheus counts increases from its first sample, so two more follow.
    await badToken();
    await eventually(async () => (await promValue('sum(jwt_validation_failures_total)')) >= 1, 60_000, 250);
    await badToken();
    await badToken();
    const admin = await h.server.client(await h.server.token('ops:admin', { sub: 'erin' }));
    await admin.callTool({ name: 'ops_block_ip', arguments: { ip: '203.0.113.7', ttlSeconds: 3600, reason: 'scanner <script>' } });
    // Scraped after the traffic, and enough points for a fitted trend.
    await eventually(async () => (await promValue('sum(jwt_validation_failures_total)')) >= 3 && (await promValue('sum(mcp_requests_total)')) >= 150, 60_000, 250);
    await eventually(async () => (await promValue('count_over_time(mcp_active_connections[5m])')) >= 12, 60_000, 500);
  });

  afterAll(async () => {
    await prometheus?.stop();
    await h?.close();
    await tlsServer?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    if (certDir) fs.rmSync(certDir, { recursive: true, force: true });
  });

  it('has one job scheduler per report and the maintenance planner, with the ops config patterns and time zone', async () => {
    const schedulers = await queue().getJobSchedulers();
    const byId = Object.fromEntries(schedulers.map((s) => [s.key, s]));
    for (const r of ROUTINE_REPORTS) expect(byId[routineSchedulerId(r)]).toMatchObject({ pattern: r === 'certificates' ? '*/2 * * * * *' : NEVER, tz: 'UTC' });
    expect(byId[routineSchedulerId('maintenance-plan')]).toBeDefined();
  });

  it('/ops report morning-health: health, overnight metrics from Prometheus, breakers, certificates; a missing backup opens an incident', async () => {
    const since = await latestTs();
    const cmd = await ops('bob', 'report morning-health');
    expect(JSON.stringify(cmd.body)).toContain('queued');
    const m = await report(/Morning health check/, since);
    const text = body(m);
    expect(text).toContain('MCP server health*: ✅ healthy');
    expect(text).toMatch(/✅ mcp-financial-server/);
    expect(text).toMatch(/error rate \d+\.\d+%/);
    expect(text).toMatch(/p95 \d+ ms/);
    expect(text).toContain('`list_accounts`');
    expect(text).toMatch(/account-service closed/);
    expect(text).toMatch(/local test endpoint\* \(127\.0\.0\.1:\d+\): expires in 9 day/);
    expect(text).toContain('No verified backup on record');
    expect(text).toContain('No daily checklist was posted yesterday');
    const incidents = await eventually(async () => {
      const list = await backupIncidents();
      return list.length ? list : undefined;
    }, 20_000);
    expect(incidents).toEqual([expect.objectContaining({ state: 'triggered' })]);
    const root = await eventually(async () => (await h.bot.sandbox.history('ops-alerts')).find((r) => r.text.includes(`${incidents[0]!.id},`)), 20_000);
    expect(root.text).toContain('backup');
  });

  it('/ops report backup: a verified backup is reported and resolves the BackupFailed incident', async () => {
    const since = await latestTs();
    await ops('bob', 'report backup');
    const m = await report(/Configuration backup .* verified/, since);
    expect(body(m)).toMatch(/every file matches its manifest/);
    expect(body(m)).toMatch(/Incident INC-\d+ resolved/);
    await eventually(async () => {
      const list = await backupIncidents();
      return list.length === 1 && list.every((i) => i.state === 'resolved');
    }, 20_000);
  });

  it('a failed backup (from its scheduler slot) opens a new incident thread', async () => {
    const backupDir = h.server.env.BACKUP_DIR;
    fs.rmSync(backupDir, { recursive: true, force: true });
    fs.writeFileSync(backupDir, 'not a directory');
    try {
      const since = await latestTs();
      const before = await successes('backup');
      await runNextSlot(routineSchedulerId('backup'));
      const m = await report(/Configuration backup FAILED/, since);
      expect(body(m)).toMatch(/Incident INC-\d+ opened/);
      expect(await successes('backup')).toBe(before + 1);
      const id = body(m).match(/Incident (INC-\d+) opened/)![1]!;
      expect((await h.bot.bot.store.get(id))?.state).toBe('triggered');
      await eventually(async () => (await h.bot.sandbox.history('ops-alerts')).find((r) => r.text.includes(`${id},`)), 20_000);
    } finally {
      fs.rmSync(backupDir, { force: true });
    }
  });

  it('/ops report daily-checklist: automatic checks tick their items; a person ticks the rest, and who and when is shown', async () => {
    const since = await latestTs();
    await ops('bob', 'report daily-checklist');
    const m = await report(/^Daily checklist/, since);
    const text = body(m);
    expect(text).toMatch(/~Check service health status~ · automatic check passed/);
    expect(text).toMatch(/~Verify backup completion~ · automatic check passed/);
    expect(text).toMatch(/~Validate monitoring system health~ · automatic check passed/);
    // The certificate is inside the 14-day warning: a person has to look.
    expect(text).toContain('⬜ Check certificate expiration dates');
    // 3 auth failures in ~150 requests: 2%, over the guide's 1%.
    expect(text).toContain('⬜ Review error logs from past 24 hours');

    await h.bot.sandbox.click({ user: 'carol', channel: 'ops-reports', ts: m.ts, action_id: 'routine_tick-certificates' });
    await eventually(async () => (await h.bot.sandbox.ephemeral({ user: 'carol' })).find((e) => e.text.includes('may not tick')), 10_000);
    const click = await h.bot.sandbox.click({ user: 'bob', channel: 'ops-reports', ts: m.ts, action_id: 'routine_tick-certificates' });
    expect(click.ok).toBe(true);
    const edited = await eventually(async () => {
      const now = (await reports()).find((r) => r.ts === m.ts);
      return now && body(now).includes('~Check certificate expiration dates~ · ticked by <@U0BOB>') ? now : undefined;
    }, 20_000);
    expect(body(edited)).not.toContain('routine_tick-certificates');
  });

  it('the next morning names what the checklist left open', async () => {
    const checklistMsg = await report(/^Daily checklist/);
    const open = (body(checklistMsg).match(/⬜ ([^"\\]+)/g) ?? []).map((s) => s.slice(2));
    expect(open).toContain('Review error logs from past 24 hours');
    h.shift(DAY);
    try {
      const since = await latestTs();
      await ops('alice', 'report morning-health');
      const m = await report(/Morning health check/, since);
      const text = body(m);
      expect(text).toContain(`Left open yesterday (${open.length})`);
      for (const item of open) expect(text).toContain(`_${item}_`);
      expect(text).not.toContain('_Check certificate expiration dates_');
    } finally {
      h.shift(0);
    }
  });

  it('the weekly security report (its scheduler slot): failure rate, offenders, blocked addresses, JWT failures by reason', async () => {
    const since = await latestTs();
    await runNextSlot(routineSchedulerId('security-report'));
    const m = await report(/Weekly security report/, since);
    const text = body(m);
    expect(text).toMatch(/JWT validation failures by reason\*: malformed [1-9]/);
    expect(text).toMatch(/Top offending addresses\*\\n• `(::ffff:)?127\.0\.0\.1`: 3 \(malformed 3\)/);
    expect(text).toMatch(/Authentication failure rate\*: \d+\.\d\d\/min over 10m/);
    expect(text).not.toContain('Authentication failure rate*: 0.00/min');
    expect(text).toContain('`203.0.113.7/32`');
    // Text from the server (the block's reason) is escaped before Slack parses it.
    expect(text).toContain('scanner &lt;script&gt;');
    await ops('bob', 'report security-report');
    await report(/Weekly security report/, m.ts);
  });

  it('the monthly capacity report: the guide\u2019s queries, a 90-day forecast with its fit, and a PNG chart of the configured size attached', async () => {
    for (const trigger of ['on demand', 'scheduler'] as const) {
      const since = await latestTs();
      if (trigger === 'on demand') await ops('bob', 'report capacity-report');
      else await runNextSlot(routineSchedulerId('capacity-report'));
      const m = await eventually(async () => (await reports()).find((r) => Number(r.ts) > Number(since) && (r.files?.length ?? 0) > 0), 60_000, 200);
      expect(m.text).toContain('Monthly capacity report');
      expect(m.text).toMatch(/Daily request volume: \d+/);
      expect(m.text).toMatch(/\*Request volume\*: now \d+\.\d+ req\/s, in 90d \d+\.\d+ req\/s \(trend [+-]\d+\.\d+ req\/s\/30d, r² \d\.\d\d, \d+ points\)/);
      expect(m.text).toMatch(/\*Memory\*: now \d+\.\d+ MB/);
      const file = m.files![0]!;
      expect(file.name).toMatch(/^capacity-\d{4}-\d{2}-\d{2}\.png$/);
      const png = Buffer.from(await (await fetch(file.url_private)).arrayBuffer());
      expect(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
      expect(pngSize(png)).toEqual({ width: 640, height: 360 });
    }
  });

  it('certificates on a schedule two seconds apart: one run per slot across two replicas, one warning for the 14-day threshold; on demand lists all', async () => {
    const warning = await report(/Certificate warning/);
    expect(body(warning)).toMatch(/local test endpoint.*expires in 9 day\(s\).*inside the 14-day warning/);
    // A second workers replica on the same queue: still one run per slot.
    workerUrls.push((await h.replica()).url);
    const runs = () => successes('certificates');
    const slots = async () => ((await queue().getJobs(['completed'])) as Job[]).filter((j) => j.repeatJobKey === routineSchedulerId('certificates')).length;
    const before = await runs();
    await eventually(async () => (await runs()) >= before + 4, 30_000, 250);
    // Every run is one completed slot of the scheduler, whichever replica took it.
    await eventually(async () => (await runs()) === (await slots()), 10_000, 100);
    expect((await reports()).filter((r) => /Certificate warning/.test(r.text))).toHaveLength(1);
    const since = await latestTs();
    await ops('bob', 'report certificates');
    const listed = await report(/^🔐 Certificates$/, since);
    expect(body(listed)).toMatch(/not trusted/);
  });

  it('every scheduler\u2019s next slot runs its job; a bad payload fails unretried; a viewer may not ask for a report, a bad name gets the list', async () => {
    for (const r of ['morning-health', 'daily-checklist'] as const) {
      const before = await successes(r);
      await runNextSlot(routineSchedulerId(r));
      await eventually(async () => (await successes(r)) === before + 1, 60_000, 250);
    }
    const plans = await successes('maintenance-plan');
    await runNextSlot(routineSchedulerId('maintenance-plan'));
    await eventually(async () => (await successes('maintenance-plan')) === plans + 1, 30_000, 250);

    // A payload that does not parse fails at once, never retried, and changes nothing.
    const bogus = await queue().add('bogus', { kind: 'report', report: 'everything' } as never, { attempts: 3 });
    const failed = await eventually(async () => ((await bogus.isFailed()) ? queue().getJob(bogus.id!) : undefined), 10_000);
    expect(failed!.failedReason).toMatch(/^invalid routine job: report: /);
    expect(failed!.attemptsMade).toBe(1);

    const denied = await ops('carol', 'report backup');
    expect(JSON.stringify(denied.body)).toContain('may not run');
    const bad = await ops('bob', 'report everything');
    expect(JSON.stringify(bad.body)).toContain('morning-health');
  });
});
