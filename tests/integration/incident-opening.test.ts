import express from 'express';
import { Registry } from 'prom-client';
import { createAlertIntake } from '../../bot/alerts/alert-intake';
import { createAlertmanagerWebhookRouter } from '../../bot/alerts/alertmanager-webhook';
import { createIncidentOpener, type IncidentOpener } from '../../bot/alerts/incident-opener';
import type { EscalationEngine } from '../../bot/escalation/engine';
import { createIncidentStore } from '../../bot/incidents/incident-store';
import { createBotMetrics } from '../../bot/metrics';
import { listen, type RunningServer } from '../../lib/http';
import { silentLogger } from '../../lib/logger';
import { firingFor } from '../helpers/fixtures';
import { eventually } from '../helpers/ports';
import { createEscalationHarness, type EscalationHarness } from './escalation-harness';

const TOKEN = 'redelivery-webhook-token-0123456789';

/**
 * A new incident's opening (escalation, root, diagnostics) runs after the webhook has answered, from the openings
 * set the ingest writes atomically with the incident. When it fails (Redis blipped, the queue was away), nothing
 * depends on Alertmanager delivering again: the opener tries it again until it succeeds, and no later delivery
 * starts it twice. When the replica that stored the incident dies before opening it, another takes it over
 * once the lease runs out.
 */
describe('the opening of a new incident after the webhook answered', () => {
  let h: EscalationHarness;
  let engine: EscalationEngine;
  let opener: IncidentOpener;
  let web: RunningServer;
  let failNext = 0;
  // Per incident: a stray attempt at one incident never shows up as another's.
  const attempts = new Map<string, number>();
  const attemptsAt = (id: string) => attempts.get(id) ?? 0;
  const registry = new Registry();
  const metrics = createBotMetrics(registry);

  beforeAll(async () => {
    h = await createEscalationHarness({ timeScale: 0.002 });
    engine = h.engine();
    await engine.start();
    opener = createIncidentOpener({
      redis: h.redis,
      store: h.store,
      notifier: h.notifier,
      logger: silentLogger(),
      metrics,
      registry,
      retryMs: 200,
      pollMs: 100,
      // The real engine behind a switch that makes its next start fail, as a Redis error would.
      open: async (id) => {
        attempts.set(id, attemptsAt(id) + 1);
        if (failNext > 0) {
          failNext -= 1;
          throw new Error('escalation queue unavailable');
        }
        await engine.opened(id);
      },
    });
    await opener.start();
    const intake = createAlertIntake({ store: h.store, notifier: h.notifier, config: h.config, logger: silentLogger(), metrics, opener, onResolved: (id) => engine.resolved(id) });
    const app = express();
    app.use(createAlertmanagerWebhookRouter({ token: TOKEN, intake, logger: silentLogger(), metrics }));
    web = await listen(app, 0);
  });

  afterAll(async () => {
    await web?.close();
    await opener?.stop();
    await h?.close();
  });

  const deliver = (body: unknown) =>
    fetch(`${web.url}/alertmanager/webhook`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify(body),
    });
  const failures = async () => (await registry.getSingleMetric('escalation_hook_failures_total')!.get()).values.find((v) => v.labels.hook === 'opened')?.value ?? 0;

  it('answers 200 at once; a failed opening is tried again until the escalation runs, and is never started twice', async () => {
    const payload = firingFor('RedeliveredOpen', { severity: 'critical' });
    failNext = 2;
    const first = await deliver(payload);
    expect(first.status).toBe(200);
    const { incident: id } = (await first.json()) as { incident: string };
    // Owed until done: in the openings set, not marked handled.
    expect(await h.redis.zscore(h.store.keys.openings, id)).not.toBeNull();

    await eventually(async () => (await engine.inspect(id)).status === 'running', 10_000);
    expect(attemptsAt(id)).toBe(3);
    expect(await failures()).toBe(2);
    expect((await engine.pending(id)).length).toBeGreaterThan(0);
    await eventually(async () => (await h.store.get(id))?.openHandled === true, 5000);
    expect(await h.redis.zscore(h.store.keys.openings, id)).toBeNull();
    // The first step pages (P1 policy: the on-call primary at once), and the root is in Slack.
    await eventually(async () => (await h.firedSteps(id)).length > 0, 15_000);
    expect((await h.store.get(id))?.rootTs).toBeDefined();

    // Once opened, later deliveries do not open it again.
    const gen = (await engine.inspect(id)).gen;
    const again = await deliver(payload);
    expect(again.status).toBe(200);
    expect((await again.json()) as { created: boolean }).toMatchObject({ incident: id, created: false });
    expect(await opener.idle(2000)).toBe(true);
    expect(attemptsAt(id)).toBe(3);
    expect((await engine.inspect(id)).gen).toBe(gen);
  });

  it('an opening left by a replica that died is taken over when its lease runs out, once', async () => {
    // The dead replica: its store wrote the incident and its lease (1 s), and it never ran the opening.
    const dead = createIncidentStore({ redis: h.redis, prefix: h.prefix, openingLeaseMs: 1000 });
    const payload = firingFor('OrphanedOpening', { severity: 'critical' });
    const stored = await dead.ingest(payload, {
      priority: 'P1',
      priorityRule: 'test',
      policy: 'critical',
      route: 'ops-alerts',
      title: 'OrphanedOpening',
      summary: '',
      labels: payload.commonLabels,
      generatorURL: '',
      runbookUrl: '',
      externalURL: '',
      grafanaUrl: '',
    });
    expect(stored.created).toBe(true);
    const id = stored.incidentId;
    const leasedTo = Number(await h.redis.zscore(h.store.keys.openings, id));
    // Not before the lease: the replica that stored it might still be opening it.
    await new Promise((r) => setTimeout(r, 500));
    expect(attemptsAt(id)).toBe(0);
    expect((await engine.inspect(id)).status).toBe('none');

    await eventually(async () => (await h.store.get(id))?.openHandled === true, 10_000);
    expect(Date.now()).toBeGreaterThanOrEqual(leasedTo);
    expect(attemptsAt(id)).toBe(1);
    expect((await engine.inspect(id)).status).toBe('running');
    await eventually(async () => (await h.store.get(id))?.rootTs !== undefined, 10_000);
    expect(await h.redis.zscore(h.store.keys.openings, id)).toBeNull();
  });

  it('an incident resolved before its opening ran is marked handled and never escalates', async () => {
    const dead = createIncidentStore({ redis: h.redis, prefix: h.prefix, openingLeaseMs: 1000 });
    const payload = firingFor('ResolvedFirst', { severity: 'critical' });
    const meta = { priority: 'P1' as const, priorityRule: 'test', policy: 'critical', route: 'ops-alerts', title: 'ResolvedFirst', summary: '', labels: payload.commonLabels, generatorURL: '', runbookUrl: '', externalURL: '', grafanaUrl: '' };
    const { incidentId: id } = await dead.ingest(payload, meta);
    const resolved = { ...payload, status: 'resolved' as const, alerts: payload.alerts.map((a) => ({ ...a, status: 'resolved' as const, endsAt: new Date().toISOString() })) };
    expect((await dead.ingest(resolved, meta)).resolvedNow).toBe(true);
    await eventually(async () => (await h.store.get(id))?.openHandled === true, 10_000);
    expect(attemptsAt(id)).toBe(0);
    expect((await engine.inspect(id)).status).toBe('none');
    expect(await h.redis.zscore(h.store.keys.openings, id)).toBeNull();
  });

  it('under a backlog, openings run by priority: a P1 stored after fifty P4s opens before them', async () => {
    const order: string[] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const slow = createIncidentOpener({
      redis: h.redis,
      store: h.store,
      notifier: h.notifier,
      logger: silentLogger(),
      metrics,
      concurrency: 1,
      pollMs: 60_000,
      open: async (id) => {
        await gate;
        order.push(id);
      },
    });
    await slow.start();
    const meta = (priority: 'P1' | 'P4', title: string) => ({ priority, priorityRule: 'test', policy: 'low', route: 'ops-alerts', title, summary: '', labels: {}, generatorURL: '', runbookUrl: '', externalURL: '', grafanaUrl: '' });
    const lows: string[] = [];
    for (let i = 0; i < 50; i += 1) {
      const { incidentId } = await h.store.ingest(firingFor(`Backlog${i}`, { fingerprint: `b${i}` }), meta('P4', `Backlog${i}`));
      slow.opened(incidentId, 'P4');
      lows.push(incidentId);
    }
    const { incidentId: urgent } = await h.store.ingest(firingFor('BacklogUrgent', { severity: 'critical' }), meta('P1', 'BacklogUrgent'));
    slow.opened(urgent, 'P1');
    expect(slow.held()).toBe(51);
    release();
    expect(await slow.idle(30_000)).toBe(true);
    // The first P4 was already running when the P1 came in; the P1 went next.
    expect(order.slice(0, 2)).toEqual([lows[0], urgent]);
    expect(order).toHaveLength(51);
    await slow.stop();
  });
});
