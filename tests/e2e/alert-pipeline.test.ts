/**
 * Issue 4's end-to-end: real Prometheus and Alertmanager (Debian binaries) with
 * the project's monitoring files, rendered with short intervals, watching the
 * stack `npm start` runs. A fault injected into the account-service simulator
 * opens the MCP server's circuit breaker; the real CircuitBreakerOpen alert
 * arrives as one thread, escalates on schedule while nobody acknowledges,
 * stops escalating on Acknowledge, and resolves when the fault is lifted.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createMcpClient } from '../../lib/mcp-client';
import { renderMonitoring } from '../../monitoring/render';
import { freePort, startAlertmanager, startPrometheus, type ToolProcess } from '../../monitoring/processes';
import { createSandboxClient, type SlackMessage } from '../../sandbox/slack';
import { eventually } from '../helpers/ports';
import { startStack, STACK_SECRETS, type Stack } from '../helpers/stack';

jest.setTimeout(180_000);

// 15 minutes of policy time become 4.5 s: the `high` policy pages at 0, 15m and 45m.
const TIME_SCALE = 0.005;

describe('Prometheus → Alertmanager → bot → escalation → ack → resolve', () => {
  let stack: Stack;
  let prometheus: ToolProcess | undefined;
  let alertmanager: ToolProcess | undefined;
  let dir: string;

  beforeAll(async () => {
    const amPort = await freePort();
    stack = await startStack({
      ESCALATION_TIME_SCALE: String(TIME_SCALE),
      CIRCUIT_BREAKER_FAILURE_THRESHOLD: '3',
      CIRCUIT_BREAKER_RECOVERY_TIMEOUT: '1',
      ALERTMANAGER_URL: `http://127.0.0.1:${amPort}`,
    });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-monitoring-'));
    const rendered = renderMonitoring({
      outDir: path.join(dir, 'config'),
      webhookToken: STACK_SECRETS.ALERTMANAGER_WEBHOOK_TOKEN,
      botWebhookUrl: stack.url('BOT_PORT', '/alertmanager/webhook'),
      targets: {
        server: `127.0.0.1:${stack.ports.SERVER_PORT}`,
        bot: `127.0.0.1:${stack.ports.BOT_PORT}`,
        workers: `127.0.0.1:${stack.ports.WORKERS_METRICS_PORT}`,
      },
      alertmanagers: [`127.0.0.1:${amPort}`],
      scrapeInterval: '1s',
      evaluationInterval: '1s',
      alertFor: '0s',
      rangeWindow: '10s',
      groupWait: '1s',
      groupInterval: '1s',
      repeatInterval: '1h',
      alerts: ['CircuitBreakerOpen'],
      runbookBaseUrl: stack.url('BOT_PORT', '/'),
    });
    alertmanager = await startAlertmanager({ configFile: rendered.alertmanagerConfig, dataDir: path.join(dir, 'am'), port: amPort });
    prometheus = await startPrometheus({ configFile: rendered.prometheusConfig, dataDir: path.join(dir, 'prom') });
  });

  afterAll(async () => {
    await prometheus?.stop();
    await alertmanager?.stop();
    await stack?.cleanup();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('one thread, escalation on schedule, silence after ack, resolved when the fault is lifted', async () => {
    const sandbox = createSandboxClient(stack.url('SANDBOX_SLACK_PORT'), { token: STACK_SECRETS.SLACK_BOT_TOKEN });
    const mcp = createMcpClient({
      url: stack.url('SERVER_PORT', '/mcp'),
      auth: { mint: { secret: STACK_SECRETS.JWT_SECRET, subject: 'e2e-agent', scope: 'accounts:read', issuer: 'mcp-financial-ops-local', audience: 'mcp-financial-server' } },
    });
    const accounts = await mcp.callTool('list_accounts', {});
    expect(accounts.isError).toBe(false);
    const accountId = String((accounts.structuredContent?.accounts as Array<{ id: string }>)[0]!.id);

    // Break the backend: every call fails, three in a row open the breaker.
    const faults = await fetch(stack.url('ACCOUNT_SERVICE_PORT', '/_sandbox/faults'), {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ down: true }),
    });
    expect(faults.status).toBe(200);
    for (let i = 0; i < 4; i++) expect((await mcp.callTool('get_account_balance', { accountId })).isError).toBe(true);
    const open = await mcp.callTool('get_account_balance', { accountId });
    expect(open.text).toMatch(/E_CIRCUIT_OPEN/);

    // The real alert arrives as one incident thread in #ops-critical (severity high → P2).
    const root = await eventually(async () => (await sandbox.history('ops-critical')).find((m) => m.text.includes('CircuitBreakerOpen')), 60_000, 250);
    expect(root.text).toMatch(/\[P2\] CircuitBreakerOpen/);
    const incident = /\((INC-\d+),/.exec(root.text)![1]!;
    const steps = async (): Promise<SlackMessage[]> =>
      (await sandbox.replies('ops-critical', root.ts)).filter((m) => m.text.includes('Escalation step'));

    // Nobody acknowledges: step 1 (primary) at once, step 2 (secondary) after 15m × scale.
    await eventually(async () => (await steps()).find((m) => m.text.includes('step 1 of 3')), 10_000, 200).catch(async (err) => {
      console.log(JSON.stringify(await sandbox.replies('ops-critical', root.ts), null, 1).slice(0, 3000), stack.output().slice(-5000));
      throw err;
    });
    await eventually(async () => (await steps()).find((m) => m.text.includes('step 2 of 3')), 15_000, 200);

    const ack = await sandbox.click({ user: 'bob', channel: 'ops-critical', ts: root.ts, action_id: 'incident_ack' });
    expect(ack.ok).toBe(true);
    await eventually(async () => (await sandbox.replies('ops-critical', root.ts)).find((m) => m.text.includes('Acknowledged by bob')), 10_000, 200);
    const firedBeforeAck = (await steps()).length;
    // Step 3 was due at 45m × scale = 13.5 s after opening; wait past it. Nothing more may fire.
    await new Promise((r) => setTimeout(r, 14_000));
    expect((await steps()).length).toBe(firedBeforeAck);
    expect((await steps()).some((m) => m.text.includes('step 3 of 3'))).toBe(false);

    // Lift the fault; after the recovery timeout a trial call closes the breaker and the alert resolves.
    await fetch(stack.url('ACCOUNT_SERVICE_PORT', '/_sandbox/faults'), { method: 'DELETE' });
    await eventually(async () => !(await mcp.callTool('get_account_balance', { accountId })).isError, 15_000, 500);
    const resolved = await eventually(async () => {
      const m = (await sandbox.history('ops-critical')).find((x) => x.ts === root.ts);
      return m?.text.includes('resolved') ? m : undefined;
    }, 60_000, 250);
    expect(resolved.text).toContain(incident);
    // One thread for the whole episode.
    expect((await sandbox.history('ops-critical')).filter((m) => m.text.includes('CircuitBreakerOpen'))).toHaveLength(1);
  });
});
