/**
 * Lifecycle actions the way people run them, on the stack `npm start` runs:
 * `/ops run deploy|restart|rollback mcp-server ... INC-n` in the sandbox Slack,
 * confirmed with the button, run by the real workers through the process
 * driver, which asks the real launcher to restart the real MCP server. The
 * server's own /health says what runs afterwards.
 */
import { createSandboxClient } from '../../sandbox/slack';
import { alertmanagerFixture } from '../helpers/fixtures';
import { eventually } from '../helpers/ports';
import { postAlert, startStack, type Stack } from '../helpers/stack';

jest.setTimeout(240_000);

describe('lifecycle actions through npm start (process driver, real launcher and MCP server)', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ ROUTINE: 'off' });
  });
  afterAll(async () => {
    await stack?.interrupt();
    await stack?.cleanup();
  });

  it('deploy, restart and rollback from Slack restart the real server with the release asked for', async () => {
    const sandbox = createSandboxClient(stack.url('SANDBOX_SLACK_PORT'));
    const health = async () => (await (await fetch(stack.url('SERVER_PORT', '/health'))).json()) as { release?: string; uptimeSeconds: number };
    const { incident } = await postAlert(stack, alertmanagerFixture('high-error-rate.firing'));
    const root = await eventually(async () => (await sandbox.history('ops-critical')).find((m) => m.text.includes(`${incident},`)), 30_000);

    async function run(text: string, expected: RegExp): Promise<string> {
      const answer = (await sandbox.command({ user: 'alice', channel: 'ops-critical', command: '/ops', text: `run ${text} ${incident}` })).body as {
        blocks?: Array<{ elements?: Array<{ action_id: string; value: string }> }>;
      };
      const confirm = (answer.blocks ?? []).flatMap((b) => b.elements ?? []).find((e) => e.action_id === 'action_confirm');
      expect(confirm).toBeDefined();
      const eph = await eventually(async () => (await sandbox.ephemeral({ user: 'alice' })).find((m) => JSON.stringify(m.blocks ?? []).includes(confirm!.value)));
      await sandbox.click({ user: 'alice', channel: 'ops-critical', ts: eph.ts, action_id: 'action_confirm' });
      const reply = await eventually(async () => (await sandbox.replies('ops-critical', root.ts)).find((m) => expected.test(m.text)), 120_000, 250);
      return reply.text;
    }

    await run('deploy mcp-server v1.2.0', /✅ Deploy of mcp-server v1\.2\.0 \(process\)/);
    expect((await health()).release).toBe('v1.2.0');
    await run('deploy mcp-server v1.3.0', /✅ Deploy of mcp-server v1\.3\.0 \(process\)/);
    expect((await health()).release).toBe('v1.3.0');

    await run('restart mcp-server', /✅ Restart of mcp-server \(process\)/);
    const after = await health();
    expect(after.release).toBe('v1.3.0');
    expect(after.uptimeSeconds).toBeLessThan(60);

    await run('rollback mcp-server', /✅ Rollback of mcp-server \(process\)/);
    expect((await health()).release).toBe('v1.2.0');

    // scale is refused in one line by the process driver, and nothing restarts.
    const refused = await run('scale mcp-server 3', /Scale of mcp-server to 3 \(process\)/);
    expect(refused).toMatch(/^❌/);
    expect((await health()).release).toBe('v1.2.0');
  });
});
