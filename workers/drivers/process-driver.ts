import type { Redis } from 'ioredis';
import { parseDuration } from '../../lib/duration';
import { CodedError, ErrorCode } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import type { PlatformConfig } from '../../lib/ops-config-platform';
import {
  PROCESS_COMMANDS_MAXLEN,
  ProcessResultSchema,
  ProcessServiceStateSchema,
  processKeys,
  type ProcessCommand,
  type ProcessResult,
  type ProcessServiceState,
} from '../../lib/platform-process-protocol';
import type { ReleaseHistory } from './release-history';
import { once, type RequestLedger } from './request-ledger';
import type { DriverCallContext, DriverResult, PlatformDriver } from './types';
import { pollUntil, seconds, waitForReadyUrl } from './wait';

export interface ProcessDriverDeps {
  redis: Redis;
  prefix: string;
  logger: Logger;
  history: ReleaseHistory;
  ledger: RequestLedger;
}

/**
 * The `process` platform driver: lifecycle actions go to the local launcher
 * (`npm start`), which supervises the MCP server as a child process. Commands
 * and answers travel through Redis (lib/platform-process-protocol.ts). A
 * release here is a label the launcher starts the server with (MCP_RELEASE),
 * not different code.
 */
export function createProcessDriver(platform: PlatformConfig, deps: ProcessDriverDeps): PlatformDriver {
  const { redis, history, ledger } = deps;
  const keys = processKeys(deps.prefix);
  const readyTimeoutMs = parseDuration(platform.ready_timeout);

  function known(service: string): DriverResult | undefined {
    if (service in platform.services) return undefined;
    return { ok: false, summary: `unknown service ${service} (the ops config's platform.services has ${Object.keys(platform.services).join(', ') || 'none'})` };
  }

  async function supervised(service: string): Promise<ProcessServiceState> {
    const [alive, state] = await Promise.all([redis.get(keys.alive(service)), redis.hgetall(keys.service(service))]);
    const parsed = ProcessServiceStateSchema.safeParse(state);
    if (!alive || !parsed.success) {
      throw new CodedError(ErrorCode.BackendUnavailable, `no launcher supervises ${service} right now (is \`npm start\` running with this Redis and prefix?)`);
    }
    return parsed.data;
  }

  /** Sends the command (again, when resuming: the launcher runs a requestId once) and waits for the answer. */
  async function command(cmd: Omit<ProcessCommand, 'deadline'>, signal?: AbortSignal): Promise<ProcessResult> {
    const full: ProcessCommand = { ...cmd, deadline: Date.now() + readyTimeoutMs };
    await redis.xadd(keys.commands, 'MAXLEN', '~', String(PROCESS_COMMANDS_MAXLEN), '*', 'command', JSON.stringify(full));
    // Stopping the server takes up to 12 s before SIGKILL; starting it again is bounded by ready_timeout.
    const answer = await pollUntil(
      async () => {
        const raw = await redis.get(keys.result(cmd.requestId));
        return raw ? ProcessResultSchema.parse(JSON.parse(raw)) : undefined;
      },
      { timeoutMs: readyTimeoutMs + 15_000, everyMs: 100, signal },
    );
    if (!answer) throw new CodedError(ErrorCode.BackendUnavailable, `the launcher did not answer ${cmd.action} of ${cmd.service} within ${seconds(readyTimeoutMs + 15_000)}`);
    return answer;
  }

  /** Command, then readiness: one line that says how it went. */
  async function relaunch(service: string, verb: string, cmd: Omit<ProcessCommand, 'deadline'>, ctx: DriverCallContext): Promise<DriverResult> {
    const state = await supervised(service);
    const t0 = Date.now();
    const answer = await command(cmd, ctx.signal);
    if (!answer.ok) return { ok: false, summary: `${service} ${verb} failed: ${answer.message}`, version: answer.release };
    const readyUrl = platform.services[service]?.ready_url ?? state.readyUrl;
    const ready = await waitForReadyUrl(readyUrl, readyTimeoutMs, ctx.signal);
    const took = seconds(Date.now() - t0);
    const detail = `pid ${answer.pidBefore ?? '?'} → ${answer.pidAfter ?? '?'}; release ${answer.release ?? '?'}; ${readyUrl} answered ${ready.last}`;
    return ready.ok
      ? { ok: true, summary: `${service} ${verb} in ${took}, ready`, version: answer.release, detail }
      : { ok: false, summary: `${service} ${verb} but not ready within ${seconds(readyTimeoutMs)} (last answer: ${ready.last})`, version: answer.release, detail };
  }

  /** Before the first recorded deploy, what runs now becomes the baseline a rollback can return to. */
  async function baseline(service: string, ctx: DriverCallContext): Promise<void> {
    if (await history.current(service)) return;
    const state = await supervised(service);
    const ready = await waitForReadyUrl(platform.services[service]?.ready_url ?? state.readyUrl, 2000, ctx.signal);
    await history.record(service, {
      requestId: `baseline-${ctx.requestId}`,
      version: state.release,
      ref: state.release,
      by: 'npm start',
      kind: 'baseline',
      healthy: ready.ok ? true : 'unknown',
    });
  }

  async function release(service: string, version: string, kind: 'deploy' | 'rollback', ctx: DriverCallContext): Promise<DriverResult> {
    // No launcher, no release: the history only records what was sent to one.
    await supervised(service);
    await history.record(service, { requestId: ctx.requestId, version, ref: version, by: ctx.requestedBy, kind, healthy: 'unknown' });
    const verb = kind === 'deploy' ? `deployed ${version}` : `rolled back to ${version}`;
    const result = await relaunch(service, verb, { requestId: ctx.requestId, service, action: 'deploy', version, requestedBy: ctx.requestedBy }, ctx);
    await history.setHealth(service, ctx.requestId, result.ok);
    return { ...result, version };
  }

  return {
    kind: 'process',
    services: () => Object.keys(platform.services),

    async restart(service, ctx) {
      const refused = known(service);
      if (refused) return refused;
      return once(ledger, ctx, `restart ${service}`, () =>
        relaunch(service, 'restarted', { requestId: ctx.requestId, service, action: 'restart', requestedBy: ctx.requestedBy }, ctx),
      );
    },

    async deploy(service, version, ctx) {
      const refused = known(service);
      if (refused) return refused;
      return once(ledger, ctx, `deploy ${service} ${version}`, async () => {
        await baseline(service, ctx);
        return release(service, version, 'deploy', ctx);
      });
    },

    async rollback(service, ctx) {
      const refused = known(service);
      if (refused) return refused;
      return once(ledger, ctx, `rollback ${service}`, async (entry) => {
        // A resumed rollback keeps the target it chose: by now its own release may be the current one.
        let target = typeof entry.notes.target === 'string' ? entry.notes.target : undefined;
        if (!target) {
          const previous = await history.previousHealthy(service);
          if (!previous) return { ok: false, summary: `no earlier healthy release of ${service} in the release history; nothing to roll back to` };
          target = previous.version;
          await ledger.note(ctx.requestId, { target });
        }
        return release(service, target, 'rollback', ctx);
      });
    },

    async scale(service) {
      const refused = known(service);
      if (refused) return refused;
      return { ok: false, summary: `the process driver runs one instance of ${service}; scale needs the docker (compose) or kubernetes driver` };
    },

    async close() {
      // Nothing of its own to close: the Redis connection belongs to the caller.
    },
  };
}
