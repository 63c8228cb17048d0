import { z } from 'zod';
import { parseDuration } from '../../lib/duration';
import { CodedError, ErrorCode } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import type { PlatformConfig } from '../../lib/ops-config-platform';
import { imageRepository, imageTag } from './image-ref';
import type { KubeClient } from './kubernetes-client';
import { RollbackTargetSchema, type ReleaseHistory } from './release-history';
import { once, type RequestLedger } from './request-ledger';
import type { DriverCallContext, DriverResult, PlatformDriver } from './types';
import { pollUntil, seconds } from './wait';

/**
 * The `kubernetes` platform driver: a Deployment per service (apps/v1).
 * restart = the annotation `kubectl rollout restart` sets; deploy/rollback =
 * the container's image; scale = the scale subresource. Each waits for the
 * rollout as `kubectl rollout status` does.
 */
export const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';
const STRATEGIC = 'application/strategic-merge-patch+json' as const;
const MERGE = 'application/merge-patch+json' as const;

const DeploymentSchema = z.object({
  metadata: z.object({ name: z.string(), namespace: z.string().optional(), generation: z.number().int().default(0), resourceVersion: z.string().optional() }),
  spec: z.object({
    replicas: z.number().int().default(1),
    template: z.object({
      metadata: z.object({ annotations: z.record(z.string(), z.string()).nullish() }).nullish(),
      spec: z.object({ containers: z.array(z.object({ name: z.string(), image: z.string().default('') })).min(1) }),
    }),
  }),
  status: z
    .object({
      observedGeneration: z.number().int().optional(),
      replicas: z.number().int().default(0),
      updatedReplicas: z.number().int().default(0),
      availableReplicas: z.number().int().default(0),
      conditions: z.array(z.object({ type: z.string(), status: z.string(), reason: z.string().optional(), message: z.string().optional() })).default([]),
    })
    .default({ replicas: 0, updatedReplicas: 0, availableReplicas: 0, conditions: [] }),
});
type Deployment = z.output<typeof DeploymentSchema>;

const ScaleSchema = z.object({ spec: z.object({ replicas: z.number().int().default(0) }) });

export interface KubernetesDriverDeps {
  client: KubeClient;
  history: ReleaseHistory;
  ledger: RequestLedger;
  logger: Logger;
  /** How often a rollout is polled. @defaultValue 500 */
  pollMs?: number;
}

interface Rollout {
  done: boolean;
  failed?: string;
  progress: string;
  replicas: number;
  updated: number;
  available: number;
}

/** kubectl's rollout status rules (DeploymentStatusViewer), counting replicas exactly. */
export function rolloutStatus(d: Deployment): Rollout {
  const want = d.spec.replicas;
  const { updatedReplicas: updated, availableReplicas: available, replicas } = d.status;
  const base = { replicas: want, updated, available, progress: `${updated} of ${want} updated` };
  if ((d.status.observedGeneration ?? -1) < d.metadata.generation) return { ...base, done: false };
  const progressing = d.status.conditions.find((c) => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') return { ...base, done: false, failed: `the rollout exceeded its progress deadline (${progressing.message ?? ''})` };
  // Stricter than kubectl for scale-in: every replica is updated and available, and no old one is left.
  return { ...base, done: updated === want && replicas === want && available === want };
}

export function createKubernetesDriver(platform: PlatformConfig, deps: KubernetesDriverDeps): PlatformDriver {
  const { client, history, ledger } = deps;
  const readyTimeoutMs = parseDuration(platform.ready_timeout);
  const pollMs = deps.pollMs ?? 500;

  function target(service: string) {
    const svc = platform.services[service];
    if (!svc) return undefined;
    const namespace = svc.namespace ?? 'default';
    const deployment = svc.deployment ?? service;
    const base = `/apis/apps/v1/namespaces/${namespace}/deployments/${deployment}`;
    return { svc, namespace, deployment, base, what: `deployment ${namespace}/${deployment}` };
  }
  type Target = NonNullable<ReturnType<typeof target>>;

  const unknown = (service: string): DriverResult => ({
    ok: false,
    summary: `unknown service ${service} (the ops config's platform.services has ${Object.keys(platform.services).join(', ') || 'none'})`,
  });

  const get = (t: Target, signal?: AbortSignal) => client.request({ method: 'GET', path: t.base, what: t.what, signal }, DeploymentSchema);
  const patch = (t: Target, body: unknown, signal?: AbortSignal) =>
    client.request({ method: 'PATCH', path: t.base, what: t.what, body, contentType: STRATEGIC, signal }, DeploymentSchema);

  /** Waits until the rollout of `generation` is complete, at most `ready_timeout`. */
  async function waitRollout(t: Target, generation: number, signal?: AbortSignal): Promise<{ ok: boolean; line: string; ms: number; detail: string }> {
    const t0 = Date.now();
    let last: Rollout | undefined;
    const done = await pollUntil(
      async () => {
        const d = await get(t, signal);
        last = rolloutStatus({ ...d, metadata: { ...d.metadata, generation: Math.max(generation, d.metadata.generation) } });
        if (last.failed) return last;
        return last.done ? last : undefined;
      },
      { timeoutMs: readyTimeoutMs, everyMs: pollMs, signal },
    );
    const ms = Date.now() - t0;
    const detail = last ? `${t.what}: ${last.updated} updated, ${last.available} available, ${last.replicas} wanted` : `${t.what}: no status read`;
    if (done?.failed) return { ok: false, line: done.failed, ms, detail };
    if (done) return { ok: true, line: `rollout finished in ${seconds(ms)} (${done.progress})`, ms, detail };
    return { ok: false, line: `rollout did not finish within ${seconds(readyTimeoutMs).replace('.0 s', ' s')} (${last?.progress ?? 'no status'})`, ms, detail };
  }

  function containerOf(t: Target, d: Deployment) {
    const containers = d.spec.template.spec.containers;
    const name = t.svc.container_name;
    const c = name ? containers.find((x) => x.name === name) : containers.length === 1 ? containers[0] : undefined;
    if (!c) {
      const names = containers.map((x) => x.name).join(', ');
      throw new CodedError(
        ErrorCode.NotFound,
        name ? `${t.what} has no container named ${name} (it has ${names})` : `${t.what} has several containers (${names}); set platform.services.<name>.container_name`,
      );
    }
    return c;
  }

  /** Sets the container's image, with the resourceVersion we read as a precondition; on 409 reads again and retries once. */
  async function setImage(t: Target, d: Deployment, image: string, signal?: AbortSignal): Promise<Deployment> {
    let current = d;
    for (let attempt = 1; ; attempt++) {
      const container = containerOf(t, current);
      if (container.image === image) return current;
      try {
        return await patch(
          t,
          { metadata: { resourceVersion: current.metadata.resourceVersion }, spec: { template: { spec: { containers: [{ name: container.name, image }] } } } },
          signal,
        );
      } catch (err) {
        if (!(err instanceof CodedError && err.code === ErrorCode.Conflict) || attempt >= 2) throw err;
        deps.logger.warn({ what: t.what }, 'deployment changed while we set its image; reading it again');
        current = await get(t, signal);
      }
    }
  }

  async function baseline(service: string, t: Target, d: Deployment, ctx: DriverCallContext): Promise<void> {
    if (await history.current(service)) return;
    const image = containerOf(t, d).image;
    const healthy = rolloutStatus(d).done && d.status.availableReplicas > 0;
    await history.record(service, { requestId: `baseline-${ctx.requestId}`, version: imageTag(image), ref: image, by: 'kubernetes', kind: 'baseline', healthy: healthy ? true : 'unknown' });
  }

  async function release(service: string, t: Target, version: string, image: string, kind: 'deploy' | 'rollback', ctx: DriverCallContext): Promise<DriverResult> {
    const before = await get(t, ctx.signal);
    await baseline(service, t, before, ctx);
    // Resumed after a crash: if the image is already set, this patches nothing and only waits.
    const after = await setImage(t, before, image, ctx.signal);
    await history.record(service, { requestId: ctx.requestId, version, ref: image, by: ctx.requestedBy, kind, healthy: 'unknown' });
    const roll = await waitRollout(t, after.metadata.generation, ctx.signal);
    await history.setHealth(service, ctx.requestId, roll.ok);
    const verb = kind === 'deploy' ? `deployed ${version}` : `rolled back to ${version}`;
    return roll.ok
      ? { ok: true, summary: `${service} ${verb} (${image}); ${roll.line}`, version, detail: roll.detail }
      : { ok: false, summary: `${service} ${verb} (${image}) but ${roll.line}; it is recorded unhealthy`, version, detail: roll.detail };
  }

  return {
    kind: 'kubernetes',
    services: () => Object.keys(platform.services),

    async restart(service, ctx) {
      const t = target(service);
      if (!t) return unknown(service);
      return once(ledger, ctx, `restart ${service}`, async (entry) => {
        let d = await get(t, ctx.signal);
        const noted = typeof entry.notes.restartedAt === 'string' ? entry.notes.restartedAt : undefined;
        // Patched already by an earlier attempt of this request: only wait.
        if (!noted || d.spec.template.metadata?.annotations?.[RESTARTED_AT] !== noted) {
          const stamp = new Date().toISOString();
          await ledger.note(ctx.requestId, { restartedAt: stamp });
          d = await patch(t, { spec: { template: { metadata: { annotations: { [RESTARTED_AT]: stamp } } } } }, ctx.signal);
        }
        const roll = await waitRollout(t, d.metadata.generation, ctx.signal);
        return roll.ok
          ? { ok: true, summary: `${service} restarted (${t.what}); ${roll.line}`, detail: roll.detail }
          : { ok: false, summary: `${service} restart started (${t.what}) but ${roll.line}`, detail: roll.detail };
      });
    },

    async deploy(service, version, ctx) {
      const t = target(service);
      if (!t) return unknown(service);
      return once(ledger, ctx, `deploy ${service} ${version}`, async () => {
        const d = await get(t, ctx.signal);
        const image = `${t.svc.image ?? imageRepository(containerOf(t, d).image)}:${version}`;
        return release(service, t, version, image, 'deploy', ctx);
      });
    },

    async rollback(service, ctx) {
      const t = target(service);
      if (!t) return unknown(service);
      return once(ledger, ctx, `rollback ${service}`, async (entry) => {
        const noted = RollbackTargetSchema.safeParse(entry.notes.target);
        let chosen = noted.success ? noted.data : undefined;
        if (!chosen) {
          const previous = await history.previousHealthy(service);
          if (!previous) return { ok: false, summary: `no earlier healthy release of ${service} in the release history; nothing to roll back to` };
          chosen = { version: previous.version, ref: previous.ref };
          await ledger.note(ctx.requestId, { target: chosen });
        }
        return release(service, t, chosen.version, chosen.ref, 'rollback', ctx);
      });
    },

    async scale(service, replicas, ctx) {
      const t = target(service);
      if (!t) return unknown(service);
      if (replicas > t.svc.max_replicas) {
        return { ok: false, summary: `scale ${service} to ${replicas} refused: platform.services.${service}.max_replicas is ${t.svc.max_replicas}` };
      }
      return once(ledger, ctx, `scale ${service} ${replicas}`, async (entry) => {
        const scalePath = `${t.base}/scale`;
        const current = await client.request({ method: 'GET', path: scalePath, what: t.what, signal: ctx.signal }, ScaleSchema);
        const from = typeof entry.notes.from === 'number' ? entry.notes.from : current.spec.replicas;
        await ledger.note(ctx.requestId, { from });
        // Setting the same count again is harmless, so a resumed request needs no marker.
        if (from !== replicas) {
          await client.request({ method: 'PATCH', path: scalePath, what: t.what, body: { spec: { replicas } }, contentType: MERGE, signal: ctx.signal }, ScaleSchema);
        }
        const d = await get(t, ctx.signal);
        const roll = await waitRollout(t, d.metadata.generation, ctx.signal);
        return roll.ok
          ? { ok: true, summary: `${service} scaled from ${from} to ${replicas} replicas; ${roll.line}`, detail: roll.detail }
          : { ok: false, summary: `${service} scale to ${replicas} asked but ${roll.line}`, detail: roll.detail };
      });
    },

    async close() {
      client.close();
    },
  };
}

