/**
 * A faithful fake of the slice of the Kubernetes API the kubernetes platform
 * driver uses (apps/v1 Deployments and their scale subresource), on loopback
 * http or https, with bearer-token or client-certificate authentication.
 *
 * As the real API server answers: `Status` objects for errors (401
 * Unauthorized, 403 Forbidden with the RBAC sentence, 404 NotFound, 409
 * Conflict on a stale `metadata.resourceVersion` precondition, 415 for a
 * content type it does not take), strategic merge patch (containers merged
 * by name), JSON merge patch, `metadata.generation` bumped on spec changes,
 * and a small deployment controller that rolls pods out over time
 * (surge one new pod, then retire one old one) and sets `observedGeneration`,
 * `updatedReplicas`, `replicas`, `availableReplicas`. Pods of an image listed
 * in `brokenImages` never become available, so such a rollout stalls.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { randomUUID } from 'node:crypto';

export interface FakeDeploymentSpec {
  replicas: number;
  containers: { name: string; image: string }[];
}

interface Deployment {
  apiVersion: 'apps/v1';
  kind: 'Deployment';
  metadata: { name: string; namespace: string; uid: string; generation: number; resourceVersion: string; creationTimestamp: string; labels: Record<string, string> };
  spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string>; annotations?: Record<string, string> }; spec: { containers: { name: string; image: string }[] } };
    strategy: { type: 'RollingUpdate'; rollingUpdate: { maxSurge: string; maxUnavailable: string } };
  };
  status: { observedGeneration: number; replicas: number; updatedReplicas: number; readyReplicas: number; availableReplicas: number; unavailableReplicas?: number; conditions: unknown[] };
}

export interface RecordedRequest {
  method: string;
  path: string;
  contentType?: string;
  body?: unknown;
  status: number;
}

export interface KubernetesFakeOptions {
  /** Bearer tokens and the user each one authenticates. */
  tokens: Record<string, { user: string; verbs: ('get' | 'patch')[] }>;
  /** https: the server's key and certificate; with `clientCa`, client certificates (CN = user) are accepted too. */
  tls?: { key: string | Buffer; cert: string | Buffer; clientCa?: string | Buffer };
  /** Milliseconds per controller step. @defaultValue 10 */
  stepMs?: number;
}

export interface KubernetesFake {
  url: string;
  requests: RecordedRequest[];
  brokenImages: Set<string>;
  addDeployment(namespace: string, name: string, spec: FakeDeploymentSpec): void;
  deployment(namespace: string, name: string): Deployment | undefined;
  /** Another writer changes the deployment (labels only): its resourceVersion moves on. */
  touch(namespace: string, name: string): void;
  /** Runs `fn` just before the next PATCH is applied (to stage a concurrent write). */
  beforeNextPatch(fn: () => void): void;
  patches(): RecordedRequest[];
  close(): Promise<void>;
}

const status = (code: number, reason: string, message: string, details?: Record<string, unknown>) => ({
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message,
  reason,
  ...(details ? { details } : {}),
  code,
});

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** RFC 7386 JSON merge patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** Strategic merge patch for what Deployments need: lists of named things (containers, env, ports) merge by `name`. */
function strategicPatch(target: unknown, patch: unknown): unknown {
  if (Array.isArray(patch) && Array.isArray(target) && patch.every((p) => isObject(p) && typeof p.name === 'string')) {
    const out = target.map((t) => ({ ...(t as Record<string, unknown>) }));
    for (const p of patch as Record<string, unknown>[]) {
      const i = out.findIndex((t) => t.name === p.name);
      if (i >= 0) out[i] = strategicPatch(out[i], p) as Record<string, unknown>;
      else out.push(p);
    }
    return out;
  }
  if (!isObject(patch)) return patch;
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k.startsWith('$setElementOrder')) continue;
    if (v === null) delete out[k];
    else out[k] = strategicPatch(out[k], v);
  }
  return out;
}

export async function startKubernetesFake(options: KubernetesFakeOptions): Promise<KubernetesFake> {
  const deployments = new Map<string, Deployment>();
  const requests: RecordedRequest[] = [];
  const brokenImages = new Set<string>();
  let resourceVersion = 1000;
  let hook: (() => void) | undefined;
  const nextRv = () => String(++resourceVersion);
  const key = (ns: string, name: string) => `${ns}/${name}`;
  const imagesOf = (d: Deployment) => d.spec.template.spec.containers.map((c) => c.image);
  const templateHealthy = (d: Deployment) => imagesOf(d).every((i) => !brokenImages.has(i));

  // The deployment controller: one step per tick, as pods come and go.
  const templates = new Map<string, string>();
  const tick = setInterval(() => {
    for (const d of deployments.values()) {
      const s = d.status;
      const want = d.spec.replicas;
      const template = JSON.stringify(d.spec.template);
      const k = key(d.metadata.namespace, d.metadata.name);
      if (templates.get(k) !== template) {
        // A new ReplicaSet: none of the running pods is of the new template.
        templates.set(k, template);
        s.updatedReplicas = 0;
      }
      s.observedGeneration = d.metadata.generation;
      const old = s.replicas - s.updatedReplicas;
      if (!templateHealthy(d)) {
        // The new pod never becomes ready: one surged, none retired (maxUnavailable 25% rounds down to 0), stalled.
        if (s.updatedReplicas === 0 && want > 0) {
          s.updatedReplicas = 1;
          s.replicas += 1;
        }
        s.availableReplicas = Math.min(s.availableReplicas, old);
      } else if (s.updatedReplicas < want && s.replicas <= want) {
        // Surge one pod of the new template; it becomes available.
        s.updatedReplicas += 1;
        s.replicas += 1;
        s.availableReplicas = Math.min(s.availableReplicas + 1, s.replicas);
      } else if (s.replicas > want && old > 0) {
        // Retire an old pod.
        s.replicas -= 1;
        s.availableReplicas = Math.min(s.availableReplicas, s.replicas);
      } else if (s.replicas > want) {
        // Scale in.
        s.updatedReplicas -= 1;
        s.replicas -= 1;
        s.availableReplicas = Math.min(s.availableReplicas, s.replicas);
      }
      s.readyReplicas = s.availableReplicas;
      s.unavailableReplicas = Math.max(0, s.replicas - s.availableReplicas) || undefined;
    }
  }, options.stepMs ?? 10);

  function authenticate(req: http.IncomingMessage): { user: string; verbs: string[] } | undefined {
    const auth = req.headers.authorization ?? '';
    const m = /^Bearer (.+)$/.exec(auth);
    if (m) return options.tokens[m[1]!];
    const socket = req.socket as TLSSocket;
    if (options.tls?.clientCa && socket.authorized) {
      const cn = socket.getPeerCertificate()?.subject?.CN;
      if (typeof cn === 'string') return { user: cn, verbs: ['get', 'patch'] };
    }
    return undefined;
  }

  function toScale(d: Deployment) {
    return {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: { name: d.metadata.name, namespace: d.metadata.namespace, uid: d.metadata.uid, resourceVersion: d.metadata.resourceVersion, creationTimestamp: d.metadata.creationTimestamp },
      spec: { replicas: d.spec.replicas },
      status: { replicas: d.status.replicas, selector: Object.entries(d.spec.selector.matchLabels).map(([k, v]) => `${k}=${v}`).join(',') },
    };
  }

  async function handle(req: http.IncomingMessage, body: string): Promise<[number, unknown]> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const m = /^\/apis\/apps\/v1\/namespaces\/([a-z0-9-]+)\/deployments\/([a-z0-9-]+)(\/scale)?$/.exec(url.pathname);
    const who = authenticate(req);
    if (!who) return [401, status(401, 'Unauthorized', 'Unauthorized')];
    if (!m) return [404, status(404, 'NotFound', 'the server could not find the requested resource')];
    const [, ns, name, sub] = m as unknown as [string, string, string, string | undefined];
    const verb = req.method === 'GET' ? 'get' : req.method === 'PATCH' ? 'patch' : undefined;
    if (!verb) return [405, status(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`)];
    const resource = sub ? 'deployments/scale' : 'deployments';
    if (!who.verbs.includes(verb)) {
      return [
        403,
        status(403, 'Forbidden', `deployments.apps "${name}" is forbidden: User "${who.user}" cannot ${verb} resource "${resource}" in API group "apps" in the namespace "${ns}"`, {
          name,
          group: 'apps',
          kind: resource,
        }),
      ];
    }
    const d = deployments.get(key(ns, name));
    if (!d) return [404, status(404, 'NotFound', `deployments.apps "${name}" not found`, { name, group: 'apps', kind: 'deployments' })];
    if (verb === 'get') return [200, sub ? toScale(d) : d];

    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
    if (type !== 'application/strategic-merge-patch+json' && type !== 'application/merge-patch+json') {
      return [
        415,
        status(
          415,
          'UnsupportedMediaType',
          `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`,
        ),
      ];
    }
    let patch: unknown;
    try {
      patch = JSON.parse(body);
    } catch (err) {
      return [400, status(400, 'BadRequest', `error decoding patch: ${(err as Error).message}`)];
    }
    if (!isObject(patch)) return [400, status(400, 'BadRequest', 'error decoding patch: expected an object')];
    const h = hook;
    hook = undefined;
    h?.();
    const rv = isObject(patch.metadata) ? patch.metadata.resourceVersion : undefined;
    if (rv !== undefined && rv !== d.metadata.resourceVersion) {
      return [
        409,
        status(409, 'Conflict', `Operation cannot be fulfilled on deployments.apps "${name}": the object has been modified; please apply your changes to the latest version and try again`, {
          name,
          group: 'apps',
          kind: 'deployments',
        }),
      ];
    }
    const apply = type === 'application/strategic-merge-patch+json' ? strategicPatch : mergePatch;
    const before = JSON.stringify(d.spec);
    if (sub) {
      const spec = isObject(patch.spec) ? patch.spec : {};
      if (spec.replicas !== undefined && (typeof spec.replicas !== 'number' || !Number.isInteger(spec.replicas) || spec.replicas < 0)) {
        return [422, status(422, 'Invalid', `Scale.autoscaling "${name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(spec.replicas)}: must be greater than or equal to 0`)];
      }
      if (typeof spec.replicas === 'number') d.spec.replicas = spec.replicas;
    } else {
      const { metadata: _ignored, ...rest } = patch;
      const next = apply({ spec: d.spec }, rest) as { spec: Deployment['spec'] };
      const containers = next.spec?.template?.spec?.containers;
      if (!Array.isArray(containers) || containers.some((c) => !c.name || !c.image)) {
        return [422, status(422, 'Invalid', `Deployment.apps "${name}" is invalid: spec.template.spec.containers: Required value`)];
      }
      d.spec = next.spec;
    }
    if (JSON.stringify(d.spec) !== before) d.metadata.generation += 1;
    d.metadata.resourceVersion = nextRv();
    return [200, sub ? toScale(d) : d];
  }

  const listener: http.RequestListener = (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      void handle(req, body).then(([code, payload]) => {
        let parsed: unknown;
        try {
          parsed = body ? JSON.parse(body) : undefined;
        } catch {
          parsed = body;
        }
        requests.push({ method: req.method ?? '', path: new URL(req.url ?? '/', 'http://fake').pathname, contentType: req.headers['content-type'], body: parsed, status: code });
        res.writeHead(code, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(payload));
      });
    });
  };
  const server = options.tls
    ? https.createServer({ key: options.tls.key, cert: options.tls.cert, ca: options.tls.clientCa, requestCert: Boolean(options.tls.clientCa), rejectUnauthorized: false }, listener)
    : http.createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    requests,
    brokenImages,
    addDeployment(namespace, name, spec) {
      const labels = { app: name };
      deployments.set(key(namespace, name), {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name, namespace, uid: randomUUID(), generation: 1, resourceVersion: nextRv(), creationTimestamp: new Date().toISOString(), labels },
        spec: {
          replicas: spec.replicas,
          selector: { matchLabels: labels },
          template: { metadata: { labels }, spec: { containers: spec.containers.map((c) => ({ ...c })) } },
          strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
        },
        status: { observedGeneration: 1, replicas: spec.replicas, updatedReplicas: spec.replicas, readyReplicas: spec.replicas, availableReplicas: spec.replicas, conditions: [] },
      });
      templates.set(key(namespace, name), JSON.stringify(deployments.get(key(namespace, name))!.spec.template));
    },
    deployment: (namespace, name) => deployments.get(key(namespace, name)),
    touch(namespace, name) {
      const d = deployments.get(key(namespace, name))!;
      d.metadata.labels = { ...d.metadata.labels, touched: String(Date.now()) };
      d.metadata.resourceVersion = nextRv();
    },
    beforeNextPatch(fn) {
      hook = fn;
    },
    patches: () => requests.filter((r) => r.method === 'PATCH'),
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(tick);
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
