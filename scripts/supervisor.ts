import type { Redis } from 'ioredis';
import {
  PROCESS_ALIVE_TTL_SECONDS,
  PROCESS_RESULT_TTL_SECONDS,
  ProcessCommandSchema,
  processKeys,
  type ProcessCommand,
  type ProcessResult,
  type ProcessServiceState,
} from '../lib/platform-process-protocol';

/**
 * The launcher's side of the process platform driver: reads lifecycle
 * commands from Redis (lib/platform-process-protocol.ts), runs each request
 * once, and publishes the supervised service's state. The launcher supplies
 * `restart`, which stops the child gracefully and starts it again.
 */
export interface SupervisedService {
  name: string;
  readyUrl: string;
  /** Current pid and release label. */
  state(): { pid: number; release: string; startedAt: string };
  /** Stops the child, starts it again with `release`, resolves once it answers. */
  restart(release: string): Promise<{ pidBefore: number; pidAfter: number }>;
}

export interface SupervisorOptions {
  /** The supervisor duplicates it for its blocking command loop, and closes only that copy. */
  redis: Redis;
  prefix: string;
  service: SupervisedService;
  log: (line: string) => void;
}

export interface Supervisor {
  start(): Promise<void>;
  /** Publishes the state again (after a restart). */
  publish(): Promise<void>;
  stop(): Promise<void>;
}

/** The release the launcher starts the server with: what it last ran, or the given default. */
export async function lastRelease(redis: Redis, prefix: string, service: string, fallback: string): Promise<string> {
  const release = await redis.hget(processKeys(prefix).service(service), 'release');
  return release || fallback;
}

export function createSupervisor(options: SupervisorOptions): Supervisor {
  const { redis, prefix, service, log } = options;
  const keys = processKeys(prefix);
  let stopped = false;
  let loop: Promise<void> | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  const blocking = redis.duplicate();

  async function publish(): Promise<void> {
    const s = service.state();
    const state: ProcessServiceState = { pid: s.pid, release: s.release, startedAt: s.startedAt, readyUrl: service.readyUrl, launcherPid: process.pid };
    await redis
      .multi()
      .hset(keys.service(service.name), state as unknown as Record<string, string | number>)
      .set(keys.alive(service.name), String(process.pid), 'EX', PROCESS_ALIVE_TTL_SECONDS)
      .exec();
  }

  async function answer(result: ProcessResult): Promise<void> {
    await redis.set(keys.result(result.requestId), JSON.stringify(result), 'EX', PROCESS_RESULT_TTL_SECONDS);
  }

  async function run(command: ProcessCommand): Promise<void> {
    // A command sent again (its job was retried) finds the claim and is not run twice.
    const claimed = await redis.set(keys.claim(command.requestId), String(Date.now()), 'EX', PROCESS_RESULT_TTL_SECONDS, 'NX');
    if (claimed !== 'OK') return;
    const base = { requestId: command.requestId };
    if (command.service !== service.name) {
      await answer({ ...base, ok: false, message: `this launcher supervises ${service.name}, not ${command.service}` });
      return;
    }
    if (Date.now() > command.deadline) {
      await answer({ ...base, ok: false, message: 'the command expired before the launcher read it; nothing was done' });
      return;
    }
    const release = command.action === 'deploy' && command.version ? command.version : service.state().release;
    const t0 = Date.now();
    log(`${command.action} of ${service.name} (release ${release}) asked by ${command.requestedBy}, request ${command.requestId}`);
    try {
      const pids = await service.restart(release);
      await publish();
      await answer({ ...base, ok: true, message: `${service.name} restarted`, ...pids, release, durationMs: Date.now() - t0 });
    } catch (err) {
      await answer({ ...base, ok: false, message: `${service.name} did not come back: ${(err as Error).message}`, release, durationMs: Date.now() - t0 });
    }
  }

  async function readLoop(): Promise<void> {
    // Start after the newest command: commands sent while no launcher ran are not replayed.
    const newest = await blocking.xrevrange(keys.commands, '+', '-', 'COUNT', 1);
    let lastId = newest[0]?.[0] ?? '0-0';
    while (!stopped) {
      let reply: [string, [string, string[]][]][] | null;
      try {
        reply = (await blocking.xread('COUNT', 10, 'BLOCK', 1000, 'STREAMS', keys.commands, lastId)) as typeof reply;
      } catch (err) {
        if (stopped) return;
        log(`supervisor: reading commands failed: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      for (const [, entries] of reply ?? []) {
        for (const [id, fields] of entries) {
          lastId = id;
          const raw = fields[fields.indexOf('command') + 1];
          let parsed;
          try {
            parsed = ProcessCommandSchema.safeParse(JSON.parse(raw ?? ''));
          } catch {
            parsed = undefined;
          }
          if (!parsed?.success) {
            log(`supervisor: ignored an unreadable command ${id}`);
            continue;
          }
          await run(parsed.data);
        }
      }
    }
  }

  return {
    async start() {
      await publish();
      heartbeat = setInterval(() => void publish().catch(() => undefined), (PROCESS_ALIVE_TTL_SECONDS * 1000) / 3);
      loop = readLoop();
    },
    publish,
    async stop() {
      stopped = true;
      if (heartbeat) clearInterval(heartbeat);
      await redis.del(keys.alive(service.name)).catch(() => undefined);
      // The blocking XREAD returns within its 1 s block; disconnecting ends it sooner.
      blocking.disconnect();
      await loop?.catch(() => undefined);
    },
  };
}
