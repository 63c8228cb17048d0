/**
 * A runbook's PromQL diagnostics when the workers have no Prometheus, and when
 * they have one that is down. Unset is a deployment choice, not an outage: the
 * thread says once that the queries are skipped (HighErrorRate has four), and
 * nothing is reported as failed. Set but unreachable is a real failure, reported
 * per query. The real bot against the sandbox Slack, the real workers and MCP
 * server (the runbook's health check), one Redis.
 */
import { createWorkersApp } from '../../workers/app';
import { loadWorkersEnv } from '../../workers/config';
import { loadRunbooks } from '../../lib/runbook';
import { silentLogger } from '../../lib/logger';
import { startBotHarness, type BotHarness } from '../helpers/bot-harness';
import { alertmanagerFixture } from '../helpers/fixtures';
import { eventually, freePort } from '../helpers/ports';
import { TEST_REDIS_URL } from '../helpers/redis';
import { startTestServer, TEST_WORKER_KEYS, type TestServer } from './server-harness';

jest.setTimeout(90_000);

const PROMQL = loadRunbooks()
  .get('HighErrorRate')!
  .diagnostics.filter((d) => d.promql).length;

describe.each([
  ['not configured', false],
  ['configured but down', true],
] as const)('PromQL diagnostics with Prometheus %s', (_name, configured) => {
  let server: TestServer;
  let h: BotHarness;
  let workers: ReturnType<typeof createWorkersApp>;

  beforeAll(async () => {
    server = await startTestServer();
    // One attempt: a failing query reports at once instead of after the default 30 s of retries.
    h = await startBotHarness({ env: { RUNBOOK_JOB_ATTEMPTS: '1' }, deps: { escalation: false } });
    workers = createWorkersApp(
      loadWorkersEnv({
        REDIS_URL: TEST_REDIS_URL,
        REDIS_PREFIX: h.prefix,
        MCP_SERVER_URL: server.mcpUrl,
        WORKERS_JWT_PRIVATE_KEY: TEST_WORKER_KEYS.privateKey,
        WORKERS_METRICS_PORT: String(await freePort()),
        // A free port: nothing answers there.
        ...(configured ? { PROMETHEUS_URL: `http://127.0.0.1:${await freePort()}` } : {}),
      }),
      { logger: silentLogger() },
    );
    await workers.start();
  });
  afterAll(async () => {
    await workers?.stop();
    await h?.close();
    await server?.close();
  });

  it(configured ? 'reports each query as failed' : 'says once that they are skipped, and nothing fails', async () => {
    expect(PROMQL).toBeGreaterThan(1);
    const incident = await h.alert(alertmanagerFixture('high-error-rate.firing'));
    const root = await h.root('ops-critical', incident);
    // Every diagnostic (the queries and the health check) has its result in the audit.
    const results = await eventually(async () => {
      const found = (await h.bot.audit.read({ incidentId: incident })).filter((e) => e.kind === 'result' && e.actor === 'system:diagnostics');
      return found.length === PROMQL + 1 ? found : undefined;
    }, 60_000, 200);
    expect(await h.bot.outbox.idle(20_000)).toBe(true);
    const replies = (await h.sandbox.replies('ops-critical', root.ts)).map((m) => m.text);
    expect(replies.some((t) => /Health check \(full\) for INC-\d+, asked by diagnostics/.test(t))).toBe(true);
    const failedQueries = replies.filter((t) => t.startsWith('❌ query prometheus'));
    const skipped = replies.filter((t) => t.includes('PromQL diagnostics') && t.includes('skipped'));
    if (configured) {
      expect(failedQueries).toHaveLength(PROMQL);
      expect(failedQueries[0]).toMatch(/failed after 1 attempt\(s\): .*ECONNREFUSED/);
      expect(skipped).toHaveLength(0);
      expect(results.filter((e) => e.outcome === 'failed')).toHaveLength(PROMQL);
    } else {
      expect(skipped).toEqual([`ℹ️ The runbook's PromQL diagnostics for ${incident} are skipped: Prometheus is not configured for the workers (PROMETHEUS_URL is not set).`]);
      expect(replies.filter((t) => t.startsWith('❌'))).toEqual([]);
      expect(results.filter((e) => e.outcome !== 'ok')).toEqual([]);
    }
  });
});
