/**
 * The MCP server goes down while runbook actions are queued (issue 13). The
 * real bot (Bolt, BullMQ, the outbox) against the sandbox Slack, the real
 * workers, and a real MCP server on a fixed loopback port that the test stops
 * and starts again. People click "Health check" on incident roots
 * (`POST /_sandbox/click`, bob is a responder) while the server is down.
 *
 * The runbook jobs' bound (RUNBOOK_JOB_ATTEMPTS, RUNBOOK_JOB_BACKOFF_MS; 5 and 2 s by
 * default): here 3 attempts, backoff 1 s then 2 s, so about 3 s plus the calls. The
 * first failed attempt says in the thread that the action is being retried.
 * - Back within the bound: each action runs exactly once against the server
 *   (its `mcp_requests_total`), its result is posted once, audited once, and no
 *   failure is posted.
 * - Down past the bound: the job fails after its 3 attempts with a clear line
 *   in the thread naming the server and the cause, audited as failed; the
 *   server never saw the call.
 * Each incident's diagnostics (a health check at open) are done before the server goes down.
 * Bounded: ~25 s; the workers, the servers, the bot and the Redis prefix go in afterAll.
 */
import type { Job } from 'bullmq';
import type { AlertmanagerWebhook } from '../../bot/alerts/alertmanager-payload';
import { silentLogger } from '../../lib/logger';
import { createWorkersApp } from '../../workers/app';
import { loadWorkersEnv } from '../../workers/config';
import { startBotHarness, type BotHarness } from '../helpers/bot-harness';
import { firingFor } from '../helpers/fixtures';
import { eventually, freePort } from '../helpers/ports';
import { TEST_REDIS_URL } from '../helpers/redis';
import { startTestServer, TEST_WORKER_KEYS, type TestServer } from './server-harness';
import { sleep } from './crash-harness';

jest.setTimeout(90_000);

describe('MCP server down and back while runbook jobs are queued', () => {
  let h: BotHarness;
  let workers: ReturnType<typeof createWorkersApp>;
  let serverPort: number;
  const servers: TestServer[] = [];
  let server: TestServer | undefined;

  const startServer = async () => {
    server = await startTestServer({ SERVER_PORT: String(serverPort) });
    servers.push(server);
    return server;
  };
  const stopServer = async () => {
    await server!.close();
    server = undefined;
  };

  beforeAll(async () => {
    serverPort = await freePort();
    await startServer();
    h = await startBotHarness({ env: { RUNBOOK_JOB_ATTEMPTS: '3', RUNBOOK_JOB_BACKOFF_MS: '1000' }, deps: { escalation: false } });
    workers = createWorkersApp(
      loadWorkersEnv({
        REDIS_URL: TEST_REDIS_URL,
        REDIS_PREFIX: h.prefix,
        MCP_SERVER_URL: `http://127.0.0.1:${serverPort}/mcp`,
        WORKERS_JWT_PRIVATE_KEY: TEST_WORKER_KEYS.privateKey,
        WORKERS_METRICS_PORT: String(await freePort()),
        ROUTINE: 'off',
      }),
      { logger: silentLogger() },
    );
    await workers.start();
  });

  afterAll(async () => {
    await workers?.stop();
    if (server) await server.close();
    await h?.close();
  });

  const CHANNEL = 'ops-alerts';
  const seen = new Set<string>();
  /** Opens an incident and returns it with its root's ts, once the diagnostics run at open (a health check) are posted. */
  async function incident(name: string): Promise<{ id: string; ts: string }> {
    const id = await h.alert(firingFor(name, { severity: 'warning' }) as AlertmanagerWebhook);
    const ts = (await h.root(CHANNEL, id)).ts;
    await eventually(async () => (await thread(ts)).some((x) => x.includes('asked by diagnostics')), 20_000, 200);
    return { id, ts };
  }
  /** bob clicks Health check on the root; resolves with the request id the bot answered. */
  async function clickHealthCheck(ts: string): Promise<string> {
    const res = await h.sandbox.click({ user: 'bob', channel: CHANNEL, ts, action_id: 'runbook_health_check' });
    expect(res).toMatchObject({ ok: true, status: 200 });
    const said = await eventually(async () => (await h.sandbox.ephemeral({ user: 'bob' })).map((e) => JSON.stringify(e)).find((t) => t.includes('is queued (request') && !seen.has(t)));
    seen.add(said);
    return /request `([A-Za-z0-9_.-]+)`/.exec(said.replace(/\\/g, ''))![1]!;
  }
  const job = async (requestId: string) => (await h.bot.queue.getJob(requestId)) as Job | undefined;
  const thread = async (ts: string) => (await h.sandbox.replies(await h.sandbox.findChannelId(CHANNEL), ts)).slice(1).map((m) => m.text);
  const healthCalls = async (s: TestServer) => s.metric('mcp_requests_total', { tool: 'ops_health_check' });

  it('back within the bound: each queued action runs once, its result posted and audited once', async () => {
    const a = await incident('CrashMcpA');
    const b = await incident('CrashMcpB');
    await stopServer();

    const ra = await clickHealthCheck(a.ts);
    const rb = await clickHealthCheck(b.ts);
    // Both jobs met the dead server and wait for their retry.
    await eventually(async () => ((await job(ra))?.attemptsMade ?? 0) >= 1 && ((await job(rb))?.attemptsMade ?? 0) >= 1, 15_000, 50);
    const back = await startServer();

    const results = await eventually(async () => {
      const [ta, tb] = [await thread(a.ts), await thread(b.ts)];
      const ok = (t: string[], id: string) => t.some((x) => x.includes(`Health check (full) for ${id}, asked by <@U0BOB>`));
      return ok(ta, a.id) && ok(tb, b.id) ? [ta, tb] : undefined;
    }, 20_000, 200);
    await sleep(1000); // a second run would have posted by now
    for (const [i, inc] of [a, b].entries()) {
      const t = await thread(inc.ts);
      expect(t.filter((x) => x.includes(`Health check (full) for ${inc.id}, asked by <@U0BOB>`))).toHaveLength(1);
      expect(t.filter((x) => x.startsWith('❌'))).toEqual([]);
      expect(t.filter((x) => x.startsWith(`⏳ health check for ${inc.id}: attempt 1 of 3 failed`))).toHaveLength(1);
      expect(results[i]!.length).toBeGreaterThan(0);
    }
    // Exactly once at the server, whatever the attempts before.
    expect(await healthCalls(back)).toBe(2);
    for (const r of [ra, rb]) {
      const j = (await job(r))!;
      expect(j.finishedOn).toBeDefined();
      expect(j.failedReason ?? '').toMatch(/ECONNREFUSED|fetch failed/);
      const audit = await h.bot.audit.read({ requestId: r });
      expect(audit.filter((e) => e.kind === 'started')).toHaveLength(1);
      expect(audit.filter((e) => e.kind === 'result').map((e) => e.outcome)).toEqual(['ok']);
    }
  });

  it('down past the bound: the job fails after its attempts with a clear line in the thread, audited', async () => {
    const c = await incident('CrashMcpC');
    await stopServer();
    const rc = await clickHealthCheck(c.ts);
    const line = await eventually(async () => (await thread(c.ts)).find((x) => x.startsWith('❌')), 20_000, 200);
    expect(line).toContain('failed after 3 attempt(s)');
    expect(line).toContain(`for ${c.id}`);
    expect(line).toContain(`MCP call to http://127.0.0.1:${serverPort}/mcp failed`);
    expect(line).toMatch(/ECONNREFUSED|connection refused/i);
    const j = (await job(rc))!;
    expect(j.attemptsMade).toBe(3);
    expect(j.failedReason).toBeDefined();
    const audit = await eventually(async () => {
      const entries = await h.bot.audit.read({ requestId: rc });
      return entries.some((e) => e.kind === 'result') ? entries : undefined;
    }, 10_000);
    expect(audit.filter((e) => e.kind === 'result').map((e) => [e.outcome, e.message])).toEqual([['failed', line]]);
    await sleep(500);
    expect((await thread(c.ts)).filter((x) => x.startsWith('❌'))).toHaveLength(1);
    const retrying = (await thread(c.ts)).filter((x) => x.startsWith('⏳') && x.includes('attempt 1 of 3 failed'));
    expect(retrying).toHaveLength(1);
    expect(retrying[0]).toContain('trying again for up to 3 s');
    await startServer(); // afterAll closes it
  });
});
