import { CodedError, ErrorCode } from '../../lib/errors';
import type { Backends } from '../backends/types';

/**
 * Backends that are not there: nothing to probe, no breakers. For servers
 * built without the backend layer (ops-only tests, tools that need no
 * account or transaction service).
 */
export function noBackends(): Backends {
  return {
    health: async () => [],
    breakers: () => [],
    resetBreaker: (service) => {
      throw new CodedError(ErrorCode.NotFound, `no circuit breaker for ${service}: backends are not loaded`);
    },
    close: async () => undefined,
  };
}
