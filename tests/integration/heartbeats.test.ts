/**
 * Heartbeats: a source that stops beating opens an incident, and it resolves
 * when the beats return; Alertmanager's Watchdog is a heartbeat, never an
 * incident. The real bot against the sandbox Slack, on a compressed clock
 * (ESCALATION_TIME_SCALE multiplies the intervals).
 */
import crypto from 'node:crypto';
import { createHeartbeatMonitor, HEARTBEAT_ALERTNAME } from '../../bot/heartbeats/heartbeat-monitor';
import { parseOpsConfig } from '../../lib/ops-config';
import { silentLogger } from '../../lib/logger';
import { closeRedis } from '../../lib/redis';
import { startBotHarness, type BotHarness } from '../helpers/bot-harness';
import { eventually } from '../helpers/ports';
import { deletePrefix, testPrefix, testRedis } from '../helpers/redis';
import firing from '../fixtures/alertmanager/high-error-rate.firing.json';
import type { AlertmanagerWebhook } from '../../bot/alerts/alertmanager-payload';

const TOKEN = 'nightly-backup-heartbeat-token';
const sha = (t: string) => crypto.createHash('sha256').update(t).digest('hex');
const config = parseOpsConfig(`
heartbeats:
  watchdog:
    interval: 10m
  sources:
    nightly-backup:
      description: the nightly backup job
      interval: 10m
      priority: P3
      token_sha256: ${sha(TOKEN)}
`);

function watchdog(): AlertmanagerWebhook {
  const base = firing as unknown as AlertmanagerWebhook;
  const alert = { ...base.alerts[0]!, labels: { alertname: 'Watchdog', severity: 'none' }, annotations: { summary: 'always firing' }, fingerprint: 'a1b2c3d4e5f60708' };
  return { ...base, groupKey: '{}:{alertname="Watchdog"}', receiver: 'ops-watchdog', commonLabels: alert.labels, groupLabels: { alertname: 'Watchdog' }, alerts: [alert] };
}

describe('heartbeats through the bot', () => {
  let h: BotHarness;
  beforeAll(async () => {
    // 10m × 0.001 = 600 ms of silence opens the incident.
    h = await startBotHarness({ env: { ESCALATION_TIME_SCALE: '0.001' }, deps: { opsConfig: config, escalation: false } });
  });
  afterAll(() => h.close());

  const beat = (name: string, token = TOKEN, body?: string) =>
    fetch(`${h.botUrl}/heartbeats/${name}`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, ...(body ? { body } : {}) });

  async function heartbeatIncident(name: string) {
    for (const id of await h.bot.store.openIds()) {
      const incident = await h.bot.store.get(id);
      if (incident?.labels.heartbeat === name && incident.title === HEARTBEAT_ALERTNAME) return incident;
    }
    return undefined;
  }

  it('refuses a wrong token, an unknown heartbeat and a bad body, and records nothing', async () => {
    const before = await h.bot.heartbeats.state('nightly-backup');
    expect((await beat('nightly-backup', 'wrong')).status).toBe(401);
    expect((await beat('no-such-job')).status).toBe(404);
    expect((await beat('nightly-backup', TOKEN, '{"unexpected": 1}')).status).toBe(400);
    expect((await beat('nightly-backup', TOKEN, 'not json')).status).toBe(400);
    const after = await h.bot.heartbeats.state('nightly-backup');
    // Nothing moved the deadline on (the sweep may have claimed it meanwhile: then it is gone and the state is missing).
    expect(after.deadline === undefined || after.deadline.getTime() === before.deadline?.getTime()).toBe(true);
  });

  it('a configured source that never beats, or goes quiet again, opens an incident in Slack; the next beat resolves it', async () => {
    // Armed at start: it never beat, so it goes missing after its (compressed) interval.
    const incident = await eventually(() => heartbeatIncident('nightly-backup'), 10_000);
    expect(incident.priority).toBe('P3');
    const root = await h.root('ops-alerts', incident.id);
    expect(root.text).toContain('HeartbeatMissing');
    const res = await beat('nightly-backup', TOKEN, '{"message": "backup done"}');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ok: true, result: 'recovered' });
    await eventually(async () => (await h.bot.store.get(incident.id))?.state === 'resolved', 10_000);

    // Quiet again: a new incident (a new episode), resolved by the next beat.
    const again = await eventually(async () => {
      const i = await heartbeatIncident('nightly-backup');
      return i && i.id !== incident.id ? i : undefined;
    }, 10_000);
    expect(await (await beat('nightly-backup')).json()).toMatchObject({ result: 'recovered' });
    await eventually(async () => (await h.bot.store.get(again.id))?.state === 'resolved', 10_000);
  });

  it('the Watchdog is a heartbeat, not an incident; when it stops a P1 opens, and it resolves when it returns', async () => {
    expect(await h.alert(watchdog())).toBeNull();
    expect(await h.bot.store.openIds()).not.toContainEqual(expect.stringContaining('Watchdog'));
    expect((await h.bot.heartbeats.state('alertmanager')).state).toBe('ok');
    const incident = await eventually(() => heartbeatIncident('alertmanager'), 10_000);
    expect(incident.priority).toBe('P1');
    expect(incident.summary).toContain('alerting pipeline');
    await h.root('ops-critical', incident.id);
    expect(await h.alert(watchdog())).toBeNull();
    await eventually(async () => (await h.bot.store.get(incident.id))?.state === 'resolved', 10_000);
  });
});

describe('heartbeat expiry across replicas and restarts', () => {
  const redis = testRedis();
  const prefix = testPrefix('heartbeat');
  afterAll(async () => {
    await deletePrefix(redis, prefix);
    await closeRedis(redis);
  });

  it('two replicas sweeping at once open one incident; a restarted replica still sees the deadline', async () => {
    let t = Date.parse('2026-03-29T00:00:00Z');
    const delivered: Array<[string, string]> = [];
    const make = () =>
      createHeartbeatMonitor({
        redis,
        prefix,
        config: config.heartbeats,
        deliver: async (p) => void delivered.push([p.alerts[0]!.labels.heartbeat!, p.status]),
        logger: silentLogger(),
        now: () => new Date(t),
      });
    const [a, b] = [make(), make()];
    await a.beat('nightly-backup');
    t += 9 * 60_000;
    expect([...(await a.sweep()), ...(await b.sweep())]).toEqual([]);
    t += 2 * 60_000;
    const claims = await Promise.all([a.sweep(), b.sweep(), a.sweep(), b.sweep()]);
    expect(claims.flat()).toEqual(['nightly-backup']);
    expect(delivered).toEqual([['nightly-backup', 'firing']]);

    // A replica started after the beat (a restart) resolves it on the next beat and re-arms it.
    const c = make();
    expect(await c.beat('nightly-backup')).toBe('recovered');
    expect(delivered).toEqual([['nightly-backup', 'firing'], ['nightly-backup', 'resolved']]);
    t += 11 * 60_000;
    expect(await make().sweep()).toEqual(['nightly-backup']);
  });
});
