import { Counter, Histogram, type Registry } from 'prom-client';

/**
 * The engine's series. A registry may outlive one engine (a restart inside one
 * process, tests that start a second engine): an existing series is reused
 * rather than registered twice, which prom-client refuses.
 */
export function createEscalationMetrics(registry: Registry) {
  const existing = <T>(name: string) => registry.getSingleMetric(name) as T | undefined;
  return {
    stepsFired:
      existing<Counter<'policy' | 'notify'>>('escalation_steps_fired_total') ??
      new Counter({
        name: 'escalation_steps_fired_total',
        help: 'Escalation steps that notified someone, by policy and notify target.',
        labelNames: ['policy', 'notify'],
        registers: [registry],
      }),
    stepLag:
      existing<Histogram>('escalation_step_lag_seconds') ??
      new Histogram({
        name: 'escalation_step_lag_seconds',
        help: 'How late an escalation step fired: the time it notified minus its due time.',
        // The promise is "within 2 s"; the long tail is a bot that was down.
        buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 15, 60, 300, 1800],
        registers: [registry],
      }),
    slaBreaches:
      existing<Counter<'priority'>>('sla_breaches_total') ??
      new Counter({
        name: 'sla_breaches_total',
        help: 'Incidents not acknowledged within their priority response time, by priority.',
        labelNames: ['priority'],
        registers: [registry],
      }),
  };
}

export type EscalationMetrics = ReturnType<typeof createEscalationMetrics>;
