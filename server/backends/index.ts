import { CodedError, ErrorCode } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import type { Registry } from '../../lib/metrics';
import type { ServerEnv } from '../config';
import { createBackendMetrics } from './backend-metrics';
import { createCircuitBreaker } from './circuit-breaker';
import { createFinanceClient } from './finance-client';
import { createServiceClient, type ServiceClient } from './service-client';
import type { BackendName, Backends, FinanceBackends } from './types';

export type { Backends, FinanceBackends } from './types';
export { hasFinance } from './types';

export interface BackendsDeps {
  registry: Registry;
  logger: Logger;
  /** Clock for the breakers, in ms; tests inject one. @defaultValue Date.now */
  now?: () => number;
}

type BackendsEnv = Pick<
  ServerEnv,
  | 'ACCOUNT_SERVICE_URL'
  | 'TRANSACTION_SERVICE_URL'
  | 'HTTP_POOL_SIZE'
  | 'HTTP_POOL_MAXSIZE'
  | 'HTTP_TIMEOUT'
  | 'CONNECT_TIMEOUT'
  | 'CIRCUIT_BREAKER_FAILURE_THRESHOLD'
  | 'CIRCUIT_BREAKER_RECOVERY_TIMEOUT'
>;

/**
 * The backend layer: one pooled client and one circuit breaker per service,
 * with the finance operations on top. Nothing is opened until the first call.
 */
export function createBackends(env: BackendsEnv, deps: BackendsDeps): Backends & FinanceBackends {
  const metrics = createBackendMetrics(deps.registry);
  const logger = deps.logger.child({ component: 'backends' });
  const pool = { maxFreeSockets: env.HTTP_POOL_SIZE, maxSockets: env.HTTP_POOL_MAXSIZE, connectTimeoutMs: env.CONNECT_TIMEOUT };

  const client = (service: BackendName, baseUrl: string): ServiceClient => {
    const breaker = createCircuitBreaker({
      service,
      failureThreshold: env.CIRCUIT_BREAKER_FAILURE_THRESHOLD,
      recoveryTimeoutMs: env.CIRCUIT_BREAKER_RECOVERY_TIMEOUT * 1000,
      now: deps.now,
      onTransition: (from, to) => {
        metrics.transitions.inc({ service, from, to });
        const log = to === 'open' ? logger.warn.bind(logger) : logger.info.bind(logger);
        log({ service, from, to }, `circuit breaker ${service}: ${from} -> ${to}`);
      },
    });
    return createServiceClient({ service, baseUrl, timeoutMs: env.HTTP_TIMEOUT, pool, breaker, metrics, logger });
  };

  const clients: Record<BackendName, ServiceClient> = {
    'account-service': client('account-service', env.ACCOUNT_SERVICE_URL),
    'transaction-service': client('transaction-service', env.TRANSACTION_SERVICE_URL),
  };
  const all = Object.values(clients);

  return {
    ...createFinanceClient(clients['account-service'], clients['transaction-service']),
    health: () => Promise.all(all.map((c) => c.health())),
    breakers: () => all.map((c) => c.breaker.status()),
    resetBreaker(service) {
      const c = clients[service];
      if (!c) throw new CodedError(ErrorCode.NotFound, `no circuit breaker for ${service}`, { service });
      return c.breaker.reset();
    },
    async close() {
      for (const c of all) c.close();
    },
  };
}
