import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { silentLogger } from '../../lib/logger';
import { createMetricsRegistry } from '../../lib/metrics';
import { startBackendSimulators, type RunningSimulators } from '../../sandbox/backends';
import { createBackends } from '../../server/backends';
import { loadServerEnv } from '../../server/config';
import { registerFinanceTools } from '../../server/tools/finance-tools';
import { startTestServer, TEST_SECRET, type TestServer } from './server-harness';

type ToolResult = { isError?: boolean; content: Array<{ text: string }>; structuredContent?: Record<string, unknown> };

/** The ops tools against the real backend layer and the simulators. */
describe('ops tools with real backends', () => {
  let sims: RunningSimulators;
  let t: TestServer;
  let backends: ReturnType<typeof createBackends>;
  let admin: Client;
  const call = async (name: string, args: Record<string, unknown> = {}) => (await admin.callTool({ name, arguments: args })) as ToolResult;
  const faults = (url: string, body?: unknown) =>
    fetch(`${url}/_sandbox/faults`, body === undefined ? { method: 'DELETE' } : { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  beforeAll(async () => {
    sims = await startBackendSimulators();
    const overrides = {
      ACCOUNT_SERVICE_URL: sims.accountUrl,
      TRANSACTION_SERVICE_URL: sims.transactionUrl,
      CIRCUIT_BREAKER_FAILURE_THRESHOLD: '2',
      CIRCUIT_BREAKER_RECOVERY_TIMEOUT: '300',
      HTTP_TIMEOUT: '1000',
    };
    const registry = createMetricsRegistry({ service: 'mcp-financial-server' });
    backends = createBackends(loadServerEnv({ JWT_SECRET: TEST_SECRET, ...overrides }), { registry, logger: silentLogger() });
    t = await startTestServer(overrides, { backends, registry, registrars: [registerFinanceTools] });
    admin = await t.client(await t.token('ops:admin accounts:read', { sub: 'erin' }));
  });
  afterAll(async () => {
    await t.close();
    await backends.close();
    await sims.stop();
  });

  test('full health lists both backends healthy with closed breakers; circuit_breaker_state is 0', async () => {
    const r = await call('ops_health_check', { mode: 'full' });
    expect(r.structuredContent).toMatchObject({ status: 'healthy', problems: [] });
    const services = (r.structuredContent!.backends as Array<{ service: string; healthy: boolean }>).map((b) => [b.service, b.healthy]);
    expect(services.sort()).toEqual([
      ['account-service', true],
      ['transaction-service', true],
    ]);
    expect(await t.metric('circuit_breaker_state', { service: 'account-service' })).toBe(0);
    expect(r.content[0]!.text).toMatch(/Backend account-service: ok/);
  });

  test('an open breaker makes health degraded, shows as 2, and ops_reset_circuit_breaker closes it', async () => {
    const accountId = ((await call('list_accounts', { limit: 1 })).structuredContent!.accounts as Array<{ id: string }>)[0]!.id;
    await faults(sims.accountUrl, { errorRate: 1 });
    for (let i = 0; i < 4; i++) await call('get_account', { accountId });
    expect(await t.metric('circuit_breaker_state', { service: 'account-service' })).toBe(2);
    const failFast = await call('get_account', { accountId });
    expect(failFast.content[0]!.text).toMatch(/account-service/);

    const health = await call('ops_health_check', { mode: 'full' });
    expect(health.structuredContent!.status).not.toBe('healthy');
    expect((health.structuredContent!.problems as string[]).join('\n')).toMatch(/circuit breaker for account-service is open/);

    await faults(sims.accountUrl);
    const reset = await call('ops_reset_circuit_breaker', { service: 'account-service' });
    expect(reset.isError).toBeFalsy();
    expect(reset.structuredContent).toMatchObject({ previousState: 'open', breaker: { service: 'account-service', state: 'closed' } });
    expect(reset.content[0]!.text).toBe('Circuit breaker for account-service: open -> closed');
    expect(await t.metric('circuit_breaker_state', { service: 'account-service' })).toBe(0);
    expect((await call('ops_health_check', { mode: 'full' })).structuredContent!.status).toBe('healthy');

    const audit = await t.server.audit.recent(5);
    expect(audit.find((a) => a.tool === 'ops_reset_circuit_breaker')).toMatchObject({ actor: 'erin', ok: true, args: { service: 'account-service' } });
  });

  test('with one backend down the health is degraded; with both down, unhealthy', async () => {
    await faults(sims.transactionUrl, { down: true });
    const one = await call('ops_health_check', { mode: 'full' });
    expect(one.structuredContent!.status).toBe('degraded');
    await faults(sims.accountUrl, { down: true });
    const both = await call('ops_health_check', { mode: 'full' });
    expect(both.structuredContent!.status).toBe('unhealthy');
    await faults(sims.accountUrl);
    await faults(sims.transactionUrl);
    for (const service of ['account-service', 'transaction-service']) await call('ops_reset_circuit_breaker', { service });
  });
});
