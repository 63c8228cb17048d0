import { Counter, Histogram, type Registry } from 'prom-client';

/** How a backend call ended, as the `outcome` label reports it. */
export type BackendOutcome = 'success' | 'business_error' | 'server_error' | 'timeout' | 'connection_error' | 'circuit_open' | 'bad_response' | 'cancelled';

export interface BackendMetrics {
  duration: Histogram<'service' | 'operation' | 'outcome'>;
  transitions: Counter<'service' | 'from' | 'to'>;
}

/**
 * `backend_request_duration_seconds` and `circuit_breaker_transitions_total`.
 * (`circuit_breaker_state` is the core's gauge, read from `breakers()`.)
 * Reuses the series when the registry already has them, so building the
 * backends twice on one registry (tests, a reload) does not throw.
 */
export function createBackendMetrics(registry: Registry): BackendMetrics {
  const duration =
    (registry.getSingleMetric('backend_request_duration_seconds') as BackendMetrics['duration'] | undefined) ??
    new Histogram({
      name: 'backend_request_duration_seconds',
      help: 'Calls from the MCP server to account-service and transaction-service, by operation and outcome.',
      labelNames: ['service', 'operation', 'outcome'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
      registers: [registry],
    });
  const transitions =
    (registry.getSingleMetric('circuit_breaker_transitions_total') as BackendMetrics['transitions'] | undefined) ??
    new Counter({
      name: 'circuit_breaker_transitions_total',
      help: 'Circuit breaker state changes per backend.',
      labelNames: ['service', 'from', 'to'],
      registers: [registry],
    });
  return { duration, transitions };
}
