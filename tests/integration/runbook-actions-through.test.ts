/**
 * Both sides of a runbook action at once: the bot (Bolt against the sandbox
 * Slack) takes the request, the confirmation and the lock and enqueues; the
 * real workers run it against the real MCP server and Prometheus, post the
 * result in the thread and release the lock. The ops audit chain holds every
 * step, both processes' entries in one chain.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '../../lib/logger';
import { escapeMrkdwn } from '../../lib/slack-text';
import { loadRunbooks } from '../../lib/runbook';
import { startPrometheus, type ToolProcess } from '../../monitoring/processes';
import { createWorkersApp } from '../../workers/app';
import { loadWorkersEnv } from '../../workers/config';
import { startBotHarness, type BotHarness } from '../helpers/bot-harness';
import { alertmanagerFixture } from '../helpers/fixtures';
import { eventually, freePort } from '../helpers/ports';
import { startTestServer, TEST_WORKER_KEYS, type TestServer } from './server-harness';

jest.setTimeout(120_000);

describe('runbook actions from Slack to the worker and back (real bot, workers, MCP server, Prometheus)', () => {
  let server: TestServer;
  let h: BotHarness;
  let workers: ReturnType<typeof createWorkersApp>;
  let prometheus: ToolProcess;
  let dir: string;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mfo-through-'));
    await fs.writeFile(path.join(dir, 'prometheus.yml'), 'global:\n  scrape_interval: 15s\nscrape_configs: []\n');
    prometheus = await startPrometheus({ configFile: path.join(dir, 'prometheus.yml'), dataDir: path.join(dir, 'prom') });
    server = await startTestServer();
    h = await startBotHarness({ deps: { escalation: false } });
    const env = loadWorkersEnv({
      REDIS_PREFIX: h.prefix,
      MCP_SERVER_URL: server.mcpUrl,
      WORKERS_JWT_PRIVATE_KEY: TEST_WORKER_KEYS.privateKey,
      WORKERS_METRICS_PORT: String(await freePort()),
      PROMETHEUS_URL: prometheus.url,
      REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    });
    workers = createWorkersApp(env, { logger: silentLogger() });
    await workers.start();
  });

  afterAll(async () => {
    await workers?.stop();
    await h?.close();
    await server?.close();
    await prometheus?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('diagnostics are the first replies, in the runbook order; a confirmed block_ip runs, answers in the thread, frees its target, and is audited end to end', async () => {
    const id = await h.alert(alertmanagerFixture('high-error-rate.firing'));
    const root = await h.root('ops-critical', id);
    const diagnostics = loadRunbooks().get('HighErrorRate')!.diagnostics;
    const results = await eventually(async () => {
      const replies = (await h.sandbox.replies('ops-critical', root.ts)).slice(1).filter((m) => !m.text.startsWith('⏳'));
      return replies.length >= diagnostics.length ? replies : undefined;
    }, 60_000, 200);
    // Each diagnostic's result is among the first replies, before anything else in the thread. They run as
    // separate jobs on a concurrent worker, so they land in the order they finish, not the runbook's.
    const first = results.slice(0, diagnostics.length);
    expect(first.every((m) => m.text.includes('asked by diagnostics'))).toBe(true);
    for (const d of diagnostics) {
      const mark = d.promql ? escapeMrkdwn(d.promql.slice(0, 30)) : 'Health check (full)';
      expect([d.name, first.filter((m) => m.text.includes(mark)).length]).toEqual([d.name, 1]);
    }

    const prompt = (await h.sandbox.command({ user: 'bob', channel: 'ops-critical', command: '/ops', text: `run block_ip 198.51.100.7 1h credential stuffing ${id}` })).body as {
      blocks: Array<{ elements?: Array<{ action_id: string; value: string }> }>;
    };
    const requestId = prompt.blocks.flatMap((b) => b.elements ?? []).find((e) => e.action_id === 'action_confirm')!.value;
    const eph = await eventually(async () => (await h.sandbox.ephemeral({ user: 'bob' })).find((m) => JSON.stringify(m.blocks ?? []).includes(requestId)));
    await h.sandbox.click({ user: 'bob', channel: 'ops-critical', ts: eph.ts, action_id: 'action_confirm' });

    const result = await eventually(async () => (await h.sandbox.replies('ops-critical', root.ts)).find((m) => m.text.includes('198.51.100.7/32 blocked')), 30_000, 100);
    expect(result.text).toContain(`for ${id}, asked by <@U0BOB>`);
    expect(result.thread_ts).toBe(root.ts);
    const client = await server.client(await server.token('ops:read ops:admin'));
    const listed = await client.callTool({ name: 'ops_list_blocked_ips', arguments: {} });
    expect(JSON.stringify(listed.structuredContent)).toContain('198.51.100.7');
    // The worker released the lock the bot took (compare-and-delete on the request id).
    await eventually(async () => (await h.redis.get(`${h.prefix}:action-lock:ip:198.51.100.7`)) === null, 10_000);

    const kinds = await eventually(async () => {
      const entries = await h.bot.audit.read({ requestId });
      return entries.some((e) => e.kind === 'result') ? entries.map((e) => [e.kind, e.actor]) : undefined;
    }, 10_000);
    expect(kinds).toEqual([
      ['request', 'U0BOB'],
      ['confirmation', 'U0BOB'],
      ['started', 'U0BOB'],
      ['result', 'U0BOB'],
    ]);
    expect(await h.bot.audit.verify()).toMatchObject({ ok: true });
  });

  it('every in-app action runs from /ops run to the real MCP server and answers in the thread', async () => {
    const id = await h.alert(alertmanagerFixture('high-error-rate.firing'));
    const root = await h.root('ops-critical', id);
    const replies = () => h.sandbox.replies('ops-critical', root.ts);
    /** Types `/ops run ...` as alice (admin), confirms when asked, and waits for the reply matching `expected`. */
    async function run(text: string, expected: RegExp): Promise<string> {
      const answer = (await h.sandbox.command({ user: 'alice', channel: 'ops-critical', command: '/ops', text: `run ${text} ${id}` })).body as {
        text?: string;
        blocks?: Array<{ elements?: Array<{ action_id: string; value: string }> }>;
      };
      const confirm = (answer.blocks ?? []).flatMap((b) => b.elements ?? []).find((e) => e.action_id === 'action_confirm');
      if (confirm) {
        const eph = await eventually(async () => (await h.sandbox.ephemeral({ user: 'alice' })).find((m) => JSON.stringify(m.blocks ?? []).includes(confirm.value)));
        await h.sandbox.click({ user: 'alice', channel: 'ops-critical', ts: eph.ts, action_id: 'action_confirm' });
      }
      const reply = await eventually(async () => (await replies()).find((m) => expected.test(m.text)), 30_000, 100);
      return reply.text;
    }

    await run('health_check basic', /Health check \(basic\) for INC-\d+, asked by <@U0ALICE>/);
    await run('query_prometheus vector(7)', /📈 .*vector\(7\).*1 series/);
    await run('block_ip 203.0.113.0/24 1h scanner seen in the logs', /203\.0\.113\.0\/24 blocked on every replica/);
    await run('list_blocked_ips', /🛡️ \d+ blocked address\(es\)/);
    await run('unblock_ip 203.0.113.0/24', /203\.0\.113\.0\/24 unblocked/);
    const backup = await run('backup config', /💾 config backup `backup-[^`]+`/);
    const name = /`(backup-[^`]+)`/.exec(backup)![1]!;
    await run(`verify_backup ${name}`, new RegExp(`Backup \`${name.replace(/\./g, '\\.')}\` verified`));
    await run(`restore ${name}`, /restored into staging/);
    await run('maintenance on 30m planned upgrade', /Maintenance on for 30m/);
    await run('maintenance off', /Maintenance off/);
    await run('reset_circuit_breaker account-service', /(Circuit breaker for account-service reset|Resetting the account-service breaker failed: .+)/);
    await run('collect_evidence', /Evidence collected: `[^`]+`/);
    await run('security_report', /Security report for INC-\d+/);
    expect(await h.bot.audit.verify()).toMatchObject({ ok: true });
  });
});
