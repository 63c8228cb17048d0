/**
 * A faithful fake of the slice of the Docker Engine API (v1.43+) the docker
 * platform driver uses, on a unix socket in a temp dir, as dockerd serves it:
 *
 * - `GET /containers/{id}/json` (by id, id prefix or name), 404 `{"message":"No such container: x"}`
 * - `POST /containers/{id}/restart|stop|start` 204, 304 when already stopped / started
 * - `DELETE /containers/{id}` 204, 409 when it is running (without `force`)
 * - `POST /containers/create?name=` 201 `{Id, Warnings}`, 404 `No such image`, 409 name in use
 * - `POST /images/create?fromImage=&tag=` 200 with a JSON progress stream, 404 `manifest unknown`
 *
 * Containers whose config has a Healthcheck go `starting` → `healthy` after
 * `healthDelayMs`; an image in `brokenImages` goes `unhealthy` (with a health
 * check) or exits with code 1 (without one).
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

interface FakeContainer {
  Id: string;
  Created: string;
  Name: string;
  Image: string;
  RestartCount: number;
  State: {
    Status: 'created' | 'running' | 'exited';
    Running: boolean;
    Paused: boolean;
    Restarting: boolean;
    OOMKilled: boolean;
    Dead: boolean;
    Pid: number;
    ExitCode: number;
    Error: string;
    StartedAt: string;
    FinishedAt: string;
    Health?: { Status: 'starting' | 'healthy' | 'unhealthy'; FailingStreak: number; Log: unknown[] };
  };
  Config: Record<string, unknown> & { Image: string; Hostname: string; Healthcheck?: unknown };
  HostConfig: Record<string, unknown>;
  NetworkSettings: { Networks: Record<string, { Aliases: string[] | null; NetworkID: string; EndpointID: string; IPAddress: string }> };
}

export interface RecordedDockerRequest {
  method: string;
  /** Path without the /v1.xx prefix. */
  path: string;
  query: Record<string, string>;
  body?: unknown;
  status: number;
}

export interface DockerEngineFakeOptions {
  /** Image references (`repo:tag`) a pull can fetch. */
  registry?: string[];
  /** @defaultValue 20 */
  healthDelayMs?: number;
}

export interface DockerEngineFake {
  socketPath: string;
  requests: RecordedDockerRequest[];
  brokenImages: Set<string>;
  registry: Set<string>;
  /** Creates and starts a container from a local image, as `docker run -d --name` would. */
  run(
    name: string,
    config: { Image: string; Env?: string[]; Healthcheck?: unknown; Labels?: Record<string, string> },
    hostConfig?: Record<string, unknown>,
    networks?: Record<string, { Aliases?: string[] }>,
  ): string;
  /** User-defined networks containers can be connected to. */
  networks: Set<string>;
  container(name: string): FakeContainer | undefined;
  /** Answers the next matching request with this status and message instead of acting. */
  failNext(method: string, pathPattern: RegExp, status: number, message: string): void;
  count(method: string, pathPattern: RegExp): number;
  close(): Promise<void>;
}

const digest = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`;

export async function startDockerEngineFake(options: DockerEngineFakeOptions = {}): Promise<DockerEngineFake> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'docker-fake-'));
  const socketPath = path.join(dir, 'docker.sock');
  const containers = new Map<string, FakeContainer>();
  const localImages = new Map<string, string>();
  const registry = new Set(options.registry ?? []);
  const brokenImages = new Set<string>();
  const networks = new Set<string>();
  const requests: RecordedDockerRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const failures: { method: string; pattern: RegExp; status: number; message: string }[] = [];
  const healthDelay = options.healthDelayMs ?? 20;
  let pid = 40_000;

  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  function find(ref: string): FakeContainer | undefined {
    const name = decodeURIComponent(ref).replace(/^\//, '');
    for (const c of containers.values()) if (c.Name === `/${name}` || c.Id === name) return c;
    const byPrefix = [...containers.values()].filter((c) => name.length >= 3 && c.Id.startsWith(name));
    return byPrefix.length === 1 ? byPrefix[0] : undefined;
  }

  function start(c: FakeContainer): void {
    const broken = brokenImages.has(c.Config.Image);
    const startedAt = new Date().toISOString();
    c.State = { ...c.State, Status: 'running', Running: true, Pid: ++pid, ExitCode: 0, StartedAt: startedAt, FinishedAt: '0001-01-01T00:00:00Z' };
    if (c.Config.Healthcheck) {
      c.State.Health = { Status: 'starting', FailingStreak: 0, Log: [] };
      later(healthDelay, () => {
        if (c.State.Running && c.State.StartedAt === startedAt && c.State.Health) c.State.Health.Status = broken ? 'unhealthy' : 'healthy';
      });
    } else if (broken) {
      later(healthDelay, () => {
        if (c.State.StartedAt === startedAt) stop(c, 1);
      });
    }
  }

  function stop(c: FakeContainer, exitCode = 0): void {
    c.State = { ...c.State, Status: 'exited', Running: false, Pid: 0, ExitCode: exitCode, FinishedAt: new Date().toISOString() };
    if (c.State.Health) c.State.Health = { ...c.State.Health, Status: 'unhealthy' };
  }

  function create(name: string, body: Record<string, unknown>): FakeContainer {
    const id = randomBytes(32).toString('hex');
    const { HostConfig, NetworkingConfig, ...config } = body as Record<string, unknown> & {
      HostConfig?: Record<string, unknown>;
      NetworkingConfig?: { EndpointsConfig?: Record<string, { Aliases?: string[] }> };
    };
    const image = String(config.Image);
    const endpoints = NetworkingConfig?.EndpointsConfig ?? { bridge: {} };
    const c: FakeContainer = {
      Id: id,
      Created: new Date().toISOString(),
      Name: `/${name}`,
      Image: localImages.get(image)!,
      RestartCount: 0,
      State: { Status: 'created', Running: false, Paused: false, Restarting: false, OOMKilled: false, Dead: false, Pid: 0, ExitCode: 0, Error: '', StartedAt: '0001-01-01T00:00:00Z', FinishedAt: '0001-01-01T00:00:00Z' },
      Config: { Hostname: id.slice(0, 12), Env: [], Cmd: null, Labels: {}, ...config, Image: image },
      HostConfig: { NetworkMode: 'bridge', RestartPolicy: { Name: 'no', MaximumRetryCount: 0 }, ...(HostConfig ?? {}) },
      NetworkSettings: {
        Networks: Object.fromEntries(
          Object.entries(endpoints).map(([net, ep]) => [
            net,
            { Aliases: net === 'bridge' ? null : [...(ep.Aliases ?? []), id.slice(0, 12)], NetworkID: digest(net).slice(7, 71), EndpointID: '', IPAddress: '' },
          ]),
        ),
      },
    };
    containers.set(id, c);
    return c;
  }

  type Answer = [number, unknown?];
  const msg = (status: number, message: string): Answer => [status, { message }];

  function route(method: string, p: string, query: URLSearchParams, body: unknown, res: http.ServerResponse, apiMinor: number): Answer | 'streamed' {
    const failure = failures.findIndex((f) => f.method === method && f.pattern.test(p));
    if (failure >= 0) {
      const [f] = failures.splice(failure, 1);
      return msg(f!.status, f!.message);
    }
    if (method === 'GET' && p === '/_ping') return [200, 'OK'];
    if (method === 'POST' && p === '/images/create') {
      const ref = `${query.get('fromImage')}:${query.get('tag') || 'latest'}`;
      if (!registry.has(ref)) return msg(404, `manifest for ${ref} not found: manifest unknown: manifest unknown`);
      localImages.set(ref, digest(ref));
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const tag = query.get('tag') || 'latest';
      res.write(`${JSON.stringify({ status: `Pulling from ${query.get('fromImage')}`, id: tag })}\r\n`);
      res.write(`${JSON.stringify({ status: `Digest: ${digest(ref)}` })}\r\n`);
      res.end(`${JSON.stringify({ status: `Status: Downloaded newer image for ${ref}` })}\r\n`);
      return 'streamed';
    }
    if (method === 'POST' && p === '/containers/create') {
      const name = query.get('name') ?? '';
      if (name && !/^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(name)) return msg(400, `Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
      const b = (body ?? {}) as Record<string, unknown>;
      const image = typeof b.Image === 'string' ? b.Image : '';
      if (!image) return msg(400, 'no command specified');
      if (!localImages.has(image)) return msg(404, `No such image: ${image}`);
      const endpoints = Object.keys(((b.NetworkingConfig as { EndpointsConfig?: object } | undefined)?.EndpointsConfig ?? {}) as object);
      // Before API v1.44 a container is created on one network; the others are connected afterwards.
      if (endpoints.length > 1 && apiMinor < 44) return msg(400, `Container cannot be connected to network endpoints: ${endpoints.join(', ')}`);
      const unknownNet = endpoints.find((n) => n !== 'bridge' && !networks.has(n));
      if (unknownNet) return msg(404, `network ${unknownNet} not found`);
      const clash = name ? find(name) : undefined;
      if (clash && clash.Name === `/${name}`) {
        return msg(409, `Conflict. The container name "/${name}" is already in use by container "${clash.Id}". You have to remove (or rename) that container to be able to reuse that name.`);
      }
      const c = create(name || `fake_${randomBytes(3).toString('hex')}`, b);
      return [201, { Id: c.Id, Warnings: [] }];
    }
    const net = /^\/networks\/([^/]+)\/connect$/.exec(p);
    if (method === 'POST' && net) {
      const netName = decodeURIComponent(net[1]!);
      if (netName !== 'bridge' && !networks.has(netName)) return msg(404, `network ${netName} not found`);
      const b = (body ?? {}) as { Container?: string; EndpointConfig?: { Aliases?: string[] } };
      const c = b.Container ? find(b.Container) : undefined;
      if (!c) return msg(404, `No such container: ${b.Container ?? ''}`);
      if (c.NetworkSettings.Networks[netName]) return msg(403, `endpoint with name ${c.Name.slice(1)} already exists in network ${netName}`);
      c.NetworkSettings.Networks[netName] = { Aliases: [...(b.EndpointConfig?.Aliases ?? []), c.Id.slice(0, 12)], NetworkID: digest(netName).slice(7, 71), EndpointID: '', IPAddress: '' };
      return [200];
    }
    const m = /^\/containers\/([^/]+)(?:\/(json|restart|stop|start))?$/.exec(p);
    if (!m) return msg(404, 'page not found');
    const c = find(m[1]!);
    if (!c) return msg(404, `No such container: ${decodeURIComponent(m[1]!)}`);
    const action = m[2];
    if (method === 'GET' && action === 'json') return [200, c];
    if (method === 'POST' && action === 'restart') {
      if (c.State.Running) stop(c);
      start(c);
      return [204];
    }
    if (method === 'POST' && action === 'stop') {
      if (!c.State.Running) return [304];
      stop(c);
      return [204];
    }
    if (method === 'POST' && action === 'start') {
      if (c.State.Running) return [304];
      start(c);
      return [204];
    }
    if (method === 'DELETE' && !action) {
      if (c.State.Running && query.get('force') !== 'true' && query.get('force') !== '1') {
        return msg(409, `cannot remove container "${c.Name}": container is running: stop the container before removing or force remove`);
      }
      containers.delete(c.Id);
      return [204];
    }
    return msg(404, 'page not found');
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://docker');
      const version = /^\/v1\.(\d+)/.exec(url.pathname);
      const p = url.pathname.replace(/^\/v1\.\d+/, '');
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        res.writeHead(400, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ message: 'invalid JSON' }));
        return;
      }
      const answer = route(req.method ?? '', p, url.searchParams, body, res, version ? Number(version[1]) : 51);
      const status = answer === 'streamed' ? 200 : answer[0];
      requests.push({ method: req.method ?? '', path: p, query: Object.fromEntries(url.searchParams), body, status });
      if (answer === 'streamed') return;
      if (answer[1] === undefined) {
        res.writeHead(status);
        res.end();
        return;
      }
      res.writeHead(status, { 'Content-Type': typeof answer[1] === 'string' ? 'text/plain' : 'application/json', 'Api-Version': '1.43' });
      res.end(typeof answer[1] === 'string' ? answer[1] : JSON.stringify(answer[1]));
    });
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));

  return {
    socketPath,
    requests,
    brokenImages,
    registry,
    networks,
    run(name, config, hostConfig, nets) {
      localImages.set(config.Image, digest(config.Image));
      registry.add(config.Image);
      for (const n of Object.keys(nets ?? {})) if (n !== 'bridge') networks.add(n);
      const c = create(name, { ...config, HostConfig: hostConfig ?? {}, ...(nets ? { NetworkingConfig: { EndpointsConfig: nets } } : {}) });
      start(c);
      return c.Id;
    },
    container: (name) => find(name),
    failNext(method, pattern, status, message) {
      failures.push({ method, pattern, status, message });
    },
    count: (method, pattern) => requests.filter((r) => r.method === method && pattern.test(r.path)).length,
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        server.close(() => {
          fs.rmSync(dir, { recursive: true, force: true });
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}
