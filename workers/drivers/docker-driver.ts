import { z } from 'zod';
import { parseDuration } from '../../lib/duration';
import { CodedError, ErrorCode } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import type { PlatformConfig } from '../../lib/ops-config-platform';
import { engineError, type DockerClient } from './docker-client';
import { imageRepository, imageTag } from './image-ref';
import { RollbackTargetSchema, type ReleaseHistory } from './release-history';
import { once, type LedgerEntry, type RequestLedger } from './request-ledger';
import type { DriverCallContext, DriverResult, PlatformDriver } from './types';
import { pollUntil, seconds, waitForReadyUrl } from './wait';

/**
 * The `docker` platform driver: one container per service, through the
 * Docker Engine API. restart = the Engine's restart; deploy/rollback = pull
 * the tag, then recreate the container (same name, config, host config and
 * networks, new image), as `docker compose up` does for a changed image.
 * Each step is noted in the request ledger first, so a retried request picks
 * up where the first attempt stopped instead of stopping or creating twice.
 */
const ContainerSchema = z.object({
  Id: z.string(),
  Name: z.string(),
  Image: z.string(),
  State: z.object({
    Status: z.string(),
    Running: z.boolean(),
    StartedAt: z.string().default(''),
    ExitCode: z.number().optional(),
    Health: z.object({ Status: z.string() }).nullish(),
  }),
  Config: z.record(z.string(), z.unknown()).and(z.object({ Image: z.string(), Hostname: z.string().optional() })),
  HostConfig: z.record(z.string(), z.unknown()).default({}),
  NetworkSettings: z
    .object({ Networks: z.record(z.string(), z.object({ Aliases: z.array(z.string()).nullish(), IPAMConfig: z.unknown().nullish(), Links: z.unknown().nullish() })).nullish() })
    .nullish(),
});
type Container = z.output<typeof ContainerSchema>;

/** What a new container is created from: the old one's settings (noted before the old one is removed). */
const SnapshotSchema = z.object({
  oldId: z.string(),
  config: z.record(z.string(), z.unknown()),
  hostConfig: z.record(z.string(), z.unknown()),
  endpoints: z.record(z.string(), z.unknown()),
  oldImage: z.string(),
});
type Snapshot = z.output<typeof SnapshotSchema>;

export interface DockerDriverDeps {
  client: DockerClient;
  history: ReleaseHistory;
  ledger: RequestLedger;
  logger: Logger;
  /** How often a container's state is polled. @defaultValue 500 */
  pollMs?: number;
}

function snapshot(c: Container): Snapshot {
  const shortId = c.Id.slice(0, 12);
  const config: Record<string, unknown> = { ...c.Config };
  // The Engine names a container's host after its id; a new container gets its own.
  if (config.Hostname === shortId) delete config.Hostname;
  const endpoints: Record<string, unknown> = {};
  for (const [net, ep] of Object.entries(c.NetworkSettings?.Networks ?? {})) {
    const aliases = (ep.Aliases ?? []).filter((a) => a !== shortId);
    endpoints[net] = { ...(aliases.length ? { Aliases: aliases } : {}), ...(ep.IPAMConfig ? { IPAMConfig: ep.IPAMConfig } : {}), ...(ep.Links ? { Links: ep.Links } : {}) };
  }
  return { oldId: c.Id, config, hostConfig: c.HostConfig, endpoints, oldImage: c.Config.Image };
}

/** The network a container is created on: its NetworkMode when that is one of its networks, else the first. */
function primaryNetwork(snap: Snapshot): string | undefined {
  const nets = Object.keys(snap.endpoints);
  const mode = typeof snap.hostConfig.NetworkMode === 'string' ? snap.hostConfig.NetworkMode : undefined;
  return mode && nets.includes(mode) ? mode : nets[0];
}

export function createDockerDriver(platform: PlatformConfig, deps: DockerDriverDeps): PlatformDriver {
  const { client, history, ledger } = deps;
  const readyTimeoutMs = parseDuration(platform.ready_timeout);
  const pollMs = deps.pollMs ?? 500;

  const unknown = (service: string): DriverResult => ({
    ok: false,
    summary: `unknown service ${service} (the ops config's platform.services has ${Object.keys(platform.services).join(', ') || 'none'})`,
  });
  const containerName = (service: string) => platform.services[service]?.container ?? service;
  const path = (name: string, action = '') => `/containers/${encodeURIComponent(name)}${action}`;

  async function inspect(name: string, signal?: AbortSignal): Promise<Container | undefined> {
    const answer = await client.call({ method: 'GET', path: path(name, '/json'), signal });
    if (answer.status === 404) return undefined;
    if (answer.status !== 200) throw engineError(answer, `inspecting container ${name}`);
    const parsed = ContainerSchema.safeParse(JSON.parse(answer.text));
    if (!parsed.success) throw new CodedError(ErrorCode.BackendUnavailable, `unexpected inspect answer for container ${name}: ${parsed.error.issues[0]?.message}`);
    return parsed.data;
  }

  async function mustInspect(name: string, signal?: AbortSignal): Promise<Container> {
    const c = await inspect(name, signal);
    if (!c) throw new CodedError(ErrorCode.NotFound, `the Docker Engine says: No such container: ${name}`);
    return c;
  }

  /** Healthy when the image has a health check, else running; then the service's ready_url, if set. */
  async function waitReady(service: string, name: string, signal?: AbortSignal): Promise<{ ok: boolean; line: string }> {
    const t0 = Date.now();
    let last = 'not inspected';
    const ok = await pollUntil(
      async () => {
        const c = await inspect(name, signal);
        if (!c) {
          last = 'gone';
          return undefined;
        }
        const health = c.State.Health?.Status;
        last = health ? `health ${health}` : c.State.Running ? 'running' : `${c.State.Status}${c.State.ExitCode !== undefined ? ` (exit code ${c.State.ExitCode})` : ''}`;
        return (health ? health === 'healthy' : c.State.Running) ? true : undefined;
      },
      { timeoutMs: readyTimeoutMs, everyMs: pollMs, signal },
    );
    if (!ok) return { ok: false, line: `not ready within ${seconds(readyTimeoutMs)} (${last})` };
    const url = platform.services[service]?.ready_url;
    if (url) {
      const ready = await waitForReadyUrl(url, Math.max(1000, readyTimeoutMs - (Date.now() - t0)), signal);
      if (!ready.ok) return { ok: false, line: `${last}, but ${url} answered ${ready.last}` };
    }
    return { ok: true, line: `${last === 'running' ? 'running' : 'healthy'} after ${seconds(Date.now() - t0)}` };
  }

  async function pull(image: string, signal?: AbortSignal): Promise<void> {
    const answer = await client.call({
      method: 'POST',
      path: '/images/create',
      query: { fromImage: imageRepository(image), tag: imageTag(image) },
      timeoutMs: Math.max(readyTimeoutMs, 120_000),
      signal,
    });
    if (answer.status !== 200) throw engineError(answer, `cannot pull ${image}`);
    // A pull that fails after it started streaming says so in its last JSON line.
    const lines = answer.text.trim().split('\n');
    const lastLine = lines[lines.length - 1] ?? '';
    try {
      const progress = JSON.parse(lastLine) as { error?: string };
      if (progress.error) throw new CodedError(ErrorCode.BackendUnavailable, `cannot pull ${image}: the Docker Engine says: ${progress.error}`);
    } catch (err) {
      if (err instanceof CodedError) throw err;
    }
  }

  /** Expects one of `ok` (e.g. 204, or 304 "already so"); anything else is an error that says what we were doing. */
  async function callExpecting(req: Parameters<DockerClient['call']>[0], ok: number[], doing: string) {
    const answer = await client.call(req);
    if (!ok.includes(answer.status)) throw engineError(answer, doing);
    return answer;
  }

  /** Connects the container to the snapshot's networks it is not on yet (`already`). */
  async function connectNetworks(id: string, name: string, already: string[], snap: Snapshot, signal?: AbortSignal): Promise<void> {
    for (const [net, endpoint] of Object.entries(snap.endpoints)) {
      if (already.includes(net)) continue;
      await callExpecting(
        { method: 'POST', path: `/networks/${encodeURIComponent(net)}/connect`, body: { Container: id, EndpointConfig: endpoint }, signal },
        [200],
        `connecting ${name} to network ${net}`,
      );
    }
  }

  async function recreate(service: string, image: string, version: string, kind: 'deploy' | 'rollback', entry: LedgerEntry, ctx: DriverCallContext): Promise<DriverResult> {
    const name = containerName(service);
    const { signal } = ctx;
    const noted = SnapshotSchema.safeParse(entry.notes.snapshot);
    let snap: Snapshot | undefined = noted.success ? noted.data : undefined;
    let current = await inspect(name, signal);
    if (!current && !snap) throw new CodedError(ErrorCode.NotFound, `the Docker Engine says: No such container: ${name}`);

    if (current && current.Config.Image !== image) {
      // The old container is still there: pull first, so a bad tag changes nothing.
      await pull(image, signal);
      if (!snap) {
        snap = snapshot(current);
        await ledger.note(ctx.requestId, { snapshot: snap });
      }
      if (!(await history.current(service))) {
        const healthy = current.State.Health ? current.State.Health.Status === 'healthy' : current.State.Running;
        await history.record(service, { requestId: `baseline-${ctx.requestId}`, version: imageTag(current.Config.Image), ref: current.Config.Image, by: 'docker', kind: 'baseline', healthy: healthy ? true : 'unknown' });
      }
      await callExpecting({ method: 'POST', path: path(current.Id, '/stop'), query: { t: '10' }, timeoutMs: 30_000, signal }, [204, 304], `stopping ${name}`);
      await callExpecting({ method: 'DELETE', path: path(current.Id), signal }, [204, 404], `removing ${name}`);
      current = undefined;
    }
    if (!current) {
      if (!snap) throw new CodedError(ErrorCode.Internal, `container ${name} is gone and no earlier step recorded its settings`);
      // API v1.43 takes one network at create: the primary one (NetworkMode); the others are connected after.
      const primary = primaryNetwork(snap);
      const created = await callExpecting(
        {
          method: 'POST',
          path: '/containers/create',
          query: { name },
          body: { ...snap.config, Image: image, HostConfig: snap.hostConfig, NetworkingConfig: { EndpointsConfig: primary ? { [primary]: snap.endpoints[primary] } : {} } },
          signal,
        },
        [201],
        `creating ${name} from ${image}`,
      );
      const id = z.object({ Id: z.string() }).parse(JSON.parse(created.text)).Id;
      await connectNetworks(id, name, [primary ?? ''], snap, signal);
      await callExpecting({ method: 'POST', path: path(id, '/start'), signal }, [204, 304], `starting ${name}`);
    } else {
      // Recreated by an earlier attempt of this request (or already on this image): make sure it is connected and runs.
      if (snap) await connectNetworks(current.Id, name, Object.keys(current.NetworkSettings?.Networks ?? {}), snap, signal);
      await callExpecting({ method: 'POST', path: path(current.Id, '/start'), signal }, [204, 304], `starting ${name}`);
    }
    await history.record(service, { requestId: ctx.requestId, version, ref: image, by: ctx.requestedBy, kind, healthy: 'unknown' });
    const ready = await waitReady(service, name, signal);
    await history.setHealth(service, ctx.requestId, ready.ok);
    const verb = kind === 'deploy' ? `deployed ${version}` : `rolled back to ${version}`;
    return ready.ok
      ? { ok: true, summary: `${service} ${verb} (container ${name} on ${image}); ${ready.line}`, version }
      : { ok: false, summary: `${service} ${verb} (container ${name} on ${image}) but ${ready.line}; it is recorded unhealthy`, version };
  }

  const entryWhat = (kind: 'deploy' | 'rollback', service: string, version: string) => (kind === 'deploy' ? `deploy ${service} ${version}` : `rollback ${service}`);

  return {
    kind: 'docker',
    services: () => Object.keys(platform.services),

    async restart(service, ctx) {
      if (!(service in platform.services)) return unknown(service);
      const name = containerName(service);
      return once(ledger, ctx, `restart ${service}`, async (entry) => {
        const c = await mustInspect(name, ctx.signal);
        const before = typeof entry.notes.startedAtBefore === 'string' ? entry.notes.startedAtBefore : undefined;
        // An earlier attempt of this request restarted it already if it started since: only wait.
        if (before === undefined || c.State.StartedAt === before) {
          if (before === undefined) await ledger.note(ctx.requestId, { startedAtBefore: c.State.StartedAt });
          const answer = await client.call({ method: 'POST', path: path(name, '/restart'), query: { t: '10' }, timeoutMs: 30_000, signal: ctx.signal });
          if (answer.status !== 204) throw engineError(answer, `restarting ${name}`);
        }
        const ready = await waitReady(service, name, ctx.signal);
        return ready.ok
          ? { ok: true, summary: `${service} restarted (container ${name}); ${ready.line}` }
          : { ok: false, summary: `${service} restarted (container ${name}) but ${ready.line}` };
      });
    },

    async deploy(service, version, ctx) {
      if (!(service in platform.services)) return unknown(service);
      return once(ledger, ctx, entryWhat('deploy', service, version), async (entry) => {
        let image = typeof entry.notes.image === 'string' ? entry.notes.image : undefined;
        if (!image) {
          const repo = platform.services[service]!.image ?? imageRepository((await mustInspect(containerName(service), ctx.signal)).Config.Image);
          image = `${repo}:${version}`;
          await ledger.note(ctx.requestId, { image });
        }
        return recreate(service, image, version, 'deploy', entry, ctx);
      });
    },

    async rollback(service, ctx) {
      if (!(service in platform.services)) return unknown(service);
      return once(ledger, ctx, entryWhat('rollback', service, ''), async (entry) => {
        const noted = RollbackTargetSchema.safeParse(entry.notes.target);
        let chosen = noted.success ? noted.data : undefined;
        if (!chosen) {
          const previous = await history.previousHealthy(service);
          if (!previous) return { ok: false, summary: `no earlier healthy release of ${service} in the release history; nothing to roll back to` };
          chosen = { version: previous.version, ref: previous.ref };
          await ledger.note(ctx.requestId, { target: chosen });
        }
        return recreate(service, chosen.ref, chosen.version, 'rollback', entry, ctx);
      });
    },

    async scale(service) {
      if (!(service in platform.services)) return unknown(service);
      return {
        ok: false,
        summary: `the docker driver runs a single container for ${service} (${containerName(service)}); scale it with \`docker compose up --scale\` or use the kubernetes driver`,
      };
    },

    async close() {
      client.close();
    },
  };
}
