import { z } from 'zod';

/**
 * How the process platform driver (workers) talks to the local launcher
 * (`npm start`, scripts/start.ts) that supervises the MCP server: through
 * Redis, so no port and no shell is needed.
 *
 * - the driver XADDs a command to `<prefix>:platform:process:commands`;
 * - the launcher reads the stream (XREAD BLOCK), claims the requestId once
 *   (SET NX), acts, and writes the result to `...:result:<requestId>`;
 * - the launcher publishes each supervised service's state (pid, ready URL,
 *   release) in `...:service:<name>` and a heartbeat key that expires when it
 *   stops, so the driver can say at once that no launcher is running.
 */
export const processKeys = (prefix: string) => ({
  commands: `${prefix}:platform:process:commands`,
  claim: (requestId: string) => `${prefix}:platform:process:claim:${requestId}`,
  result: (requestId: string) => `${prefix}:platform:process:result:${requestId}`,
  service: (name: string) => `${prefix}:platform:process:service:${name}`,
  alive: (name: string) => `${prefix}:platform:process:alive:${name}`,
});

/** The stream keeps about this many commands. */
export const PROCESS_COMMANDS_MAXLEN = 1000;
/** Results and claims are kept a day: long enough for any retry of the job that asked. */
export const PROCESS_RESULT_TTL_SECONDS = 86_400;
/** The launcher refreshes its heartbeat every few seconds; it expires after this. */
export const PROCESS_ALIVE_TTL_SECONDS = 10;

export const ProcessCommandSchema = z.object({
  requestId: z.string().min(1).max(200),
  service: z.string().min(1),
  action: z.enum(['restart', 'deploy']),
  /** deploy: the release label the server is started with (MCP_RELEASE). */
  version: z.string().min(1).max(64).optional(),
  requestedBy: z.string().max(200),
  /** Epoch ms; a command read after it is answered `expired` and not acted on. */
  deadline: z.number().int(),
});
export type ProcessCommand = z.output<typeof ProcessCommandSchema>;

export const ProcessResultSchema = z.object({
  requestId: z.string(),
  ok: z.boolean(),
  message: z.string(),
  pidBefore: z.number().int().optional(),
  pidAfter: z.number().int().optional(),
  release: z.string().optional(),
  durationMs: z.number().optional(),
});
export type ProcessResult = z.output<typeof ProcessResultSchema>;

export const ProcessServiceStateSchema = z.object({
  pid: z.coerce.number().int(),
  readyUrl: z.string().url(),
  release: z.string().min(1),
  startedAt: z.string(),
  launcherPid: z.coerce.number().int(),
});
export type ProcessServiceState = z.output<typeof ProcessServiceStateSchema>;
