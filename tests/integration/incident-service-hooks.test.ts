import { Registry } from 'prom-client';
import { createIncidentService, type EscalationHooks } from '../../bot/incidents/incident-service';
import { createBotMetrics } from '../../bot/metrics';
import { silentLogger } from '../../lib/logger';
import { createEscalationHarness, type EscalationHarness } from './escalation-harness';

/** An escalation hook that fails leaves the person's change in place, and is counted, not only logged. */
describe('escalation hook failures', () => {
  let h: EscalationHarness;

  beforeAll(async () => {
    h = await createEscalationHarness();
  });

  afterAll(async () => {
    await h.close();
  });

  it('counts a failed hook in escalation_hook_failures_total{hook}', async () => {
    const registry = new Registry();
    const metrics = createBotMetrics(registry);
    const failing = async () => {
      throw new Error('escalation queue unavailable');
    };
    const escalation: EscalationHooks = {
      opened: failing,
      acknowledged: failing,
      unacknowledged: failing,
      resolved: failing,
      snoozed: failing,
      unsnoozed: failing,
      reclassified: failing,
    };
    const service = createIncidentService({ store: h.store, notifier: h.notifier, config: h.config, metrics, logger: silentLogger(), escalation });
    const id = await h.openIncident('P2');
    const acked = await service.acknowledge(id, { id: 'U0BOB', name: 'bob' });
    expect(acked.state).toBe('acknowledged');
    await service.resolve(id, { id: 'U0BOB', name: 'bob' });

    const series = (await registry.getSingleMetric('escalation_hook_failures_total')?.get())?.values ?? [];
    const byHook = Object.fromEntries(series.map((v) => [v.labels.hook, v.value]));
    expect(byHook).toEqual({ acknowledged: 1, resolved: 1 });
  });
});
