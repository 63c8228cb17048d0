/**
 * A worker killed with SIGKILL in the middle of an action. The action is
 * `maintenance on`: it turns the server's maintenance mode on (the target),
 * then creates Alertmanager silences. A loopback proxy in front of the real
 * Alertmanager holds the silence request, so the worker is killed at a known
 * point: after the target was hit, before the result was posted. A second
 * worker process picks the job up through BullMQ's stall check, and the
 * target (the server's ops_set_maintenance) is hit once, the result posted once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { QueueName, type RunbookActionJob } from '../../lib/contracts';
import { startAlertmanager, type ToolProcess } from '../../monitoring/processes';
import { startBotHarness, type BotHarness } from '../helpers/bot-harness';
import { alertmanagerFixture } from '../helpers/fixtures';
import { eventually, freePort } from '../helpers/ports';
import { TEST_REDIS_URL } from '../helpers/redis';
import { startTestServer, TEST_WORKER_KEYS, type TestServer } from './server-harness';

jest.setTimeout(120_000);

const root = path.resolve(__dirname, '../..');

/** A TCP proxy that forwards to `target` while open, and holds new connections while closed. */
async function holdingProxy(target: URL) {
  let holding = false;
  const held: Array<() => void> = [];
  let seen = 0;
  const server = net.createServer((client) => {
    seen++;
    const connect = () => {
      const upstream = net.connect(Number(target.port), target.hostname);
      client.pipe(upstream).pipe(client);
      const end = () => (client.destroy(), upstream.destroy());
      client.on('error', end);
      upstream.on('error', end);
    };
    if (holding) held.push(connect);
    else connect();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    hold: () => void (holding = true),
    release: () => {
      holding = false;
      for (const c of held.splice(0)) c();
    },
    connections: () => seen,
    heldCount: () => held.length,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function startWorkerProcess(env: Record<string, string>): ChildProcess {
  // One process (tsx as a loader, not its CLI, which would run the worker in a grandchild SIGKILL never reaches).
  const child = spawn(process.execPath, ['--import', 'tsx', 'workers/main.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.resume();
  child.stderr!.resume();
  return child;
}

async function metricsUp(port: number): Promise<void> {
  await eventually(async () => (await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false)) || undefined, 30_000, 200);
}

describe('runbook worker killed with SIGKILL mid-action', () => {
  let server: TestServer;
  let h: BotHarness;
  let alertmanager: ToolProcess;
  let proxy: Awaited<ReturnType<typeof holdingProxy>>;
  let dir: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mfo-crash-'));
    await fs.writeFile(path.join(dir, 'alertmanager.yml'), 'route:\n  receiver: none\nreceivers:\n  - name: none\n');
    alertmanager = await startAlertmanager({ configFile: path.join(dir, 'alertmanager.yml'), dataDir: path.join(dir, 'am') });
    proxy = await holdingProxy(new URL(alertmanager.url));
    server = await startTestServer();
    h = await startBotHarness({ deps: { escalation: false } });
  });

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await h?.close();
    await server?.close();
    await proxy?.close();
    await alertmanager?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('is recovered by another worker within seconds; the target is hit once and the result posted once', async () => {
    const incidentId = await h.alert(alertmanagerFixture('high-error-rate.firing'));
    const rootMsg = await h.root('ops-critical', incidentId);
    const channel = await h.sandbox.findChannelId('ops-critical');
    const workerEnv = async () => ({
      REDIS_URL: TEST_REDIS_URL,
      REDIS_PREFIX: h.prefix,
      MCP_SERVER_URL: server.mcpUrl,
      WORKERS_JWT_PRIVATE_KEY: TEST_WORKER_KEYS.privateKey,
      ALERTMANAGER_URL: proxy.url,
      WORKERS_METRICS_PORT: String(await freePort()),
    });
    const firstEnv = await workerEnv();
    const first = startWorkerProcess(firstEnv);
    children.push(first);
    await metricsUp(Number(firstEnv.WORKERS_METRICS_PORT));

    proxy.hold();
    const queue = new Queue(QueueName.RunbookActions, { connection: h.redis, prefix: h.prefix });
    const requestId = `crash-maintenance-${Date.now()}`;
    const job: RunbookActionJob = {
      action: 'maintenance',
      requestId,
      incidentId,
      requestedBy: 'U0ALICE',
      reply: { channel, threadTs: rootMsg.ts },
      params: { mode: 'on', durationSeconds: 1800, reason: 'crash drill' },
      requestedAt: new Date().toISOString(),
      origin: 'command',
    };
    await queue.add('maintenance', job, { jobId: requestId, attempts: 3, backoff: { type: 'exponential', delay: 1000 } });

    // The worker has posted its progress line, set maintenance (the target), and now waits on the held
    // silence request: it is killed after a post and after the target was hit.
    await eventually(async () => proxy.heldCount() > 0 || undefined, 30_000, 50);
    await eventually(async () => (await h.sandbox.replies(channel, rootMsg.ts)).some((m) => m.text.includes('maintenance is running')) || undefined, 30_000, 50);
    const maintenanceCalls = async () =>
      (await server.redis.xrange(`${server.env.REDIS_PREFIX}:audit`, '-', '+')).filter(([, f]) => f.includes('ops_set_maintenance')).length;
    expect(await maintenanceCalls()).toBe(1);
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    proxy.release();

    const killedAt = Date.now();
    const second = startWorkerProcess(await workerEnv());
    children.push(second);
    const result = await eventually(async () => {
      const replies = await h.sandbox.replies(channel, rootMsg.ts);
      return replies.find((m) => m.text.includes('Maintenance on for 30m'));
    }, 60_000, 200);
    const recoveredInMs = Date.now() - killedAt;
    console.log(`worker killed mid-action: result posted by the second worker ${recoveredInMs} ms after the kill`);

    expect(result.text).toContain('its alerts silenced in Alertmanager');
    expect(await maintenanceCalls()).toBe(1);
    // Exactly one result reply, however many attempts ran.
    await new Promise((r) => setTimeout(r, 1500));
    const thread = await h.sandbox.replies(channel, rootMsg.ts);
    expect(thread.filter((m) => m.text.includes('Maintenance on for'))).toHaveLength(1);
    // The replay posts its progress line under the same outbox id: it is not in the thread twice.
    expect(thread.filter((m) => m.text.includes('maintenance is running'))).toHaveLength(1);
    expect((await queue.getJob(requestId))?.finishedOn).toBeDefined();
    await queue.close();
    second.kill('SIGTERM');
    await new Promise((r) => second.once('exit', r));
  });
});
