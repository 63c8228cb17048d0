import express from 'express';
import { Registry } from 'prom-client';
import { createAlertIntake } from '../../bot/alerts/alert-intake';
import { createAlertmanagerWebhookRouter } from '../../bot/alerts/alertmanager-webhook';
import type { EscalationEngine } from '../../bot/escalation/engine';
import { createBotMetrics } from '../../bot/metrics';
import { listen, type RunningServer } from '../../lib/http';
import { silentLogger } from '../../lib/logger';
import { firingFor } from '../helpers/fixtures';
import { eventually } from '../helpers/ports';
import { createEscalationHarness, type EscalationHarness } from './escalation-harness';

const TOKEN = 'redelivery-webhook-token-0123456789';

/**
 * The first delivery of a notification stores the incident, then starting its escalation fails (Redis
 * blipped, the queue was away): the webhook answers 503 and Alertmanager delivers it again. The retry finds
 * the incident already open, and must still start the escalation.
 */
describe('escalation after a failed first delivery', () => {
  let h: EscalationHarness;
  let engine: EscalationEngine;
  let web: RunningServer;
  let failNext = 0;

  beforeAll(async () => {
    h = await createEscalationHarness({ timeScale: 0.002 });
    engine = h.engine();
    await engine.start();
    const metrics = createBotMetrics(new Registry());
    const intake = createAlertIntake({
      store: h.store,
      notifier: h.notifier,
      config: h.config,
      logger: silentLogger(),
      metrics,
      // The real engine behind a switch that makes its next start fail, as a Redis error would.
      onOpened: async (id) => {
        if (failNext > 0) {
          failNext -= 1;
          throw new Error('escalation queue unavailable');
        }
        await engine.opened(id);
      },
      onResolved: (id) => engine.resolved(id),
    });
    const app = express();
    app.use(createAlertmanagerWebhookRouter({ token: TOKEN, intake, logger: silentLogger(), metrics }));
    web = await listen(app, 0);
  });

  afterAll(async () => {
    await web?.close();
    await h?.close();
  });

  const deliver = (body: unknown) =>
    fetch(`${web.url}/alertmanager/webhook`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify(body),
    });

  it('answers 503, and the redelivery starts the escalation it missed', async () => {
    const payload = firingFor('RedeliveredOpen', { severity: 'critical' });
    failNext = 1;
    const first = await deliver(payload);
    expect(first.status).toBe(503);
    const id = (await h.store.openIds()).find(Boolean)!;
    expect((await engine.inspect(id)).status).toBe('none');

    const retry = await deliver(payload);
    expect(retry.status).toBe(200);
    expect(((await retry.json()) as { incident: string; created: boolean })).toMatchObject({ incident: id, created: false });
    expect((await engine.inspect(id)).status).toBe('running');
    expect((await engine.pending(id)).length).toBeGreaterThan(0);
    // The first step pages (P1 policy: the on-call primary at once).
    await eventually(async () => (await h.firedSteps(id)).length > 0, 15_000);

    // Once started, later deliveries do not start it again.
    const gen = (await engine.inspect(id)).gen;
    expect((await deliver(payload)).status).toBe(200);
    expect((await engine.inspect(id)).gen).toBe(gen);
  });
});
