import { z } from 'zod';
import type { Logger } from '../../lib/logger';
import type { Backends } from '../backends/types';
import { defineTool, type GuardedTool } from '../mcp/tool-context';
import { audited, type AuditLog } from './audit';

/** ops_reset_circuit_breaker: forces one backend's breaker closed after the backend is fixed. */
export function breakerResetTool(deps: { backends: Backends; audit: AuditLog; logger: Logger }): GuardedTool {
  return defineTool({
    name: 'ops_reset_circuit_breaker',
    title: 'Reset a circuit breaker',
    description: 'Forces the circuit breaker of a backend closed, so calls flow again at once instead of after the recovery timeout.',
    scope: 'ops:admin',
    kind: 'ops',
    input: z.object({ service: z.enum(['account-service', 'transaction-service']) }),
    output: z.object({
      breaker: z.object({
        service: z.string(),
        state: z.enum(['closed', 'open', 'half-open']),
        failures: z.number(),
        since: z.string(),
      }),
      previousState: z.enum(['closed', 'open', 'half-open']).optional(),
    }),
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    async run(args, { caller }) {
      const previousState = deps.backends.breakers().find((b) => b.service === args.service)?.state;
      const breaker = await audited(
        deps.audit,
        { actor: caller.subject, tool: 'ops_reset_circuit_breaker', args },
        async () => deps.backends.resetBreaker(args.service),
        (err) => deps.logger.error({ err: err.message }, 'audit write failed'),
      );
      return {
        structured: { breaker, previousState },
        text: `Circuit breaker for ${breaker.service}: ${previousState ?? 'unknown'} -> ${breaker.state}`,
      };
    },
  });
}
