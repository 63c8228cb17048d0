/**
 * A maintenance window end to end, on a compressed schedule: the window's
 * cron is set to start a few seconds from now (4 s long, announced 5 s
 * before). The workers' planner lays out its jobs at start; the real MCP
 * server goes into maintenance mode and a real Alertmanager silence covers
 * the service for the window, and both are off again at its end.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Job } from 'bullmq';
import { routineSchedulerId } from '../../lib/contracts';
import { renderMonitoring } from '../../monitoring/render';
import { freePort, startAlertmanager, type ToolProcess } from '../../monitoring/processes';
import { WEBHOOK_TOKEN } from '../helpers/bot-harness';
import { eventually } from '../helpers/ports';
import { startRoutineHarness, type RoutineHarness } from './routine-harness';

jest.setTimeout(180_000);

type Silence = { id: string; status: { state: string }; matchers: Array<{ name: string; value: string }>; createdBy: string; endsAt: string };
type Msg = { ts: string; text: string; blocks?: unknown[] };

describe('maintenance window (real MCP server, real Alertmanager, bot, workers, sandbox Slack)', () => {
  let h: RoutineHarness;
  let alertmanager: ToolProcess;
  let dir: string;
  let start: Date;

  const reports = async () => (await h.bot.sandbox.history('ops-reports')) as unknown as Msg[];
  const find = (match: RegExp, timeoutMs = 30_000) => eventually(async () => (await reports()).find((m) => match.test(m.text)), timeoutMs, 200);
  const maintenance = async () => ((await (await fetch(`${h.server.url}/health`)).json()) as { maintenance: boolean }).maintenance;
  const silences = async () => ((await (await fetch(`${alertmanager.url}/api/v2/silences`)).json()) as Silence[]).filter((s) => s.createdBy === 'mcp-financial-ops routine');

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'routine-am-'));
    const amPort = await freePort();
    const rendered = renderMonitoring({ outDir: path.join(dir, 'config'), webhookToken: WEBHOOK_TOKEN, alerts: [] });
    alertmanager = await startAlertmanager({ configFile: rendered.alertmanagerConfig, dataDir: path.join(dir, 'am'), port: amPort });
    // Starts 20 s from now (the stack takes a few seconds to come up), lasts 4 s, announced 5 s before.
    start = new Date(Math.ceil((Date.now() + 20_000) / 1000) * 1000);
    const cron = `${start.getUTCSeconds()} ${start.getUTCMinutes()} ${start.getUTCHours()} * * *`;
    h = await startRoutineHarness(
      `
routine:
  maintenance:
    service: mcp-financial-server
    announce_before: [5s]
    windows:
      - { name: drill, cron: "${cron}", duration: 4s, description: "Log rotation & <b>patches</b>" }
`,
      { ALERTMANAGER_URL: alertmanager.url },
    );
  });

  afterAll(async () => {
    await h?.close();
    await alertmanager?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('announces, turns maintenance on with a real silence at the start, and both off at the end', async () => {
    const queue = h.workers.routine()!.queue;
    const planned = async () => ((await queue.getJobs(['delayed', 'wait', 'active', 'completed'])) as Job[]).filter((j) => j.id?.startsWith(`mw-drill-${start.getTime()}-`)).map((j) => j.id).sort();
    const ids = await eventually(async () => ((await planned()).length === 3 ? planned() : undefined), 10_000);
    expect(ids).toEqual([`mw-drill-${start.getTime()}-announce-5000`, `mw-drill-${start.getTime()}-end`, `mw-drill-${start.getTime()}-start`]);
    // Planning again (the planner's next slot) adds nothing: the job ids name the window and its start.
    const plannerJob = await eventually(async () => ((await queue.getDelayed()) as Job[]).find((j) => j.repeatJobKey === routineSchedulerId('maintenance-plan')), 10_000);
    await plannerJob.promote();
    await eventually(async () => (await plannerJob.isCompleted()) || (await queue.getJob(plannerJob.id!)) === undefined, 10_000);
    expect(await planned()).toEqual(ids);

    const announced = await find(/Maintenance window "drill" starts in/);
    expect(JSON.stringify(announced.blocks)).toContain('Log rotation &amp; &lt;b&gt;patches&lt;/b&gt;');
    const pre = await find(/^Pre-maintenance checklist · drill/);
    expect(JSON.stringify(pre.blocks)).toContain('~Schedule maintenance window~ · automatic check passed');
    expect(JSON.stringify(pre.blocks)).toContain('⬜ Test changes in staging');
    expect(await maintenance()).toBe(false);

    await find(/Maintenance window "drill" started/);
    expect(await maintenance()).toBe(true);
    const [silence] = await silences();
    expect(silence).toMatchObject({ status: { state: 'active' }, matchers: [expect.objectContaining({ name: 'service', value: 'mcp-financial-server' })] });
    expect(Date.parse(silence!.endsAt)).toBe(start.getTime() + 4000);
    // The server really is in maintenance: readiness refuses.
    expect((await fetch(`${h.server.url}/health/ready`)).status).toBe(503);

    const ended = await find(/Maintenance window "drill" ended/);
    expect(JSON.stringify(ended.blocks)).toContain(`Silence ${silence!.id} expired`);
    expect(await maintenance()).toBe(false);
    expect((await silences()).map((s) => s.status.state)).toEqual(['expired']);
    const post = await find(/^Post-maintenance checklist · drill/);
    expect(JSON.stringify(post.blocks)).toContain('~Verify service health~ · automatic check passed');
    expect((await fetch(`${h.server.url}/health/ready`)).status).toBe(200);
  });
});
