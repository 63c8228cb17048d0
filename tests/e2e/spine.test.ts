/**
 * The spine, end to end, through the processes `npm start` runs: a real
 * Alertmanager body → bot → Slack thread (sandbox) → button click → BullMQ →
 * worker → MCP server `ops_health_check` → reply in the thread → resolved.
 * Nothing of ours is mocked; every hop is real HTTP or real Redis.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createSandboxClient } from '../../sandbox/slack';
import { firingFor, resolvedVersion } from '../helpers/fixtures';
import { eventually, freePort } from '../helpers/ports';
import { deletePrefix, testPrefix, testRedis, TEST_REDIS_URL } from '../helpers/redis';
import { closeRedis } from '../../lib/redis';

jest.setTimeout(90_000);

const root = path.resolve(__dirname, '../..');

describe('npm start: webhook → thread → click → reply → resolved', () => {
  const prefix = testPrefix('e2e');
  const secrets = {
    SLACK_BOT_TOKEN: 'xoxb-e2e-token',
    SLACK_SIGNING_SECRET: 'e2e-signing-secret-0123456789',
    ALERTMANAGER_WEBHOOK_TOKEN: 'e2e-webhook-token-0123456789',
    JWT_SECRET: 'e2e-jwt-secret-0123456789abcdef0123',
  };
  let child: ChildProcess;
  let output = '';
  let ports: Record<string, number>;

  beforeAll(async () => {
    ports = {
      SERVER_PORT: await freePort(),
      BOT_PORT: await freePort(),
      WORKERS_METRICS_PORT: await freePort(),
      SANDBOX_SLACK_PORT: await freePort(),
      ACCOUNT_SERVICE_PORT: await freePort(),
      TRANSACTION_SERVICE_PORT: await freePort(),
    };
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: prefix, LOG_LEVEL: 'warn', ...secrets };
    for (const [k, v] of Object.entries(ports)) env[k] = String(v);
    // With a bot token set, npm start assumes real Slack unless SLACK_API_URL points at the sandbox.
    env.SLACK_API_URL = `http://127.0.0.1:${ports.SANDBOX_SLACK_PORT}/api/`;
    child = spawn(process.execPath, [require.resolve('tsx/cli'), 'scripts/start.ts'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d) => (output += d.toString()));
    child.stderr!.on('data', (d) => (output += d.toString()));
    await eventually(async () => output.includes('MCP Financial Ops is running') || (child.exitCode !== null && Promise.reject(new Error(output))), 60_000, 200);
  });

  afterAll(async () => {
    if (child.exitCode === null) {
      child.kill('SIGKILL');
    }
    const redis = testRedis();
    await deletePrefix(redis, prefix);
    await closeRedis(redis);
  });

  it('runs the whole path and stops cleanly on Ctrl-C', async () => {
    const slackUrl = `http://127.0.0.1:${ports.SANDBOX_SLACK_PORT}`;
    const sandbox = createSandboxClient(slackUrl, { token: secrets.SLACK_BOT_TOKEN });
    expect(output).toContain(`http://127.0.0.1:${ports.SERVER_PORT}/mcp`);

    const firing = firingFor('E2EServiceDown', { severity: 'critical' });
    const sentAt = Date.now();
    const res = await fetch(`http://127.0.0.1:${ports.BOT_PORT}/alertmanager/webhook`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${secrets.ALERTMANAGER_WEBHOOK_TOKEN}` },
      body: JSON.stringify(firing),
    });
    expect(res.status).toBe(200);
    const { incident } = (await res.json()) as { incident: string };

    const rootMsg = await eventually(async () => (await sandbox.history('ops-critical')).find((m) => m.text.includes(incident)), 5000, 25);
    const latencyMs = Date.now() - sentAt;
    expect(latencyMs).toBeLessThan(2000); // the promise: within 2 s
    expect(rootMsg.text).toMatch(/\[P1\] E2EServiceDown/);

    const click = await sandbox.click({ user: 'alice', channel: 'ops-critical', ts: rootMsg.ts, action_id: 'runbook_health_check' });
    expect(click).toMatchObject({ ok: true, status: 200 });

    const result = await eventually(async () => {
      const replies = await sandbox.replies('ops-critical', rootMsg.ts);
      return replies.find((m) => m.text.includes('Health check (full)'));
    }, 20_000, 200);
    expect(result.thread_ts).toBe(rootMsg.ts);
    // The MCP server answered: the reply carries its verdict and its report.
    expect(result.text).toMatch(/\*(healthy|degraded|unhealthy)\*/);
    expect(result.text).toMatch(/account-service/);

    await fetch(`http://127.0.0.1:${ports.BOT_PORT}/alertmanager/webhook`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${secrets.ALERTMANAGER_WEBHOOK_TOKEN}` },
      body: JSON.stringify(resolvedVersion(firing)),
    });
    await eventually(async () => {
      const m = (await sandbox.history('ops-critical')).find((x) => x.ts === rootMsg.ts);
      return m?.text.includes('resolved');
    }, 5000);
    expect((await sandbox.history('ops-critical')).filter((m) => m.text.includes(incident))).toHaveLength(1);

    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    expect(code).toBe(0);
    expect(output).toContain('everything stopped');
    await expect(fetch(`http://127.0.0.1:${ports.BOT_PORT}/health`)).rejects.toThrow();
    await expect(fetch(`http://127.0.0.1:${ports.SERVER_PORT}/health`)).rejects.toThrow();
  });
});
