/**
 * The runbook worker against the real parts: the real MCP server (real Redis,
 * its real ops tools), the bot's real Slack outbox draining into the sandbox
 * Slack, real Prometheus and Alertmanager binaries. Jobs are enqueued as the
 * bot enqueues them (lib/contracts.ts), and the thread, the server's own audit,
 * Alertmanager's silences and the ops audit chain are read back.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { createAuditLog } from '../../lib/audit-log';
import { QueueName, type RunbookActionJob } from '../../lib/contracts';
import { silentLogger } from '../../lib/logger';
import { startAlertmanager, startPrometheus, type ToolProcess } from '../../monitoring/processes';
import { createWorkersApp } from '../../workers/app';
import { loadWorkersEnv } from '../../workers/config';
import { journalKey } from '../../workers/actions/journal';
import { startBotHarness, type BotHarness } from '../helpers/bot-harness';
import { alertmanagerFixture } from '../helpers/fixtures';
import { loadRunbooks } from '../../lib/runbook';
import { eventually, freePort } from '../helpers/ports';
import { startTestServer, TEST_WORKER_KEYS, type TestServer } from './server-harness';

jest.setTimeout(90_000);

describe('runbook worker: every in-app action against the real MCP server, Prometheus and Alertmanager', () => {
  let server: TestServer;
  let h: BotHarness;
  let workers: ReturnType<typeof createWorkersApp>;
  let queue: Queue;
  let prometheus: ToolProcess;
  let alertmanager: ToolProcess;
  let dir: string;
  let thread: { channel: string; threadTs: string };
  let incidentId: string;
  let seq = 0;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mfo-worker-'));
    await fs.writeFile(path.join(dir, 'prometheus.yml'), 'global:\n  scrape_interval: 15s\nscrape_configs: []\n');
    await fs.writeFile(path.join(dir, 'alertmanager.yml'), "route:\n  receiver: none\nreceivers:\n  - name: none\n");
    [prometheus, alertmanager] = await Promise.all([
      startPrometheus({ configFile: path.join(dir, 'prometheus.yml'), dataDir: path.join(dir, 'prom') }),
      startAlertmanager({ configFile: path.join(dir, 'alertmanager.yml'), dataDir: path.join(dir, 'am') }),
    ]);
    server = await startTestServer({ BACKUP_PATHS: path.join(__dirname, '../../runbooks') });
    h = await startBotHarness({ deps: { escalation: false } });
    const env = loadWorkersEnv({
      REDIS_PREFIX: h.prefix,
      MCP_SERVER_URL: server.mcpUrl,
      WORKERS_JWT_PRIVATE_KEY: TEST_WORKER_KEYS.privateKey,
      WORKERS_METRICS_PORT: String(await freePort()),
      PROMETHEUS_URL: prometheus.url,
      ALERTMANAGER_URL: alertmanager.url,
      REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      // The jobs the workers queue themselves retry as configured (not the defaults, 5 and 2000).
      RUNBOOK_JOB_ATTEMPTS: '3',
      RUNBOOK_JOB_BACKOFF_MS: '1500',
    });
    workers = createWorkersApp(env, { logger: silentLogger() });
    await workers.start();
    queue = new Queue(QueueName.RunbookActions, { connection: h.redis, prefix: h.prefix });
    incidentId = await h.alert(alertmanagerFixture('high-error-rate.firing'));
    const root = await h.root('ops-critical', incidentId);
    const channel = await h.sandbox.findChannelId('ops-critical');
    thread = { channel, threadTs: root.ts };
    // The bot runs the runbook's diagnostics when the incident opens (through these workers): wait for
    // their results, so each test below reads its own reply.
    const diagnostics = loadRunbooks().get('HighErrorRate')!.diagnostics.length;
    await eventually(async () => (await h.sandbox.replies(channel, root.ts)).filter((m) => m.text.includes('asked by diagnostics')).length >= diagnostics, 60_000, 200);
  });

  afterAll(async () => {
    await queue?.close();
    await workers?.stop();
    await h?.close();
    await server?.close();
    await prometheus?.stop();
    await alertmanager?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  async function run(action: RunbookActionJob['action'], params: Record<string, unknown>): Promise<{ requestId: string; text: string }> {
    const requestId = `test-${action}-${++seq}-${Date.now()}`.replace(/_/g, '-');
    const job: RunbookActionJob = {
      action,
      requestId,
      incidentId,
      requestedBy: 'U0BOB',
      reply: thread,
      params,
      requestedAt: new Date().toISOString(),
      origin: 'command',
    };
    await queue.add(action, job, { jobId: requestId, attempts: 1 });
    const before = (await h.sandbox.replies(thread.channel, thread.threadTs)).length;
    // One action at a time in this file: its result is the first reply after `before` that is not progress.
    const reply = await eventually(async () => {
      const replies = await h.sandbox.replies(thread.channel, thread.threadTs);
      return replies.slice(before).find((m) => !m.text.startsWith('⏳'));
    }, 30_000, 100);
    return { requestId, text: reply.text };
  }

  it('health_check posts the server report', async () => {
    const { text } = await run('health_check', { mode: 'basic' });
    expect(text).toMatch(/Health check \(basic\) for INC-\d+, asked by <@U0BOB>: \*(healthy|degraded|unhealthy)\*/);
  });

  it('query_prometheus answers as a short table from the real Prometheus', async () => {
    const { text } = await run('query_prometheus', { query: 'label_replace(vector(42), "probe", "a`b", "", "")' });
    expect(text).toContain('1 series');
    expect(text).toMatch(/\{probe="aˋb"\}\s+42/);
    const refused = await run('query_prometheus', { query: 'sum(' });
    expect(refused.text).toMatch(/^❌ Prometheus refused the query: .*parse error/);
  });

  it('block_ip and unblock_ip change the server denylist; a refusal is one line', async () => {
    const blocked = await run('block_ip', { address: '203.0.113.0/24', ttlSeconds: 3600, reason: 'credential stuffing' });
    expect(blocked.text).toMatch(/203\.0\.113\.0\/24 blocked on every replica until \d{4}-/);
    const listBlocked = async () => {
      const client = await server.client(await server.token('ops:read ops:admin'));
      const res = await client.callTool({ name: 'ops_list_blocked_ips', arguments: {} });
      return JSON.stringify(res.structuredContent);
    };
    expect(await listBlocked()).toContain('203.0.113.0/24');
    const loopback = await run('block_ip', { address: '127.0.0.1', ttlSeconds: 3600, reason: 'oops' });
    expect(loopback.text).toMatch(/^❌ Blocking 127\.0\.0\.1 failed: .*loopback/i);
    const unblocked = await run('unblock_ip', { address: '203.0.113.0/24' });
    expect(unblocked.text).toContain('203.0.113.0/24 unblocked');
    expect(await listBlocked()).not.toContain('203.0.113.0/24');
  });

  it('backup, verify_backup and restore; a kind without paths is refused clearly', async () => {
    const backup = await run('backup', { kind: 'config' });
    const name = /`(backup-[^`]+\.tar\.gz)`/.exec(backup.text)?.[1];
    expect(name).toBeDefined();
    expect((await run('verify_backup', { id: name })).text).toMatch(/✅ Backup `.+` verified: \d+ files/);
    const restored = await run('restore', { id: name });
    expect(restored.text).toMatch(/restored into staging `.*restores\/restore-/);
    const logs = await run('backup', { kind: 'logs' });
    expect(logs.text).toMatch(/^❌ The logs backup failed: .*BACKUP_LOGS_PATHS/);
  });

  it('collect_evidence and security_report', async () => {
    expect((await run('collect_evidence', {})).text).toMatch(/Evidence collected: `.+`, \d+ bytes/);
    expect((await run('security_report', {})).text).toMatch(/Security report for INC-\d+/);
  });

  it('reset_circuit_breaker says why it failed in one line when the server has no such backend', async () => {
    const { text } = await run('reset_circuit_breaker', { service: 'account-service' });
    expect(text.split('\n')[0]).toMatch(/^(🔁 Circuit breaker for account-service reset|❌ Resetting the account-service breaker failed: .+)/);
  });

  it('maintenance on sets the status file, silences the server alerts in Alertmanager and announces; off undoes it', async () => {
    const on = await run('maintenance', { mode: 'on', durationSeconds: 3600, reason: 'planned upgrade' });
    expect(on.text).toMatch(/Maintenance on for 1h, its alerts silenced in Alertmanager/);
    expect((await fs.readFile(server.env.MAINTENANCE_STATUS_FILE, 'utf8')).trim()).toBe('maintenance');
    const active = async () => ((await (await fetch(`${alertmanager.url}/api/v2/silences`)).json()) as Array<{ status: { state: string }; matchers: Array<{ name: string; value: string }> }>).filter((s) => s.status.state === 'active');
    expect((await active()).map((s) => s.matchers[0]!.name).sort()).toEqual(['job', 'service']);
    const announced = await eventually(async () => (await h.sandbox.history('ops-alerts')).find((m) => m.text.includes('Maintenance mode is ON')), 20_000);
    expect(announced.text).toContain('planned upgrade');
    // The window's end is queued as a delayed `maintenance off`, retried as RUNBOOK_JOB_* say.
    const end = await queue.getJob(`${on.requestId}-end`);
    expect(end?.data).toMatchObject({ action: 'maintenance', params: { mode: 'off' }, origin: 'schedule' });
    expect(end?.opts).toMatchObject({ attempts: 3, backoff: { type: 'exponential', delay: 1500 } });
    expect(end!.opts.delay).toBeGreaterThan(3_500_000);

    const off = await run('maintenance', { mode: 'off' });
    expect(off.text).toMatch(/Maintenance off, 2 silence\(s\) expired/);
    await expect(fs.readFile(server.env.MAINTENANCE_STATUS_FILE, 'utf8')).rejects.toThrow();
    expect(await active()).toHaveLength(0);
  });

  it('records started and result in the ops audit chain, which verifies', async () => {
    const { requestId } = await run('health_check', { mode: 'basic' });
    const audit = createAuditLog({ redis: h.redis, prefix: h.prefix });
    const entries = await eventually(async () => {
      const e = await audit.read({ requestId });
      return e.length === 2 ? e : undefined;
    });
    expect(entries.map((e) => [e.kind, e.outcome])).toEqual([
      ['started', 'pending'],
      ['result', expect.stringMatching(/ok|failed/)],
    ]);
    expect((await audit.verify()).ok).toBe(true);
    expect(await h.redis.ttl(journalKey(h.prefix, requestId))).toBeGreaterThan(0);
  });

  it('releases the target lock the bot took; a request whose lock another took meanwhile is refused and leaves it', async () => {
    const key = `${h.prefix}:action-lock:ip:198.51.100.7`;
    const requestId = `lock-test-${Date.now()}`;
    await h.redis.set(key, requestId, 'PX', 60_000);
    const job: RunbookActionJob = {
      action: 'unblock_ip',
      requestId,
      incidentId,
      requestedBy: 'U0BOB',
      reply: thread,
      params: { address: '198.51.100.7' },
      requestedAt: new Date().toISOString(),
      origin: 'command',
      lock: { key, token: requestId },
    };
    await queue.add('unblock_ip', job, { jobId: requestId, attempts: 1 });
    await eventually(async () => (await h.redis.exists(key)) === 0 || undefined, 20_000);

    // Its lock ran out while it waited in the queue, and another request holds the target now.
    const other = `lock-other-${Date.now()}`;
    await h.redis.set(key, 'someone-else', 'PX', 60_000);
    await queue.add('unblock_ip', { ...job, requestId: other, lock: { key, token: other } }, { jobId: other, attempts: 1 });
    const entries = await eventually(async () => {
      const e = await createAuditLog({ redis: h.redis, prefix: h.prefix }).read({ requestId: other });
      return e.some((x) => x.kind === 'result') ? e : undefined;
    }, 20_000);
    // Refused before anything ran: no `started`, the result says why, the other's lock is untouched.
    expect(entries.map((e) => [e.kind, e.outcome])).toEqual([['result', 'refused']]);
    expect(await h.redis.get(key)).toBe('someone-else');
    const reply = await eventually(async () => (await h.sandbox.replies(thread.channel, thread.threadTs)).find((m) => m.text.includes('unblock ip was not run')), 20_000);
    expect(reply.text).toContain('ip:198.51.100.7 is locked by request `someone-else`');
  });

  it('a payload that does not parse fails at once and posts nothing', async () => {
    const before = (await h.sandbox.replies(thread.channel, thread.threadTs)).length;
    const bad = await queue.add('restart', { action: 'restart', requestId: 'bad-payload-1', params: { service: 'x; rm -rf /' } }, { jobId: 'bad-payload-1', attempts: 3 });
    await eventually(async () => ((await bad.getState()) === 'failed' ? true : undefined), 20_000);
    expect((await queue.getJob('bad-payload-1'))?.attemptsMade).toBe(1);
    expect((await h.sandbox.replies(thread.channel, thread.threadTs)).length).toBe(before);
  });
});
