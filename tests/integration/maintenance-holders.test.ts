/**
 * Overlapping maintenance windows: a `maintenance on <duration>` (the runbook worker) and the
 * routine's scheduled windows hold maintenance together (workers/maintenance/holders.ts), so the
 * end of one does not switch the mode off for the other. Real MCP server (its /health says whether
 * it is in maintenance), real Alertmanager (the silences), the real bot and workers on one Redis
 * prefix, the sandbox Slack. Windows are driven with the jobs the workers queue themselves: the
 * routine's phase jobs (as its planner adds them) and the action's queued `-end` job, promoted.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import IORedis from 'ioredis';
import { createAuditLog } from '../../lib/audit-log';
import { QueueName, type RoutineJob, type RunbookActionJob } from '../../lib/contracts';
import { renderMonitoring } from '../../monitoring/render';
import { freePort, startAlertmanager, type ToolProcess } from '../../monitoring/processes';
import { createMaintenanceHolders, maintenanceHoldersKey } from '../../workers/maintenance/holders';
import { WEBHOOK_TOKEN } from '../helpers/bot-harness';
import { eventually } from '../helpers/ports';
import { startRoutineHarness, type RoutineHarness } from './routine-harness';

jest.setTimeout(180_000);

type Silence = { id: string; status: { state: string } };
type Msg = { ts: string; text: string; blocks?: unknown[] };

describe('overlapping maintenance windows (real MCP server, Alertmanager, bot, workers, sandbox Slack)', () => {
  let h: RoutineHarness;
  let alertmanager: ToolProcess;
  let dir: string;
  let actions: Queue;
  let routine: Queue<RoutineJob>;
  let seq = 0;

  const maintenance = async () => ((await (await fetch(`${h.server.url}/health`)).json()) as { maintenance: boolean }).maintenance;
  const silenceState = async (id: string) => ((await (await fetch(`${alertmanager.url}/api/v2/silence/${id}`)).json()) as Silence).status.state;
  const holderCount = () => h.bot.redis.hlen(maintenanceHoldersKey(h.bot.prefix));

  /** A runbook `maintenance` job as the bot queues it; resolves with its audited result. */
  async function action(params: Record<string, unknown>, requestedAt = new Date()): Promise<{ requestId: string; message: string; detail: Record<string, unknown> }> {
    const requestId = `mh-${++seq}-${Date.now()}`;
    const job: RunbookActionJob = {
      action: 'maintenance',
      requestId,
      requestedBy: 'U0BOB',
      reply: { channel: h.workers.config.channels.P3 },
      params,
      requestedAt: requestedAt.toISOString(),
      origin: 'command',
    };
    await actions.add('maintenance', job, { jobId: requestId, attempts: 1 });
    return { requestId, ...(await resultOf(requestId)) };
  }

  async function resultOf(requestId: string): Promise<{ message: string; detail: Record<string, unknown> }> {
    const entry = await eventually(async () => (await createAuditLog({ redis: h.bot.redis, prefix: h.bot.prefix }).read({ requestId })).find((e) => e.kind === 'result'), 30_000, 100);
    expect(entry.outcome).toBe('ok');
    return { message: entry.message ?? '', detail: (entry.detail ?? {}) as Record<string, unknown> };
  }

  /** The queued end of a `maintenance on` runs now (as it would at the window's end). */
  async function endOf(requestId: string): Promise<string> {
    const end = await actions.getJob(`${requestId}-end`);
    expect(end?.data).toMatchObject({ origin: 'schedule', params: { mode: 'off' } });
    await end!.promote();
    return (await resultOf(`${requestId}-end`)).message;
  }

  /** One phase of a scheduled window, as the routine's planner queues it; resolves with its report in #ops-reports. */
  async function phase(window: string, which: 'start' | 'end', startsAt: Date, endsAt: Date): Promise<string> {
    await routine.add('maintenance', { kind: 'maintenance', window, phase: which, startsAt: startsAt.toISOString(), endsAt: endsAt.toISOString() }, { jobId: `mw-${window}-${startsAt.getTime()}-${which}` });
    const title = which === 'start' ? `Maintenance window "${window}" started` : `Maintenance window "${window}" ended`;
    const post = await eventually(async () => ((await h.bot.sandbox.history('ops-reports')) as unknown as Msg[]).find((m) => m.text.includes(title)), 30_000, 100);
    return JSON.stringify(post.blocks);
  }

  const windowSilence = (blocks: string) => /\(silence ([0-9a-f-]+)\)/.exec(blocks)![1]!;
  const silencesOf = (r: { detail: Record<string, unknown> }) => r.detail.silenceIds as string[];
  const alertsChannel = async (match: RegExp) =>
    eventually(async () => ((await h.bot.sandbox.history('ops-alerts')) as unknown as Msg[]).find((m) => match.test(m.text)), 20_000, 100);

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mh-am-'));
    const rendered = renderMonitoring({ outDir: path.join(dir, 'config'), webhookToken: WEBHOOK_TOKEN, alerts: [] });
    alertmanager = await startAlertmanager({ configFile: rendered.alertmanagerConfig, dataDir: path.join(dir, 'am'), port: await freePort() });
    // The configured window is far off (the planner plans nothing now); the tests queue their windows' phases.
    h = await startRoutineHarness(
      `
routine:
  maintenance:
    service: mcp-financial-server
    announce_before: [1h]
    windows:
      - { name: weekly, cron: "0 2 29 2 *", duration: 2h }
`,
      { ALERTMANAGER_URL: alertmanager.url },
    );
    actions = new Queue(QueueName.RunbookActions, { connection: h.bot.redis, prefix: h.bot.prefix });
    routine = h.workers.routine()!.queue;
  });

  afterAll(async () => {
    await actions?.close();
    await h?.close();
    await alertmanager?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a manual window, then a scheduled one inside it: the scheduled end keeps maintenance on; the manual end turns it off', async () => {
    const manual = await action({ mode: 'on', durationSeconds: 6 * 3600, reason: 'ledger upgrade' });
    expect(await maintenance()).toBe(true);
    const start = new Date();
    const started = await phase('inner', 'start', start, new Date(start.getTime() + 3_600_000));
    const windowId = windowSilence(started);

    const ended = await phase('inner', 'end', start, new Date(start.getTime() + 3_600_000));
    expect(ended).toContain('Maintenance stays *ON*: `maintenance on 6h` by <@U0BOB> holds it until');
    expect(await maintenance()).toBe(true);
    // The window's silence ended with it; the manual window's are still active.
    expect(await silenceState(windowId)).toBe('expired');
    for (const id of silencesOf(manual)) expect(await silenceState(id)).toBe('active');

    expect(await endOf(manual.requestId)).toMatch(/^✅ Maintenance off, 2 silence\(s\) expired/);
    expect(await maintenance()).toBe(false);
    for (const id of silencesOf(manual)) expect(await silenceState(id)).toBe('expired');
    expect(await holderCount()).toBe(0);
  });

  it('a scheduled window, then a shorter manual one: the manual end keeps maintenance on and says who holds it; the window end turns it off', async () => {
    const start = new Date();
    const end = new Date(start.getTime() + 2 * 3_600_000);
    const windowId = windowSilence(await phase('outer', 'start', start, end));
    const manual = await action({ mode: 'on', durationSeconds: 3600, reason: 'hotfix' });
    expect(silencesOf(manual)).toHaveLength(2);

    const result = await endOf(manual.requestId);
    expect(result).toContain(`Maintenance stays ON: window outer holds it until ${end.toISOString()}`);
    await alertsChannel(/Maintenance stays ON: window outer holds it until/);
    expect(await maintenance()).toBe(true);
    for (const id of silencesOf(manual)) expect(await silenceState(id)).toBe('expired');
    expect(await silenceState(windowId)).toBe('active');

    const ended = await phase('outer', 'end', start, end);
    expect(ended).toContain('Maintenance mode is *OFF*.');
    expect(await maintenance()).toBe(false);
    expect(await silenceState(windowId)).toBe('expired');
  });

  it("a person's maintenance off ends every holder and every maintenance silence, and says which", async () => {
    const start = new Date();
    const end = new Date(start.getTime() + 3_600_000);
    const windowId = windowSilence(await phase('both', 'start', start, end));
    const manual = await action({ mode: 'on', durationSeconds: 6 * 3600, reason: 'db failover' });

    const off = await action({ mode: 'off' });
    expect(off.message).toMatch(/^✅ Maintenance off, 3 silence\(s\) expired; asked by <@U0BOB>\. Ended: /);
    expect(off.message).toContain('window both (until');
    expect(off.message).toContain('`maintenance on 6h` by <@U0BOB> (until');
    expect(await maintenance()).toBe(false);
    for (const id of [windowId, ...silencesOf(manual)]) expect(await silenceState(id)).toBe('expired');
    expect(await holderCount()).toBe(0);

    // The ends that come later change nothing: the mode stays off.
    expect(await phase('both', 'end', start, end)).toContain('Maintenance mode is *OFF*.');
    expect(await endOf(manual.requestId)).toMatch(/^✅ Maintenance off/);
    expect(await maintenance()).toBe(false);
  });

  it('a holder whose time ran out (its end never ran) does not keep maintenance on', async () => {
    // A one-minute window asked for 55 s ago: it holds for 5 s more. Its queued end is lost (as with a crashed worker).
    const stale = await action({ mode: 'on', durationSeconds: 60, reason: 'short one' }, new Date(Date.now() - 55_000));
    const staleUntil = Date.now() + 5_000;
    await actions.remove(`${stale.requestId}-end`);
    const manual = await action({ mode: 'on', durationSeconds: 6 * 3600, reason: 'long one' });
    await eventually(async () => (Date.now() > staleUntil + 500 ? true : undefined), 20_000, 200);

    const start = new Date();
    await phase('stale', 'start', start, new Date(start.getTime() + 3_600_000));
    const ended = await phase('stale', 'end', start, new Date(start.getTime() + 3_600_000));
    // Held by the live manual window only; the stale one is not named.
    expect(ended).toContain('Maintenance stays *ON*: `maintenance on 6h` by <@U0BOB> holds it until');
    expect(ended).not.toContain('maintenance on 1m');
    expect(await maintenance()).toBe(true);

    expect(await endOf(manual.requestId)).toMatch(/^✅ Maintenance off/);
    expect(await maintenance()).toBe(false);
  });

  it('two window ends at once: one says maintenance stays on, the other turns it off', async () => {
    const a = await action({ mode: 'on', durationSeconds: 2 * 3600, reason: 'race a' });
    const b = await action({ mode: 'on', durationSeconds: 3 * 3600, reason: 'race b' });
    const [ea, eb] = await Promise.all([actions.getJob(`${a.requestId}-end`), actions.getJob(`${b.requestId}-end`)]);
    await Promise.all([ea!.promote(), eb!.promote()]);
    const results = await Promise.all([resultOf(`${a.requestId}-end`), resultOf(`${b.requestId}-end`)]);
    const messages = results.map((r) => r.message);
    expect(messages.filter((m) => m.startsWith('✅ Maintenance off'))).toHaveLength(1);
    expect(messages.filter((m) => /^🚧 Maintenance stays ON: `maintenance on [23]h` by <@U0BOB> holds it until/.test(m))).toHaveLength(1);
    expect(await maintenance()).toBe(false);
    // No active holder is left (the earlier test's run-out one is kept a day for its silences, inactive).
    expect(await createMaintenanceHolders(h.bot.redis, h.bot.prefix).active(Date.now())).toEqual([]);
    for (const id of [...silencesOf(a), ...silencesOf(b)]) expect(await silenceState(id)).toBe('expired');
  });

  it('the holders script: many concurrent ends on separate connections, exactly one finds none left', async () => {
    const prefix = `${h.bot.prefix}-race`;
    const connections = Array.from({ length: 4 }, () => new IORedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'));
    try {
      const holders = connections.map((c) => createMaintenanceHolders(c, prefix));
      const now = Date.now();
      for (let i = 0; i < 24; i += 1) await holders[0]!.hold(`req:r${i}`, { untilMs: now + 3_600_000, label: `r${i}`, by: 'test', why: 'race', silences: [] }, now);
      const outcomes = await Promise.all(Array.from({ length: 24 }, (_, i) => holders[i % 4]!.release(`req:r${i}`, Date.now())));
      expect(outcomes.filter((o) => o.remaining.length === 0)).toHaveLength(1);
      expect(outcomes.every((o) => o.released !== null)).toBe(true);
      expect(await connections[0]!.exists(maintenanceHoldersKey(prefix))).toBe(0);
    } finally {
      await connections[0]!.del(maintenanceHoldersKey(prefix));
      await Promise.all(connections.map((c) => c.quit()));
    }
  });
});
