/**
 * A slow backend (issue 13, the guide's "slow backend" simulation). The
 * account-service simulator's latency fault (4 s: above the guide's 2 s
 * threshold and above the server's HTTP_TIMEOUT, 2.5 s here) while an MCP tool
 * call and a runbook action (health check, clicked by bob in the sandbox Slack,
 * run by the real workers) are in flight:
 * - the tool call times out with a clear error naming the service and the timeout;
 *   the health check reports the service DOWN with the same reason, once, without a retry;
 * - the breaker opens after CIRCUIT_BREAKER_FAILURE_THRESHOLD (3) consecutive
 *   failures (server metrics), then calls fail fast and none reaches the backend:
 *   no retry storm, and each call that timed out reached it once;
 * - when the fault clears, after the recovery timeout (2 s) calls succeed again
 *   and the breaker is closed.
 * Bounded: ~30 s; the workers, bot, server and simulators go in afterAll.
 */
import type http from 'node:http';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { AlertmanagerWebhook } from '../../bot/alerts/alertmanager-payload';
import { silentLogger } from '../../lib/logger';
import { startBackendSimulators, type RunningSimulators } from '../../sandbox/backends';
import { createWorkersApp } from '../../workers/app';
import { loadWorkersEnv } from '../../workers/config';
import { startBotHarness, type BotHarness } from '../helpers/bot-harness';
import { firingFor } from '../helpers/fixtures';
import { eventually, freePort } from '../helpers/ports';
import { TEST_REDIS_URL } from '../helpers/redis';
import { startTestServer, TEST_WORKER_KEYS, type TestServer } from './server-harness';
import { sleep } from './crash-harness';

jest.setTimeout(90_000);

const TIMEOUT_MS = 2500;
const LATENCY_MS = 4000;
const THRESHOLD = 3;
const RECOVERY_S = 2;
const CHANNEL = 'ops-alerts';

interface ToolResult {
  isError?: boolean;
  content?: Array<{ type: string; text?: string }>;
}
const textOf = (r: ToolResult) => (r.content ?? []).map((c) => c.text ?? '').join('\n');

describe('a slow backend: timeouts, the circuit breaker, no retry storm, recovery', () => {
  let sims: RunningSimulators;
  let server: TestServer;
  let h: BotHarness;
  let workers: ReturnType<typeof createWorkersApp>;
  let client: Client;
  /** Requests that reached the account-service simulator, by path. */
  const reached: string[] = [];
  const onRequest = (req: http.IncomingMessage) => {
    if (!req.url?.startsWith('/_sandbox')) reached.push(req.url ?? '');
  };

  beforeAll(async () => {
    sims = await startBackendSimulators();
    sims.accountServer.server.on('request', onRequest);
    server = await startTestServer(
      {
        ACCOUNT_SERVICE_URL: sims.accountUrl,
        TRANSACTION_SERVICE_URL: sims.transactionUrl,
        HTTP_TIMEOUT: String(TIMEOUT_MS),
        CIRCUIT_BREAKER_FAILURE_THRESHOLD: String(THRESHOLD),
        CIRCUIT_BREAKER_RECOVERY_TIMEOUT: String(RECOVERY_S),
      },
      { production: true },
    );
    client = await server.client(await server.token('accounts:read'));
    h = await startBotHarness({ deps: { escalation: false } });
    workers = createWorkersApp(
      loadWorkersEnv({
        REDIS_URL: TEST_REDIS_URL,
        REDIS_PREFIX: h.prefix,
        MCP_SERVER_URL: server.mcpUrl,
        WORKERS_JWT_PRIVATE_KEY: TEST_WORKER_KEYS.privateKey,
        WORKERS_METRICS_PORT: String(await freePort()),
        ROUTINE: 'off',
      }),
      { logger: silentLogger() },
    );
    await workers.start();
  }, 60_000);

  afterAll(async () => {
    sims?.accountServer.server.off('request', onRequest);
    await workers?.stop();
    await h?.close();
    await server?.close();
    await sims?.stop();
  });

  const faults = (body: unknown) =>
    fetch(`${sims.accountUrl}/_sandbox/faults`, { method: body ? 'PUT' : 'DELETE', headers: { 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
  const listAccounts = async () => (await client.callTool({ name: 'list_accounts', arguments: { limit: 5 } })) as ToolResult;
  const breakerState = () => server.metric('circuit_breaker_state', { service: 'account-service' });
  const opened = () => server.metric('circuit_breaker_transitions_total', { service: 'account-service', to: 'open' });
  const timeouts = () => server.metric('backend_request_duration_seconds_count', { service: 'account-service', outcome: 'timeout' });
  const healthChecks = () => server.metric('mcp_requests_total', { tool: 'ops_health_check' });
  const thread = async (ts: string) => (await h.sandbox.replies(await h.sandbox.findChannelId(CHANNEL), ts)).slice(1).map((m) => m.text);

  it('times out clearly, opens the breaker after the threshold, fails fast without touching the backend, recovers', async () => {
    // An incident to act on, its diagnostics (a health check at open, healthy) done.
    const id = await h.alert(firingFor('SlowBackend', { severity: 'warning' }) as AlertmanagerWebhook);
    const root = await h.root(CHANNEL, id);
    await eventually(async () => (await thread(root.ts)).some((x) => x.includes('asked by diagnostics: *healthy*')), 30_000, 200);
    expect(await breakerState()).toBe(0);
    const checksBefore = await healthChecks();

    expect((await faults({ latencyMs: LATENCY_MS })).status).toBe(200);
    reached.length = 0;
    // The runbook action and a tool call, at the same time, both against the slow backend.
    const click = await h.sandbox.click({ user: 'bob', channel: CHANNEL, ts: root.ts, action_id: 'runbook_health_check' });
    expect(click).toMatchObject({ ok: true, status: 200 });
    const first = await listAccounts();
    expect(first.isError).toBe(true);
    expect(textOf(first)).toMatch(new RegExp(`account-service.*timed out.*${TIMEOUT_MS}`, 'i'));
    const report = await eventually(async () => (await thread(root.ts)).find((x) => x.includes(`Health check (full) for ${id}, asked by <@U0BOB>`)), 20_000, 200);
    expect(report).toMatch(/\*(degraded|unhealthy)\*/);
    expect(report).toMatch(/Backend account-service: DOWN.*timed out/);
    expect(report).toMatch(/Backend transaction-service: ok/);

    // Consecutive failures up to the threshold (the health probe counted too), then open.
    for (let i = 0; i < THRESHOLD && (await breakerState()) !== 2; i++) {
      const r = await listAccounts();
      expect(r.isError).toBe(true);
    }
    expect(await breakerState()).toBe(2);
    expect(await opened()).toBe(1);
    expect(await timeouts()).toBe(THRESHOLD);
    // Each failed call reached the backend once: the server does not retry behind the caller's back.
    console.log(`slow backend: first call said "${textOf(first)}"; reached ${reached.join(" ")}; report: ${report.split("\n").filter((l) => l.includes("Backend")).join(" / ")}`);
    expect(reached).toHaveLength(THRESHOLD);

    // Open: calls fail fast with a clear message, and none reaches the backend.
    reached.length = 0;
    for (let i = 0; i < 10; i++) {
      const r = await listAccounts();
      expect(r.isError).toBe(true);
      expect(textOf(r)).toMatch(/circuit|breaker/i);
    }
    expect(reached).toEqual([]);
    expect(await timeouts()).toBe(THRESHOLD);
    // The health check ran once (a degraded report is a result, not a failure to retry).
    await sleep(500);
    expect(await healthChecks()).toBe(checksBefore + 1);
    expect((await thread(root.ts)).filter((x) => x.includes('asked by <@U0BOB>'))).toHaveLength(1);

    // The fault clears: after the recovery timeout one trial call goes through and closes the breaker.
    expect((await faults(undefined)).status).toBe(200);
    await sleep(RECOVERY_S * 1000 + 200);
    const ok = await eventually(async () => {
      const r = await listAccounts();
      return r.isError ? undefined : r;
    }, 10_000, 500);
    expect(textOf(ok)).not.toMatch(/timed out/);
    expect(await breakerState()).toBe(0);
    for (let i = 0; i < 3; i++) expect((await listAccounts()).isError).toBeFalsy();
    expect(await opened()).toBe(1);
  });
});
