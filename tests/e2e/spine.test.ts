/**
 * The spine, end to end, through the processes `npm start` runs: a real
 * Alertmanager body → bot → Slack thread (sandbox) → button click → BullMQ →
 * worker → MCP server `ops_health_check` → reply in the thread → resolved.
 * Nothing of ours is mocked; every hop is real HTTP or real Redis.
 */
import { createSandboxClient } from '../../sandbox/slack';
import { firingFor, resolvedVersion } from '../helpers/fixtures';
import { eventually } from '../helpers/ports';
import { postAlert, startStack, STACK_SECRETS, type Stack } from '../helpers/stack';

jest.setTimeout(90_000);

describe('npm start: webhook → thread → click → reply → resolved', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack();
  });

  afterAll(async () => {
    await stack?.cleanup();
  });

  it('runs the whole path and stops cleanly on Ctrl-C', async () => {
    const sandbox = createSandboxClient(stack.url('SANDBOX_SLACK_PORT'), { token: STACK_SECRETS.SLACK_BOT_TOKEN });
    expect(stack.output()).toContain(stack.url('SERVER_PORT', '/mcp'));

    const firing = firingFor('E2EServiceDown', { severity: 'critical' });
    const res = await postAlert(stack, firing);
    expect(res.status).toBe(200);
    const incident = res.incident;

    // How fast is bench/alert-to-thread.ts's business; here only that it arrives.
    const rootMsg = await eventually(async () => (await sandbox.history('ops-critical')).find((m) => m.text.includes(`${incident},`)), 20_000, 25);
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

    await postAlert(stack, resolvedVersion(firing));
    await eventually(async () => {
      const m = (await sandbox.history('ops-critical')).find((x) => x.ts === rootMsg.ts);
      return m?.text.includes('resolved');
    }, 5000);
    expect((await sandbox.history('ops-critical')).filter((m) => m.text.includes(`${incident},`))).toHaveLength(1);

    expect(await stack.interrupt()).toBe(0);
    expect(stack.output()).toContain('everything stopped');
    await expect(fetch(stack.url('BOT_PORT', '/health'))).rejects.toThrow();
    await expect(fetch(stack.url('SERVER_PORT', '/health'))).rejects.toThrow();
  });
});
