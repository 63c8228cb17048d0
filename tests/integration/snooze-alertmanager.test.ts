import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { renderMonitoring } from '../../monitoring/render';
import { freePort, startAlertmanager, type ToolProcess } from '../../monitoring/processes';
import { startBotHarness, WEBHOOK_TOKEN, type BotHarness } from '../helpers/bot-harness';
import { eventually } from '../helpers/ports';

jest.setTimeout(90_000);

/**
 * Snoozes against the real Alertmanager, which notifies the real bot: the silence covers every alert of the
 * group, and at the snooze's end the bot asks Alertmanager what still fires (Alertmanager never sends the
 * resolved notification of an alert that resolved while silenced).
 */
describe('snooze with the real Alertmanager', () => {
  let h: BotHarness;
  let am: ToolProcess;
  let dir: string;
  const alice = { id: 'U0ALICE', name: 'alice' };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'snooze-am-'));
    const amPort = await freePort();
    h = await startBotHarness({ env: { ALERTMANAGER_URL: `http://127.0.0.1:${amPort}` }, deps: { snoozeChoices: ['3s', '1h'] } });
    const out = renderMonitoring({
      outDir: path.join(dir, 'config'),
      webhookToken: WEBHOOK_TOKEN,
      botWebhookUrl: `${h.botUrl}/alertmanager/webhook`,
      groupWait: '1s',
      groupInterval: '1s',
      repeatInterval: '1h',
    });
    am = await startAlertmanager({ configFile: out.alertmanagerConfig, dataDir: path.join(dir, 'data'), port: amPort });
  });

  afterAll(async () => {
    await am?.stop();
    await h?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Pushes alerts to Alertmanager as Prometheus does: firing until `endsAt`, resolved once it is past. */
  async function push(alertname: string, instances: string[], endsAt: Date): Promise<void> {
    const body = instances.map((instance) => ({
      labels: { alertname, service: `svc-${alertname}`, instance, severity: 'critical' },
      annotations: { summary: `${alertname} on ${instance}` },
      startsAt: new Date(Date.now() - 60_000).toISOString(),
      endsAt: endsAt.toISOString(),
    }));
    const res = await fetch(`${am.url}/api/v2/alerts`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    expect(res.status).toBe(200);
  }

  const firing = (alertname: string, instances: string[]) => push(alertname, instances, new Date(Date.now() + 3_600_000));
  const resolve = (alertname: string, instances: string[]) => push(alertname, instances, new Date());

  async function amAlerts(alertname: string): Promise<Array<{ labels: Record<string, string>; status: { state: string; silencedBy: string[] } }>> {
    const res = await fetch(`${am.url}/api/v2/alerts?filter=${encodeURIComponent(`alertname="${alertname}"`)}`);
    return (await res.json()) as Array<{ labels: Record<string, string>; status: { state: string; silencedBy: string[] } }>;
  }

  /** The incident Alertmanager's notification opened for `alertname`, once it holds `count` firing alerts. */
  async function incidentOf(alertname: string, count: number): Promise<string> {
    return eventually(async () => {
      for (const id of await h.bot.store.openIds()) {
        const i = await h.bot.store.get(id);
        if (i?.title === alertname && i.firing === count) return id;
      }
      return undefined;
    }, 30_000, 200);
  }

  it('silences every alert of the group (its group labels), not only the first alert\'s instance', async () => {
    await firing('SnoozeAllInstances', ['a', 'b', 'c']);
    const id = await incidentOf('SnoozeAllInstances', 3);
    const snoozed = await h.bot.incidents.snooze(id, alice, '1h');
    const silence = (await (await fetch(`${am.url}/api/v2/silence/${snoozed.silenceId}`)).json()) as { matchers: Array<{ name: string; value: string }> };
    expect(silence.matchers.map((m) => `${m.name}=${m.value}`).sort()).toEqual(['alertname=SnoozeAllInstances', 'service=svc-SnoozeAllInstances']);
    const alerts = await amAlerts('SnoozeAllInstances');
    expect(alerts).toHaveLength(3);
    for (const a of alerts) expect(a.status).toMatchObject({ state: 'suppressed', silencedBy: [snoozed.silenceId] });

    // The thread's Silence link selects the same alerts.
    const root = await h.root('ops-critical', id);
    const link = JSON.stringify(root.blocks).match(/silences\/new\?filter=([^|"]+)/)?.[1];
    expect(decodeURIComponent(link ?? '')).toBe('{alertname="SnoozeAllInstances",service="svc-SnoozeAllInstances"}');
  });

  it('resolves, instead of paging again, when every alert resolved while snoozed', async () => {
    await firing('ResolvesWhileSnoozed', ['a', 'b']);
    const id = await incidentOf('ResolvesWhileSnoozed', 2);
    await h.bot.incidents.snooze(id, alice, '3s');
    await resolve('ResolvesWhileSnoozed', ['a', 'b']);
    await eventually(async () => (await amAlerts('ResolvesWhileSnoozed')).length === 0, 10_000);

    const incident = await eventually(async () => {
      const i = await h.bot.store.get(id);
      return i?.state !== 'snoozed' ? i : undefined;
    }, 30_000, 100);
    expect(incident).toMatchObject({ state: 'resolved', firing: 0, resolved: 2 });
    const types = (await h.bot.store.timeline(id)).map((e) => e.type);
    expect(types).toContain('resolved');
    expect(types).not.toContain('snooze_ended');
    expect((await h.bot.store.openIds()).includes(id)).toBe(false);
  });

  it('re-triggers when alerts still fire at the snooze end, and resolves those that stopped', async () => {
    await firing('StillFiringAfterSnooze', ['a', 'b']);
    const id = await incidentOf('StillFiringAfterSnooze', 2);
    await h.bot.incidents.snooze(id, alice, '3s');
    await resolve('StillFiringAfterSnooze', ['a']);
    await eventually(async () => (await amAlerts('StillFiringAfterSnooze')).length === 1, 10_000);

    const incident = await eventually(async () => {
      const i = await h.bot.store.get(id);
      return i?.state !== 'snoozed' ? i : undefined;
    }, 30_000, 100);
    expect(incident).toMatchObject({ state: 'triggered', firing: 1, resolved: 1 });
    const types = (await h.bot.store.timeline(id)).map((e) => e.type);
    expect(types).toContain('snooze_ended');
    expect(types).toContain('alert_resolved');
  });
});
