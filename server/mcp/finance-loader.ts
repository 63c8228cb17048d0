/* eslint-disable @typescript-eslint/no-require-imports */
import type { Logger } from '../../lib/logger';
import type { Registry } from '../../lib/metrics';
import { CodedError, ErrorCode } from '../../lib/errors';
import type { Backends } from '../backends/types';
import type { ServerEnv } from '../config';
import type { ToolRegistrar } from './mcp-server';

export interface FinanceModules {
  createBackends(env: ServerEnv, deps: { registry: Registry; logger: Logger }): Backends;
  registerFinanceTools: ToolRegistrar;
}

/**
 * The backend layer and the finance tools are built in parallel with this
 * core. Until both files exist the server starts with ops tools only; once
 * they exist, any error inside them surfaces loudly here.
 */
export function loadFinanceModules(): FinanceModules | undefined {
  let backends: { createBackends?: FinanceModules['createBackends'] };
  let tools: { registerFinanceTools?: ToolRegistrar };
  try {
    backends = require('../backends/index');
    tools = require('../tools/finance-tools');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'MODULE_NOT_FOUND' && /backends[\\/]index|tools[\\/]finance-tools/.test(e.message)) return undefined;
    throw err;
  }
  if (typeof backends.createBackends !== 'function' || typeof tools.registerFinanceTools !== 'function') {
    throw new CodedError(ErrorCode.Internal, 'server/backends/index.ts or server/tools/finance-tools.ts lacks its agreed export');
  }
  return { createBackends: backends.createBackends, registerFinanceTools: tools.registerFinanceTools };
}

/** Backends when none are configured: nothing to probe, no breakers. */
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
