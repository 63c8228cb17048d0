/**
 * The docker platform driver against a faithful fake of the Docker Engine API
 * on a unix socket (tests/fakes/docker-engine.ts); real Redis for the release
 * history and the request ledger.
 */
import { PlatformSchema } from '../../lib/ops-config-platform';
import { silentLogger } from '../../lib/logger';
import { closeRedis, type Redis } from '../../lib/redis';
import { createDockerClient } from '../../workers/drivers/docker-client';
import { createDockerDriver } from '../../workers/drivers/docker-driver';
import { createReleaseHistory } from '../../workers/drivers/release-history';
import { createRequestLedger } from '../../workers/drivers/request-ledger';
import type { PlatformDriver } from '../../workers/drivers/types';
import { startDockerEngineFake, type DockerEngineFake } from '../fakes/docker-engine';
import { eventually } from '../helpers/ports';
import { deletePrefix, testPrefix, testRedis } from '../helpers/redis';

jest.setTimeout(60_000);

// Long enough that a busy machine never lets a live attempt's lease lapse; short enough to wait out a dead one.
const LEASE_MS = 2000;

const IMAGE = 'ghcr.io/acme/mcp-financial-ops';
const NAME = 'mcp-financial-server';
const HEALTHCHECK = { Test: ['CMD', 'node', 'scripts/health.js'], Interval: 5_000_000_000, Retries: 3 };
const HOST_CONFIG = { NetworkMode: 'ops-net', PortBindings: { '3000/tcp': [{ HostIp: '127.0.0.1', HostPort: '3000' }] }, RestartPolicy: { Name: 'unless-stopped', MaximumRetryCount: 0 }, Binds: ['/srv/ops:/app/config:ro'] };

describe('docker driver (fake Docker Engine on a unix socket)', () => {
  let fake: DockerEngineFake;
  let redis: Redis;
  let prefix: string;
  const drivers: PlatformDriver[] = [];

  const build = (opts: { readyTimeout?: string; socketPath?: string } = {}) => {
    const platform = PlatformSchema.parse({
      driver: 'docker',
      ready_timeout: opts.readyTimeout ?? '20s',
      docker: { socket: opts.socketPath ?? fake.socketPath },
      services: { 'mcp-server': { container: NAME, image: IMAGE }, worker: { container: 'plain' }, ghost: { container: 'ghost' } },
    });
    const driver = createDockerDriver(platform, {
      client: createDockerClient({ socketPath: platform.docker.socket }),
      history: createReleaseHistory({ redis, prefix }),
      ledger: createRequestLedger({ redis, prefix, leaseMs: LEASE_MS }),
      logger: silentLogger(),
      pollMs: 20,
    });
    drivers.push(driver);
    return driver;
  };
  const ctx = (requestId: string) => ({ requestId, requestedBy: 'alice' });
  const restarts = () => fake.count('POST', /\/restart$/);

  beforeEach(async () => {
    redis = testRedis();
    prefix = testPrefix('docker');
    fake = await startDockerEngineFake({ registry: [`${IMAGE}:v1.1.0`, `${IMAGE}:v1.2.0`, `${IMAGE}:v1.3.0`] });
    fake.run(NAME, { Image: `${IMAGE}:v1.0.0`, Env: ['NODE_ENV=production', 'SERVER_PORT=3000'], Healthcheck: HEALTHCHECK, Labels: { team: 'ops' } }, HOST_CONFIG, {
      'ops-net': { Aliases: ['mcp'] },
      backend: {},
    });
    fake.run('plain', { Image: 'busybox:1.36' });
    await eventually(async () => fake.container(NAME)!.State.Health?.Status === 'healthy');
  });
  afterEach(async () => {
    for (const d of drivers.splice(0)) await d.close();
    await fake.close();
    await deletePrefix(redis, prefix);
    await closeRedis(redis);
  });

  it('restarts the container, waits until it is healthy, and never restarts twice for one request', async () => {
    const driver = build();
    const before = fake.container(NAME)!.State.StartedAt;
    const result = await driver.restart('mcp-server', ctx('r1'));
    expect(result.ok).toBe(true);
    expect(result.summary).toMatch(/^mcp-server restarted \(container mcp-financial-server\); healthy after \d+\.\d s$/);
    expect(fake.requests.find((r) => r.path.endsWith('/restart'))).toMatchObject({ method: 'POST', path: `/containers/${NAME}/restart`, query: { t: '10' }, status: 204 });
    expect(fake.container(NAME)!.State).toMatchObject({ Running: true, Health: { Status: 'healthy' } });
    expect(fake.container(NAME)!.State.StartedAt).not.toBe(before);

    expect((await driver.restart('mcp-server', ctx('r1'))).summary).toMatch(/already done/);
    expect(restarts()).toBe(1);

    // Without a health check, running is ready.
    expect((await driver.restart('worker', ctx('r2'))).summary).toMatch(/^worker restarted \(container plain\); running after/);
  });

  it('a request resumed after its worker died restarts only if the first attempt had not', async () => {
    const driver = build();
    // A ledger as the dead worker had it: its lease runs out, then the driver takes over.
    const ledger = createRequestLedger({ redis, prefix, leaseMs: LEASE_MS });
    // The first attempt noted the start time, restarted the container, then died.
    await ledger.begin('r3', 'restart mcp-server');
    await ledger.note('r3', { startedAtBefore: fake.container(NAME)!.State.StartedAt });
    const res = await createDockerClient({ socketPath: fake.socketPath }).call({ method: 'POST', path: `/containers/${NAME}/restart`, query: { t: '10' } });
    expect(res.status).toBe(204);
    expect((await driver.restart('mcp-server', ctx('r3'))).ok).toBe(true);
    expect(restarts()).toBe(1);

    // This one noted the time but died before restarting: the resumed call restarts, once.
    await ledger.begin('r4', 'restart mcp-server');
    await ledger.note('r4', { startedAtBefore: fake.container(NAME)!.State.StartedAt });
    expect((await driver.restart('mcp-server', ctx('r4'))).ok).toBe(true);
    expect(restarts()).toBe(2);
  });

  it('deploy pulls the tag and recreates the container with the same settings; rollback goes to the previous healthy one', async () => {
    const driver = build();
    const impatient = build({ readyTimeout: '1s' });
    const history = createReleaseHistory({ redis, prefix });
    const oldId = fake.container(NAME)!.Id;

    const d1 = await driver.deploy('mcp-server', 'v1.1.0', ctx('d1'));
    expect(d1).toMatchObject({ ok: true, version: 'v1.1.0' });
    expect(d1.summary).toMatch(/^mcp-server deployed v1\.1\.0 \(container mcp-financial-server on ghcr\.io\/acme\/mcp-financial-ops:v1\.1\.0\); healthy after/);
    expect(fake.requests.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      'POST /images/create 200',
      `POST /containers/${oldId}/stop 204`,
      `DELETE /containers/${oldId} 204`,
      'POST /containers/create 201',
      'POST /networks/backend/connect 200',
      `POST /containers/${fake.container(NAME)!.Id}/start 204`,
    ]);
    expect(fake.requests.find((r) => r.path === '/images/create')!.query).toEqual({ fromImage: IMAGE, tag: 'v1.1.0' });
    const created = fake.requests.find((r) => r.path === '/containers/create')!;
    expect(created.query).toEqual({ name: NAME });
    expect(created.body).not.toHaveProperty('Hostname');
    const now = fake.container(NAME)!;
    expect(now.Id).not.toBe(oldId);
    expect(now.Config).toMatchObject({ Image: `${IMAGE}:v1.1.0`, Env: ['NODE_ENV=production', 'SERVER_PORT=3000'], Labels: { team: 'ops' }, Healthcheck: HEALTHCHECK });
    expect(now.HostConfig).toMatchObject(HOST_CONFIG);
    // Same networks and aliases; the old container's id alias is not carried over.
    expect(Object.keys(now.NetworkSettings.Networks).sort()).toEqual(['backend', 'ops-net']);
    expect(now.NetworkSettings.Networks['ops-net']!.Aliases).toEqual(['mcp', now.Id.slice(0, 12)]);
    expect((created.body as { NetworkingConfig: unknown }).NetworkingConfig).toEqual({ EndpointsConfig: { 'ops-net': { Aliases: ['mcp'] } } });
    expect((await driver.deploy('mcp-server', 'v1.2.0', ctx('d2'))).ok).toBe(true);

    fake.brokenImages.add(`${IMAGE}:v1.3.0`);
    const bad = await impatient.deploy('mcp-server', 'v1.3.0', ctx('d3'));
    expect(bad.ok).toBe(false);
    expect(bad.summary).toBe(`mcp-server deployed v1.3.0 (container ${NAME} on ${IMAGE}:v1.3.0) but not ready within 1.0 s (health unhealthy); it is recorded unhealthy`);
    expect((await history.list('mcp-server')).map((r) => [r.version, r.healthy, r.kind])).toEqual([
      ['v1.3.0', false, 'deploy'],
      ['v1.2.0', true, 'deploy'],
      ['v1.1.0', true, 'deploy'],
      ['v1.0.0', true, 'baseline'],
    ]);

    const back = await driver.rollback('mcp-server', ctx('rb1'));
    expect(back).toMatchObject({ ok: true, version: 'v1.2.0' });
    expect(fake.container(NAME)!.Config.Image).toBe(`${IMAGE}:v1.2.0`);
    const creates = fake.count('POST', /^\/containers\/create$/);
    await driver.rollback('mcp-server', ctx('rb1'));
    expect(fake.count('POST', /^\/containers\/create$/)).toBe(creates);
    expect((await driver.rollback('mcp-server', ctx('rb2'))).version).toBe('v1.1.0');
    expect(fake.container(NAME)!.Config.Image).toBe(`${IMAGE}:v1.1.0`);
  });

  it('a deploy that failed after removing the old container resumes: creates once, never stops or removes twice', async () => {
    const driver = build();
    fake.failNext('POST', /^\/containers\/create$/, 500, 'failed to create task: context deadline exceeded');
    await expect(driver.deploy('mcp-server', 'v1.2.0', ctx('d4'))).rejects.toMatchObject({
      code: 'E_BACKEND_UNAVAILABLE',
      message: `creating ${NAME} from ${IMAGE}:v1.2.0: the Docker Engine says: failed to create task: context deadline exceeded`,
    });
    expect(fake.container(NAME)).toBeUndefined();
    // BullMQ runs the job again with the same requestId.
    const again = await driver.deploy('mcp-server', 'v1.2.0', ctx('d4'));
    expect(again.ok).toBe(true);
    expect(fake.container(NAME)!.Config).toMatchObject({ Image: `${IMAGE}:v1.2.0`, Env: ['NODE_ENV=production', 'SERVER_PORT=3000'] });
    expect(fake.container(NAME)!.HostConfig).toMatchObject(HOST_CONFIG);
    expect(fake.count('POST', /\/stop$/)).toBe(1);
    expect(fake.count('DELETE', /^\/containers\//)).toBe(1);
    expect(fake.requests.filter((r) => r.path === '/containers/create').map((r) => r.status)).toEqual([500, 201]);
  });

  it('a tag the registry does not have changes nothing; scale is refused; errors say why', async () => {
    const driver = build();
    const id = fake.container(NAME)!.Id;
    await expect(driver.deploy('mcp-server', 'v9.9.9', ctx('e1'))).rejects.toMatchObject({
      code: 'E_NOT_FOUND',
      message: `cannot pull ${IMAGE}:v9.9.9: the Docker Engine says: manifest for ${IMAGE}:v9.9.9 not found: manifest unknown: manifest unknown`,
    });
    expect(fake.container(NAME)!.Id).toBe(id);
    expect(fake.count('POST', /\/stop$/)).toBe(0);

    expect(await driver.scale('mcp-server', 3, ctx('e2'))).toEqual({
      ok: false,
      summary: 'the docker driver runs a single container for mcp-server (mcp-financial-server); scale it with `docker compose up --scale` or use the kubernetes driver',
    });
    await expect(driver.restart('ghost', ctx('e3'))).rejects.toMatchObject({ code: 'E_NOT_FOUND', message: 'the Docker Engine says: No such container: ghost' });
    await expect(build({ socketPath: '/tmp/no-such-dir/docker.sock' }).restart('mcp-server', ctx('e4'))).rejects.toMatchObject({
      code: 'E_BACKEND_UNAVAILABLE',
      message: 'cannot reach the Docker Engine at /tmp/no-such-dir/docker.sock (ENOENT); is dockerd running and its socket mounted here?',
    });
    expect(await driver.rollback('mcp-server', ctx('e5'))).toEqual({ ok: false, summary: 'no earlier healthy release of mcp-server in the release history; nothing to roll back to' });
  });
});
