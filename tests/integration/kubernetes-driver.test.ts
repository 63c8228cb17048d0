/**
 * The kubernetes platform driver against a faithful fake of the API server
 * (tests/fakes/kubernetes-api.ts): real HTTP(S) on loopback, real Redis for
 * the release history and the request ledger.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PlatformSchema } from '../../lib/ops-config-platform';
import { silentLogger } from '../../lib/logger';
import { closeRedis, type Redis } from '../../lib/redis';
import { createKubeClient } from '../../workers/drivers/kubernetes-client';
import { parseKubeconfig, resolveKubeCredentials } from '../../workers/drivers/kubernetes-credentials';
import { createKubernetesDriver, RESTARTED_AT } from '../../workers/drivers/kubernetes-driver';
import { createReleaseHistory } from '../../workers/drivers/release-history';
import { createRequestLedger } from '../../workers/drivers/request-ledger';
import type { PlatformDriver } from '../../workers/drivers/types';
import { startKubernetesFake, type KubernetesFake } from '../fakes/kubernetes-api';
import { deletePrefix, testPrefix, testRedis } from '../helpers/redis';
import { selfSigned, tempDir } from '../helpers/tls';

jest.setTimeout(60_000);

// Long enough that a busy machine never lets a live attempt's lease lapse; short enough to wait out a dead one.
const LEASE_MS = 2000;

const NS = 'mcp-financial-ops';
const DEPLOY = 'mcp-financial-server';
const IMAGE = 'ghcr.io/acme/mcp-financial-ops';
const TOKENS = {
  'good-token': { user: 'system:serviceaccount:ops:workers', verbs: ['get', 'patch'] as ('get' | 'patch')[] },
  'viewer-token': { user: 'system:serviceaccount:ops:viewer', verbs: ['get'] as ('get' | 'patch')[] },
};

const platformConfig = (apiUrl: string, readyTimeout = '20s') =>
  PlatformSchema.parse({
    driver: 'kubernetes',
    ready_timeout: readyTimeout,
    kubernetes: { api_url: apiUrl },
    services: {
      'mcp-server': { namespace: NS, deployment: DEPLOY, container_name: 'server', image: IMAGE, max_replicas: 10 },
      ghost: { namespace: NS, deployment: 'missing' },
    },
  });

describe('kubernetes driver (fake API server)', () => {
  let fake: KubernetesFake;
  let redis: Redis;
  let prefix: string;
  const drivers: PlatformDriver[] = [];

  const build = (opts: { token?: string; readyTimeout?: string; url?: string } = {}) => {
    const config = platformConfig(opts.url ?? fake.url, opts.readyTimeout);
    const client = createKubeClient({ server: config.kubernetes.api_url!, token: () => opts.token ?? 'good-token', insecureSkipTlsVerify: false, source: 'test token' });
    const driver = createKubernetesDriver(config, {
      client,
      history: createReleaseHistory({ redis, prefix }),
      ledger: createRequestLedger({ redis, prefix, leaseMs: LEASE_MS }),
      logger: silentLogger(),
      pollMs: 20,
    });
    drivers.push(driver);
    return driver;
  };
  const ctx = (requestId: string) => ({ requestId, requestedBy: 'alice' });
  const live = () => fake.deployment(NS, DEPLOY)!;
  const image = () => live().spec.template.spec.containers.find((c) => c.name === 'server')!.image;

  beforeEach(async () => {
    redis = testRedis();
    prefix = testPrefix('k8s');
    fake = await startKubernetesFake({ tokens: TOKENS });
    fake.addDeployment(NS, DEPLOY, { replicas: 3, containers: [{ name: 'server', image: `${IMAGE}:v1.0.0` }, { name: 'sidecar', image: 'envoy:v1.30' }] });
  });
  afterEach(async () => {
    for (const d of drivers.splice(0)) await d.close();
    await fake.close();
    await deletePrefix(redis, prefix);
    await closeRedis(redis);
  });

  it('restarts by the restartedAt annotation, waits for the rollout, and never patches twice for one request', async () => {
    const driver = build();
    const result = await driver.restart('mcp-server', ctx('r1'));
    expect(result.ok).toBe(true);
    expect(result.summary).toMatch(/^mcp-server restarted \(deployment mcp-financial-ops\/mcp-financial-server\); rollout finished in \d+\.\d s \(3 of 3 updated\)$/);
    const [patch] = fake.patches();
    expect(patch).toMatchObject({
      path: `/apis/apps/v1/namespaces/${NS}/deployments/${DEPLOY}`,
      contentType: 'application/strategic-merge-patch+json',
      body: { spec: { template: { metadata: { annotations: { [RESTARTED_AT]: expect.any(String) } } } } },
      status: 200,
    });
    expect(live().metadata.generation).toBe(2);
    expect(live().status).toMatchObject({ observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 3 });

    const again = await driver.restart('mcp-server', ctx('r1'));
    expect(again.summary).toMatch(/already done/);
    expect(fake.patches()).toHaveLength(1);

    // Two attempts of one request at once (a stalled job handed to a second worker): one patch.
    const [a, b] = await Promise.all([driver.restart('mcp-server', ctx('r1b')), build().restart('mcp-server', ctx('r1b'))]);
    expect(a.ok && b.ok).toBe(true);
    expect(fake.patches()).toHaveLength(2);
  });

  it('a request resumed after its worker died patches only if the first attempt had not', async () => {
    const driver = build();
    // A ledger as the dead worker had it: its lease runs out, then the driver takes over.
    const ledger = createRequestLedger({ redis, prefix, leaseMs: LEASE_MS });
    // First attempt noted its stamp and patched, then died before it recorded the result.
    await ledger.begin('r2', 'restart mcp-server');
    const stamp = '2026-01-01T00:00:00.000Z';
    await ledger.note('r2', { restartedAt: stamp });
    const res = await fetch(`${fake.url}/apis/apps/v1/namespaces/${NS}/deployments/${DEPLOY}`, {
      method: 'PATCH',
      headers: { Authorization: 'Bearer good-token', 'Content-Type': 'application/strategic-merge-patch+json' },
      body: JSON.stringify({ spec: { template: { metadata: { annotations: { [RESTARTED_AT]: stamp } } } } }),
    });
    expect(res.status).toBe(200);
    expect((await driver.restart('mcp-server', ctx('r2'))).ok).toBe(true);
    expect(fake.patches()).toHaveLength(1);
    expect(live().spec.template.metadata.annotations?.[RESTARTED_AT]).toBe(stamp);

    // This one noted a stamp but died before its patch: the resumed call patches, once.
    await ledger.begin('r3', 'restart mcp-server');
    await ledger.note('r3', { restartedAt: '2026-01-02T00:00:00.000Z' });
    expect((await driver.restart('mcp-server', ctx('r3'))).ok).toBe(true);
    expect(fake.patches()).toHaveLength(2);
    expect(live().metadata.generation).toBe(3);
  });

  it('deploys image tags, records health, and rolls back to the previous healthy release', async () => {
    const driver = build();
    const impatient = build({ readyTimeout: '1s' });
    const history = createReleaseHistory({ redis, prefix });

    const d1 = await driver.deploy('mcp-server', 'v1.1.0', ctx('d1'));
    expect(d1).toMatchObject({ ok: true, version: 'v1.1.0' });
    expect(image()).toBe(`${IMAGE}:v1.1.0`);
    expect(live().spec.template.spec.containers.find((c) => c.name === 'sidecar')!.image).toBe('envoy:v1.30');
    const setImage = fake.patches()[0]!;
    expect(setImage.body).toEqual({ metadata: { resourceVersion: expect.any(String) }, spec: { template: { spec: { containers: [{ name: 'server', image: `${IMAGE}:v1.1.0` }] } } } });
    expect((await driver.deploy('mcp-server', 'v1.2.0', ctx('d2'))).ok).toBe(true);

    fake.brokenImages.add(`${IMAGE}:v1.3.0`);
    const bad = await impatient.deploy('mcp-server', 'v1.3.0', ctx('d3'));
    expect(bad.ok).toBe(false);
    expect(bad.summary).toBe(`mcp-server deployed v1.3.0 (${IMAGE}:v1.3.0) but rollout did not finish within 1 s (1 of 3 updated); it is recorded unhealthy`);
    expect((await history.list('mcp-server')).map((r) => [r.version, r.healthy, r.kind])).toEqual([
      ['v1.3.0', false, 'deploy'],
      ['v1.2.0', true, 'deploy'],
      ['v1.1.0', true, 'deploy'],
      ['v1.0.0', true, 'baseline'],
    ]);

    const back = await driver.rollback('mcp-server', ctx('rb1'));
    expect(back).toMatchObject({ ok: true, version: 'v1.2.0' });
    expect(back.summary).toMatch(/^mcp-server rolled back to v1\.2\.0 \(ghcr\.io\/acme\/mcp-financial-ops:v1\.2\.0\); rollout finished in/);
    expect(image()).toBe(`${IMAGE}:v1.2.0`);
    const patches = fake.patches().length;
    await driver.rollback('mcp-server', ctx('rb1'));
    expect(fake.patches()).toHaveLength(patches);
    expect(image()).toBe(`${IMAGE}:v1.2.0`);
    expect((await driver.rollback('mcp-server', ctx('rb2'))).version).toBe('v1.1.0');
    expect(image()).toBe(`${IMAGE}:v1.1.0`);
  });

  it('scales through the scale subresource and refuses more than max_replicas', async () => {
    const driver = build();
    const result = await driver.scale('mcp-server', 5, ctx('s1'));
    expect(result).toMatchObject({ ok: true });
    expect(result.summary).toMatch(/^mcp-server scaled from 3 to 5 replicas; rollout finished in \d+\.\d s \(5 of 5 updated\)$/);
    expect(fake.patches()).toEqual([
      expect.objectContaining({ path: `/apis/apps/v1/namespaces/${NS}/deployments/${DEPLOY}/scale`, contentType: 'application/merge-patch+json', body: { spec: { replicas: 5 } } }),
    ]);
    expect(live().status).toMatchObject({ replicas: 5, availableReplicas: 5 });
    expect((await driver.scale('mcp-server', 1, ctx('s2'))).summary).toMatch(/scaled from 5 to 1 replicas/);
    expect(live().status).toMatchObject({ replicas: 1, availableReplicas: 1, updatedReplicas: 1 });

    const before = fake.requests.length;
    expect(await driver.scale('mcp-server', 11, ctx('s3'))).toEqual({ ok: false, summary: 'scale mcp-server to 11 refused: platform.services.mcp-server.max_replicas is 10' });
    expect(fake.requests.length).toBe(before);
  });

  it('says in one line why the API refused: 401, 403, 404', async () => {
    await expect(build({ token: 'wrong' }).restart('mcp-server', ctx('e1'))).rejects.toMatchObject({
      code: 'E_UNAUTHORIZED',
      message: 'the kubernetes API refused our credentials (Unauthorized; test token)',
    });
    await expect(build({ token: 'viewer-token' }).restart('mcp-server', ctx('e2'))).rejects.toMatchObject({
      code: 'E_FORBIDDEN',
      message:
        'the kubernetes API refused our credentials (forbidden: deployments.apps "mcp-financial-server" is forbidden: User "system:serviceaccount:ops:viewer" cannot patch resource "deployments" in API group "apps" in the namespace "mcp-financial-ops")',
    });
    await expect(build().restart('ghost', ctx('e3'))).rejects.toMatchObject({ code: 'E_NOT_FOUND', message: 'deployment mcp-financial-ops/missing not found' });
    await expect(build({ url: 'http://127.0.0.1:1' }).restart('mcp-server', ctx('e4'))).rejects.toMatchObject({
      code: 'E_BACKEND_UNAVAILABLE',
      message: 'cannot reach the kubernetes API at http://127.0.0.1:1 (ECONNREFUSED)',
    });
    expect((await build().restart('billing', ctx('e5'))).summary).toMatch(/^unknown service billing/);
  });

  it('on 409 Conflict reads the deployment again and retries once; a second conflict is reported', async () => {
    const driver = build();
    fake.beforeNextPatch(() => fake.touch(NS, DEPLOY));
    expect((await driver.deploy('mcp-server', 'v1.1.0', ctx('c1'))).ok).toBe(true);
    expect(fake.patches().map((p) => p.status)).toEqual([409, 200]);
    expect(image()).toBe(`${IMAGE}:v1.1.0`);

    const keepChanging = () => {
      fake.touch(NS, DEPLOY);
      fake.beforeNextPatch(keepChanging);
    };
    fake.beforeNextPatch(keepChanging);
    await expect(driver.deploy('mcp-server', 'v1.2.0', ctx('c2'))).rejects.toMatchObject({
      code: 'E_CONFLICT',
      message: expect.stringMatching(/^deployment mcp-financial-ops\/mcp-financial-server changed while we updated it \(Operation cannot be fulfilled/),
    });
    expect(image()).toBe(`${IMAGE}:v1.1.0`);
  });
});

describe('kubernetes credentials over TLS', () => {
  let dir: string;
  let redis: Redis;
  let prefix: string;
  let fake: KubernetesFake;

  beforeAll(() => {
    dir = tempDir('k8s-tls');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  beforeEach(() => {
    redis = testRedis();
    prefix = testPrefix('k8s-tls');
  });
  afterEach(async () => {
    await fake?.close();
    await deletePrefix(redis, prefix);
    await closeRedis(redis);
  });

  const driverFor = (creds: ReturnType<typeof resolveKubeCredentials>) =>
    createKubernetesDriver(platformConfig(creds.server), {
      client: createKubeClient(creds),
      history: createReleaseHistory({ redis, prefix }),
      ledger: createRequestLedger({ redis, prefix }),
      logger: silentLogger(),
      pollMs: 20,
    });

  it('in-cluster: the service account token and CA, KUBERNETES_SERVICE_HOST/PORT passed in', async () => {
    const server = selfSigned(dir, 'apiserver', '/CN=127.0.0.1', ['-addext', 'subjectAltName=IP:127.0.0.1']);
    fake = await startKubernetesFake({ tokens: TOKENS, tls: { key: server.key, cert: server.cert } });
    fake.addDeployment(NS, DEPLOY, { replicas: 2, containers: [{ name: 'server', image: `${IMAGE}:v1.0.0` }] });
    fs.writeFileSync(path.join(dir, 'token'), 'good-token\n');
    const creds = resolveKubeCredentials({}, { host: '127.0.0.1', port: new URL(fake.url).port, tokenPath: path.join(dir, 'token'), caPath: server.certPath });
    expect(creds.server).toBe(fake.url);
    const driver = driverFor(creds);
    expect((await driver.restart('mcp-server', { requestId: 'tls-1', requestedBy: 'alice' })).ok).toBe(true);
    await driver.close();

    // A CA that did not sign the server's certificate is refused by TLS, before any token is sent.
    const other = selfSigned(dir, 'other', '/CN=other');
    const wrong = driverFor({ ...creds, ca: Buffer.from(other.cert) });
    await expect(wrong.restart('mcp-server', { requestId: 'tls-2', requestedBy: 'alice' })).rejects.toMatchObject({
      code: 'E_BACKEND_UNAVAILABLE',
      message: expect.stringMatching(/^cannot reach the kubernetes API at https:\/\/127\.0\.0\.1:\d+ \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN)\)$/),
    });
    await wrong.close();
    expect(fake.requests).toHaveLength(fake.requests.filter((r) => r.status === 200).length);
  });

  it('kubeconfig: current context, CA and client certificate data', async () => {
    const server = selfSigned(dir, 'apiserver2', '/CN=127.0.0.1', ['-addext', 'subjectAltName=IP:127.0.0.1']);
    const client = selfSigned(dir, 'client', '/CN=ops-workers');
    fake = await startKubernetesFake({ tokens: {}, tls: { key: server.key, cert: server.cert, clientCa: client.cert } });
    fake.addDeployment(NS, DEPLOY, { replicas: 1, containers: [{ name: 'server', image: `${IMAGE}:v1.0.0` }] });
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const kubeconfig = `apiVersion: v1
kind: Config
current-context: prod
clusters:
  - name: staging
    cluster: { server: "https://staging.example:6443" }
  - name: prod
    cluster:
      server: ${fake.url}
      certificate-authority-data: ${b64(server.cert)}
users:
  - name: workers
    user:
      client-certificate-data: ${b64(client.cert)}
      client-key-data: ${b64(client.key)}
contexts:
  - name: staging
    context: { cluster: staging, user: workers }
  - name: prod
    context: { cluster: prod, user: workers, namespace: ops }
`;
    const file = path.join(dir, 'kubeconfig');
    fs.writeFileSync(file, kubeconfig);
    const creds = resolveKubeCredentials({ kubeconfig: file });
    expect(creds).toMatchObject({ server: fake.url, source: `kubeconfig ${file} (context prod)` });
    const driver = driverFor(creds);
    expect((await driver.scale('mcp-server', 2, { requestId: 'kc-1', requestedBy: 'alice' })).ok).toBe(true);
    expect(fake.deployment(NS, DEPLOY)!.spec.replicas).toBe(2);
    await driver.close();

    expect(() => parseKubeconfig(kubeconfig.replace('current-context: prod', 'current-context: dev'), dir, 'x')).toThrow('kubeconfig x: no context named "dev"');
    expect(() =>
      parseKubeconfig(
        `clusters: [{name: c, cluster: {server: "https://k:6443"}}]\nusers: [{name: u, user: {exec: {command: aws}}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n`,
        dir,
        'eks',
      ),
    ).toThrow(/uses an exec or auth-provider plugin, which this driver does not run/);
    expect(() => resolveKubeCredentials({})).toThrow(/needs platform\.kubernetes\.kubeconfig, platform\.kubernetes\.api_url, or to run inside a cluster/);
  });
});
