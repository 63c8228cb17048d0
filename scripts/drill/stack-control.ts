/**
 * `npm start`'s control endpoint, for drills that take the MCP server down for
 * real (`npm run drill -- disaster-recovery`), as an SRE would with
 * `docker-compose stop mcp-financial-server`.
 *
 * The launcher listens on 127.0.0.1 only (STACK_CONTROL_PORT; default an
 * ephemeral port), writes the URL to `.tmp/local.env` as STACK_CONTROL_URL,
 * and asks for `Authorization: Bearer $STACK_CONTROL_TOKEN` (generated per run,
 * mode 600 file, never given to a child process).
 *
 *   GET  /server          {state: running|stopped, pid, startedAt, stoppedAt?, restartAt?, reason?}
 *   POST /server/stop     {reason, maxDownSeconds}: SIGTERM (SIGKILL after 12 s), waits for the exit;
 *                         409 when already stopped
 *   POST /server/start    spawns it, waits until /health answers; `wasRunning` when there was nothing to do
 *
 * A stop is a lease: after `maxDownSeconds` the launcher starts the server by
 * itself, so a drill killed mid-outage never leaves the stack broken. Operations
 * run one at a time, and with the supervisor's restarts (`serialize`).
 */
import crypto from 'node:crypto';
import type http from 'node:http';
import { z } from 'zod';
import { CodedError, ErrorCode } from '../../lib/errors';
import { listen, type RunningServer } from '../../lib/http';

export interface ControlledServer {
  /** The child process answers (not stopped by a drill, not exited). */
  running(): boolean;
  pid(): number;
  startedAt(): string;
  /** Stops the child gracefully; its exit is expected. */
  stop(): Promise<void>;
  /** Spawns the child and resolves once it answers its health URL. */
  start(): Promise<void>;
}

export const ServerStateSchema = z.object({
  state: z.enum(['running', 'stopped']),
  pid: z.number().int(),
  startedAt: z.string(),
  stoppedAt: z.string().optional(),
  restartAt: z.string().optional(),
  reason: z.string().optional(),
});
export type ServerState = z.infer<typeof ServerStateSchema>;

export const StopRequestSchema = z
  .object({
    reason: z.string().trim().min(1, 'say why (it goes to the launcher log)').max(200),
    /** The launcher starts the server again by itself after this long. */
    maxDownSeconds: z.number().int().min(1).max(3600),
  })
  .strict();

export const StartResultSchema = z.object({ pid: z.number().int(), startedAt: z.string(), wasRunning: z.boolean(), tookMs: z.number() });
export const StopResultSchema = z.object({ pid: z.number().int(), stoppedAt: z.string(), restartAt: z.string() });

export interface StackControlOptions {
  token: string;
  host: string;
  port: number;
  server: ControlledServer;
  log: (line: string) => void;
}

export interface StackControl {
  listen(): Promise<string>;
  /** Runs `fn` alone among control operations (the supervisor's restarts go through here too). */
  serialize<T>(fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

const MAX_BODY = 16 * 1024;

function sameSecret(given: string, expected: string): boolean {
  const a = crypto.createHash('sha256').update(given).digest();
  const b = crypto.createHash('sha256').update(expected).digest();
  return crypto.timingSafeEqual(a, b);
}

export function createStackControl(options: StackControlOptions): StackControl {
  const { server, log } = options;
  if (options.token.length < 16) throw new CodedError(ErrorCode.ConfigInvalid, 'STACK_CONTROL_TOKEN must be at least 16 characters');
  let chain: Promise<unknown> = Promise.resolve();
  let held: { stoppedAt: string; restartAt: string; reason: string; timer: NodeJS.Timeout } | undefined;
  let running: RunningServer | undefined;

  const serialize = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = chain.then(fn, fn);
    chain = next.catch(() => undefined);
    return next;
  };

  const state = (): ServerState => ({
    state: server.running() ? 'running' : 'stopped',
    pid: server.running() ? server.pid() : 0,
    startedAt: server.startedAt(),
    ...(held ? { stoppedAt: held.stoppedAt, restartAt: held.restartAt, reason: held.reason } : {}),
  });

  const start = (why: string) =>
    serialize(async () => {
      if (held) clearTimeout(held.timer);
      held = undefined;
      if (server.running()) return { pid: server.pid(), startedAt: server.startedAt(), wasRunning: true, tookMs: 0 };
      const t0 = Date.now();
      log(`starting the MCP server (${why})`);
      await server.start();
      return { pid: server.pid(), startedAt: server.startedAt(), wasRunning: false, tookMs: Date.now() - t0 };
    });

  const stop = (req: z.infer<typeof StopRequestSchema>) =>
    serialize(async () => {
      if (!server.running()) throw new CodedError(ErrorCode.Conflict, 'the MCP server is not running');
      const pid = server.pid();
      log(`stopping the MCP server (pid ${pid}) for ${req.maxDownSeconds} s at most: ${req.reason}`);
      await server.stop();
      const stoppedAt = new Date().toISOString();
      const restartAt = new Date(Date.now() + req.maxDownSeconds * 1000).toISOString();
      const timer = setTimeout(() => {
        void start(`held down for ${req.maxDownSeconds} s, nobody started it again`).catch((err: Error) => log(`the MCP server did not come back: ${err.message}`));
      }, req.maxDownSeconds * 1000);
      timer.unref();
      held = { stoppedAt, restartAt, reason: req.reason, timer };
      return { pid, stoppedAt, restartAt };
    });

  async function readBody(req: http.IncomingMessage): Promise<unknown> {
    let size = 0;
    const chunks: Buffer[] = [];
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY) throw new CodedError(ErrorCode.ValidationFailed, `body over ${MAX_BODY} bytes`);
      chunks.push(chunk as Buffer);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    if (!text) return {};
    try {
      return JSON.parse(text);
    } catch {
      throw new CodedError(ErrorCode.ValidationFailed, 'body is not JSON');
    }
  }

  const handler: http.RequestListener = (req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    const fail = (err: unknown) => {
      const coded = err instanceof CodedError ? err : new CodedError(ErrorCode.Internal, (err as Error).message);
      const status = { [ErrorCode.ValidationFailed]: 400, [ErrorCode.Unauthorized]: 401, [ErrorCode.NotFound]: 404, [ErrorCode.Conflict]: 409 }[coded.code as string] ?? 500;
      send(status, { error: { code: coded.code, message: coded.message } });
    };
    void (async () => {
      const auth = req.headers.authorization ?? '';
      const given = auth.startsWith('Bearer ') ? auth.slice(7) : '';
      if (!given || !sameSecret(given, options.token)) throw new CodedError(ErrorCode.Unauthorized, 'missing or wrong bearer token (STACK_CONTROL_TOKEN in .tmp/local.env)');
      const route = `${req.method} ${new URL(req.url ?? '/', 'http://x').pathname}`;
      if (route === 'GET /server') return send(200, state());
      if (route === 'POST /server/stop') {
        const parsed = StopRequestSchema.safeParse(await readBody(req));
        if (!parsed.success) throw new CodedError(ErrorCode.ValidationFailed, parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
        return send(200, await stop(parsed.data));
      }
      if (route === 'POST /server/start') {
        await readBody(req);
        return send(200, await start('asked through the control endpoint'));
      }
      throw new CodedError(ErrorCode.NotFound, `no route ${route}; GET /server, POST /server/stop, POST /server/start`);
    })().catch(fail);
  };

  return {
    async listen() {
      running = await listen(handler, options.port, options.host);
      return running.url;
    },
    serialize,
    async close() {
      if (held) clearTimeout(held.timer);
      await running?.close();
    },
  };
}

/** The drill's side. Every refusal is a CodedError naming what the launcher said. */
export function stackControlClient(url: string, token: string) {
  async function call<T>(method: 'GET' | 'POST', path: string, schema: z.ZodType<T>, body?: unknown, timeoutMs = 30_000): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${url.replace(/\/$/, '')}${path}`, {
        method,
        headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new CodedError(ErrorCode.BackendUnavailable, `npm start's control endpoint ${url} does not answer (${(err as Error).message}): is npm start running, and is STACK_CONTROL_URL its?`);
    }
    const json = (await res.json().catch(() => undefined)) as { error?: { code?: string; message?: string } } | undefined;
    if (!res.ok) {
      const code = res.status === 401 ? ErrorCode.Unauthorized : res.status === 409 ? ErrorCode.Conflict : ErrorCode.Internal;
      throw new CodedError(code, `control endpoint ${method} ${path}: ${res.status} ${json?.error?.message ?? ''}`.trim());
    }
    return schema.parse(json);
  }
  return {
    state: () => call('GET', '/server', ServerStateSchema),
    stop: (reason: string, maxDownSeconds: number) => call('POST', '/server/stop', StopResultSchema, { reason, maxDownSeconds }),
    // Starting waits for the child to answer /health (tsx compiles on start: allow a minute).
    start: () => call('POST', '/server/start', StartResultSchema, {}, 90_000),
  };
}
export type StackControlClient = ReturnType<typeof stackControlClient>;
