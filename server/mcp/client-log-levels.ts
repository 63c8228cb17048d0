import { createHash } from 'node:crypto';
import type { LoggingLevel } from '@modelcontextprotocol/sdk/types.js';
import type { Redis } from 'ioredis';

/** Whose level it is: the token's subject and client id (a ToolCaller fits). */
export interface LogLevelOwner {
  subject: string;
  clientId: string;
}

/** RFC 5424 order, as MCP's `LoggingLevel`. */
export const LOGGING_LEVELS: readonly LoggingLevel[] = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'];

/** What a caller that never sent `logging/setLevel` receives. */
export const DEFAULT_LOGGING_LEVEL: LoggingLevel = 'info';

/**
 * The `logging/setLevel` a client chose. MCP keeps the level per session; this
 * server has no sessions (a server per request, several replicas), so it keeps
 * the level per caller (token subject and client id) in Redis, for a day after
 * the last setLevel. Only the long ops tools read it, once per call.
 */
export interface ClientLogLevels {
  set(caller: LogLevelOwner, level: LoggingLevel): Promise<void>;
  get(caller: LogLevelOwner): Promise<LoggingLevel>;
}

const TTL_SECONDS = 24 * 3600;

export function createClientLogLevels(options: { redis: Redis; prefix: string }): ClientLogLevels {
  const key = (c: LogLevelOwner) => `${options.prefix}:mcp:log-level:${createHash('sha256').update(`${c.subject}\n${c.clientId}`).digest('hex').slice(0, 32)}`;
  return {
    async set(caller, level) {
      await options.redis.set(key(caller), level, 'EX', TTL_SECONDS);
    },
    async get(caller) {
      const v = await options.redis.get(key(caller)).catch(() => null);
      return v !== null && (LOGGING_LEVELS as readonly string[]).includes(v) ? (v as LoggingLevel) : DEFAULT_LOGGING_LEVEL;
    },
  };
}

/** Is a message at `level` shown to a client that chose `threshold`? */
export function levelShown(level: LoggingLevel, threshold: LoggingLevel): boolean {
  return LOGGING_LEVELS.indexOf(level) >= LOGGING_LEVELS.indexOf(threshold);
}
