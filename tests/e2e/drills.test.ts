import { spawn } from 'node:child_process';
import path from 'node:path';
import { findBinary } from '../../monitoring/processes';
import { SCENARIOS, type DrillReport } from '../../scripts/drill';
import { startStack, STACK_SECRETS, type Stack } from '../helpers/stack';

/**
 * Every playable drill through the real `npm run drill` CLI against one `npm start` stack
 * with real Prometheus and Alertmanager and a compressed escalation clock.
 */
jest.setTimeout(240_000);
const root = path.resolve(__dirname, '../..');

function drill(stack: Stack, scenario: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    SLACK_API_URL: stack.url('SANDBOX_SLACK_PORT', '/api/'),
    SLACK_BOT_TOKEN: STACK_SECRETS.SLACK_BOT_TOKEN,
    BOT_WEBHOOK_URL: stack.url('BOT_PORT', '/alertmanager/webhook'),
    ALERTMANAGER_WEBHOOK_TOKEN: STACK_SECRETS.ALERTMANAGER_WEBHOOK_TOKEN,
    ACCOUNT_SERVICE_URL: stack.url('ACCOUNT_SERVICE_PORT'),
    TRANSACTION_SERVICE_URL: stack.url('TRANSACTION_SERVICE_PORT'),
    MCP_SERVER_URL: stack.url('SERVER_PORT', '/mcp'),
    PROMETHEUS_URL: stack.url('PROMETHEUS_PORT'),
  };
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [require.resolve('tsx/cli'), 'scripts/drill.ts', scenario, '--json', '--timeout', '40s', '--env-file', '/dev/null'], { cwd: root, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d.toString()));
    child.stderr.on('data', (d) => (stderr += d.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm run drill, every scenario', () => {
  let stack: Stack;

  beforeAll(async () => {
    // CI installs both; a missing binary is a failure here, not a skip.
    expect(findBinary('prometheus')).toBeDefined();
    expect(findBinary('alertmanager', 'prometheus-alertmanager')).toBeDefined();
    stack = await startStack({ MONITORING: 'on', ESCALATION_TIME_SCALE: '0.01' });
    expect(stack.output()).toMatch(/Prometheus +http:\/\/127\.0\.0\.1:\d+/);
    expect(stack.output()).toMatch(/Alertmanager +http:\/\/127\.0\.0\.1:\d+/);
  });

  afterAll(async () => {
    await stack?.cleanup();
  });

  const playable = SCENARIOS.filter((s) => s.playable);
  it.each(playable.map((s) => s.name))('%s: alert, thread, acknowledge, resolve, faults cleared', async (name) => {
    const scenario = SCENARIOS.find((s) => s.name === name)!;
    const run = await drill(stack, name);
    if (run.code !== 0) console.log(run.stdout, run.stderr, stack.output().slice(-3000));
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout.trim().split('\n').pop()!) as DrillReport;
    expect(report).toMatchObject({ scenario: name, alert: scenario.alert, alertFired: true, threadPosted: true, acknowledged: true, resolved: true, faultsCleared: true });
    expect(report.path).toBe(scenario.prometheusSeesIt ? 'prometheus' : 'direct-webhook');
    expect(report.incident).toMatch(/^INC-\d+$/);
    for (const t of [report.timeToAlertMs, report.timeToAcknowledgeMs, report.timeToResolveMs]) expect(t).toBeGreaterThan(0);
    expect(report.timeToAlertMs!).toBeLessThanOrEqual(report.timeToAcknowledgeMs!);
    expect(report.timeToAcknowledgeMs!).toBeLessThanOrEqual(report.timeToResolveMs!);
    // Nothing left broken behind the drill.
    for (const port of ['ACCOUNT_SERVICE_PORT', 'TRANSACTION_SERVICE_PORT'] as const) {
      expect(await (await fetch(stack.url(port, '/_sandbox/faults'))).json()).toEqual({ down: false, errorRate: 0, latencyMs: 0 });
    }
  });
});
