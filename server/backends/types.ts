/**
 * The contract between the MCP server core (auth, transport, ops tools) and the
 * backend layer (pooled axios clients + circuit breakers for account-service and
 * transaction-service). The core only sees this interface.
 */
export type BackendName = 'account-service' | 'transaction-service';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerStatus {
  service: BackendName;
  state: BreakerState;
  failures: number;
  /** ISO time the breaker last changed state. */
  since: string;
}

export interface BackendHealth {
  service: BackendName;
  url: string;
  healthy: boolean;
  latencyMs: number;
  breaker: BreakerState;
  error?: string;
}

export interface Backends {
  /** Probes each backend's own health endpoint (bypassing nothing: an open breaker reports unhealthy). */
  health(): Promise<BackendHealth[]>;
  breakers(): BreakerStatus[];
  /** Forces a breaker closed (ops_reset_circuit_breaker). */
  resetBreaker(service: BackendName): BreakerStatus;
  close(): Promise<void>;
}
