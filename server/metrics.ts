import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { BreakerState, BreakerStatus } from './backends/types';

/**
 * The server's own series, with the seed's names and labels exactly. Built
 * once per process on the per-process registry from lib/metrics.ts.
 */
export interface ServerMetrics {
  registry: Registry;
  /** `status`: "success", "error", or the HTTP-like code of a refusal ("401", "403", "503"). */
  requests: Counter<'tool' | 'status'>;
  duration: Histogram<'tool'>;
  /** In-flight /mcp requests. */
  activeConnections: Gauge;
  authFailures: Counter<'reason'>;
  jwtFailures: Counter<'reason'>;
  /** Requests refused by the transport rules (foreign `Host` or `Origin`), before auth. */
  transportRejections: Counter<'reason'>;
}

export interface ServerMetricsOptions {
  /** Where `circuit_breaker_state` reads from at scrape time. */
  breakers?: () => BreakerStatus[];
}

const BREAKER_VALUE: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };

export function createServerMetrics(registry: Registry, options: ServerMetricsOptions = {}): ServerMetrics {
  const breakers = options.breakers;
  new Gauge({
    name: 'circuit_breaker_state',
    help: 'Circuit breaker state per backend: 0 closed, 1 half-open, 2 open.',
    labelNames: ['service'],
    registers: [registry],
    collect() {
      if (!breakers) return;
      for (const b of breakers()) this.set({ service: b.service }, BREAKER_VALUE[b.state]);
    },
  });
  return {
    registry,
    requests: new Counter({
      name: 'mcp_requests_total',
      help: 'MCP tool calls by tool and outcome (success, error, or the refusal code).',
      labelNames: ['tool', 'status'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'mcp_request_duration_seconds',
      help: 'MCP tool call duration in seconds.',
      labelNames: ['tool'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
      registers: [registry],
    }),
    activeConnections: new Gauge({
      name: 'mcp_active_connections',
      help: 'MCP HTTP requests in flight.',
      registers: [registry],
    }),
    authFailures: new Counter({
      name: 'mcp_auth_failures_total',
      help: 'Requests refused by authentication or authorization, by reason.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    jwtFailures: new Counter({
      name: 'jwt_validation_failures_total',
      help: 'Bearer tokens that failed validation, by reason.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    transportRejections: new Counter({
      name: 'mcp_transport_rejections_total',
      help: 'Requests refused for a foreign Host or Origin header (DNS rebinding protection), by reason.',
      labelNames: ['reason'],
      registers: [registry],
    }),
  };
}

/** Maps a breaker state to the gauge value, for tests and reports. */
export function breakerStateValue(state: BreakerState): number {
  return BREAKER_VALUE[state];
}
