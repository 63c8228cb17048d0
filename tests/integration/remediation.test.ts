/**
 * Automatic remediation end to end on the real parts: real MCP server (its
 * auth-failure log, security report and denylist), the real bot against the
 * sandbox Slack, the real workers, one Redis. HighAuthFailureRate opens, the
 * top offending address is blocked once, the thread says so with an Undo
 * button, Undo (RBAC-checked) lifts it, and the hourly limit holds.
 */
import { Queue } from 'bullmq';
import { createAuditLog } from '../../lib/audit-log';
import { QueueName, RUNBOOK_JOB_RETENTION } from '../../lib/contracts';
import { silentLogger } from '../../lib/logger';
import { loadOpsConfig } from '../../lib/ops-config';
import { createWorkersApp } from '../../workers/app';
import { loadWorkersEnv } from '../../workers/config';
import { startBotHarness, type BotHarness } from '../helpers/bot-harness';
import { firingFor } from '../helpers/fixtures';
import { eventually, freePort } from '../helpers/ports';
import { TEST_REDIS_URL } from '../helpers/redis';
import { startTestServer, TEST_WORKER_KEYS, type TestServer } from './server-harness';

jest.setTimeout(90_000);

const OFFENDER = '203.0.113.77';

describe('automatic remediation: block the top offender, announce with Undo, at most N an hour', () => {
  let server: TestServer;
  let h: BotHarness;
  let workers: ReturnType<typeof createWorkersApp>;

  beforeAll(async () => {
    server = await startTestServer({ TRUST_PROXY: 'loopback' });
    const config = loadOpsConfig();
    // Not the defaults (5, 2000): the remediation job must carry the configured bound, as runbook jobs do.
    h = await startBotHarness({
      env: { RUNBOOK_JOB_ATTEMPTS: '4', RUNBOOK_JOB_BACKOFF_MS: '1500' },
      deps: { escalation: false, opsConfig: { ...config, remediation: { enabled: true, max_per_hour: 1, block_ttl: '1h' } } },
    });
    workers = createWorkersApp(
      loadWorkersEnv({ REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: h.prefix, MCP_SERVER_URL: server.mcpUrl, WORKERS_JWT_PRIVATE_KEY: TEST_WORKER_KEYS.privateKey, WORKERS_METRICS_PORT: String(await freePort()) }),
      { logger: silentLogger() },
    );
    await workers.start();
  });

  afterAll(async () => {
    await workers?.stop();
    await h?.close();
    await server?.close();
  });

  async function failAuth(ip: string, times: number): Promise<void> {
    for (let i = 0; i < times; i++) {
      const res = await fetch(server.mcpUrl, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', Authorization: 'Bearer not-a-token', 'X-Forwarded-For': ip },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
      expect(res.status).toBe(401);
    }
  }

  async function blockedList(): Promise<string> {
    const client = await server.client(await server.token('ops:read'));
    return JSON.stringify((await client.callTool({ name: 'ops_list_blocked_ips', arguments: {} })).structuredContent);
  }

  it('is off in the example config', () => {
    expect(loadOpsConfig().remediation.enabled).toBe(false);
  });

  it('blocks the top offender once, announces it with Undo; a viewer cannot undo, a responder can', async () => {
    await failAuth(OFFENDER, 6);
    await failAuth('198.51.100.20', 2);
    const incident = await h.alert(firingFor('HighAuthFailureRate', { severity: 'high' }));
    const root = await h.root('ops-critical', incident);
    const announcement = await eventually(async () => (await h.sandbox.replies('ops-critical', root.ts)).find((m) => m.text.includes('Automatic remediation: blocked')), 30_000);
    expect(announcement.text).toContain(`blocked ${OFFENDER} for 1h (6 auth failures`);
    expect(JSON.stringify(announcement.blocks)).toContain('remediation_undo');
    expect(await blockedList()).toContain(OFFENDER);
    expect(await blockedList()).not.toContain('198.51.100.20');
    // The job rode under the runbook jobs' configured bound and retention (RUNBOOK_JOB_ATTEMPTS / _BACKOFF_MS).
    const remediations = new Queue(QueueName.Remediations, { connection: h.redis, prefix: h.prefix });
    const job = await remediations.getJob(`remed-${incident}`);
    await remediations.close();
    expect(job?.opts).toMatchObject({ attempts: 4, backoff: { type: 'exponential', delay: 1500 }, ...RUNBOOK_JOB_RETENTION });

    await h.sandbox.click({ user: 'carol', channel: 'ops-critical', ts: announcement.ts, action_id: 'remediation_undo', value: 'remed-' + incident });
    await eventually(async () => (await h.sandbox.ephemeral({ user: 'carol' })).find((m) => String(m.text).includes('Undoing a block needs')));
    expect(await blockedList()).toContain(OFFENDER);

    await h.sandbox.click({ user: 'bob', channel: 'ops-critical', ts: announcement.ts, action_id: 'remediation_undo', value: 'remed-' + incident });
    await eventually(async () => (await h.sandbox.replies('ops-critical', root.ts)).find((m) => m.text.includes(`${OFFENDER} unblocked`)), 30_000);
    expect(await blockedList()).not.toContain(OFFENDER);
    // A second Undo finds nothing to undo.
    await h.sandbox.click({ user: 'bob', channel: 'ops-critical', ts: announcement.ts, action_id: 'remediation_undo', value: 'remed-' + incident });
    await eventually(async () => (await h.sandbox.ephemeral({ user: 'bob' })).find((m) => String(m.text).includes('Nothing to undo')));

    const audit = createAuditLog({ redis: h.redis, prefix: h.prefix });
    const kinds = (await audit.read({ incidentId: incident })).map((e) => `${e.kind}:${e.outcome}`);
    expect(kinds).toEqual(expect.arrayContaining(['remediation:ok', 'undo:pending', 'result:ok']));
    expect((await audit.read()).some((e) => e.kind === 'refusal' && e.actor === 'U0CAROL')).toBe(true);
    expect((await audit.verify()).ok).toBe(true);
  });

  it('runs at most max_per_hour times an hour: the next incident is told it was skipped', async () => {
    await failAuth(OFFENDER, 3);
    const p = firingFor('HighAuthFailureRate', { severity: 'high', fingerprint: 'f00dfeed00000002' });
    p.groupKey = '{}:{alertname="HighAuthFailureRate", instance="other"}';
    p.groupLabels = { alertname: 'HighAuthFailureRate', instance: 'other' };
    const incident = await h.alert(p);
    const root = await h.root('ops-critical', incident);
    const skipped = await eventually(async () => (await h.sandbox.replies('ops-critical', root.ts)).find((m) => m.text.includes('Automatic remediation')), 30_000);
    expect(skipped.text).toMatch(/skipped: HighAuthFailureRate already ran it 1 time\(s\) this hour/);
    expect(await blockedList()).not.toContain(OFFENDER);
    const queue = new Queue(QueueName.Remediations, { connection: h.redis, prefix: h.prefix });
    expect(await queue.getJobCounts('completed')).toMatchObject({ completed: 2 });
    await queue.close();
  });
});
