/** createPlatformDriver picks the driver the ops config names and wires its credentials; each one reaches its target. */
import fs from 'node:fs';
import path from 'node:path';
import { silentLogger } from '../../lib/logger';
import { loadOpsConfig } from '../../lib/ops-config';
import { PlatformSchema } from '../../lib/ops-config-platform';
import { closeRedis, type Redis } from '../../lib/redis';
import { createPlatformDriver } from '../../workers/drivers';
import { startDockerEngineFake } from '../fakes/docker-engine';
import { startKubernetesFake } from '../fakes/kubernetes-api';
import { deletePrefix, testPrefix, testRedis } from '../helpers/redis';
import { tempDir } from '../helpers/tls';

jest.setTimeout(30_000);

describe('createPlatformDriver', () => {
  let redis: Redis;
  let prefix: string;
  beforeEach(() => {
    redis = testRedis();
    prefix = testPrefix('platform');
  });
  afterEach(async () => {
    await deletePrefix(redis, prefix);
    await closeRedis(redis);
  });
  const deps = () => ({ redis, prefix, logger: silentLogger() });
  const services = { 'mcp-server': { container: 'mcp-financial-server', namespace: 'ops', deployment: 'mcp-financial-server', container_name: 'server' } };

  it('the example ops config runs the process driver on mcp-server', async () => {
    const driver = createPlatformDriver(loadOpsConfig().platform, deps());
    expect(driver.kind).toBe('process');
    expect(driver.services()).toEqual(['mcp-server']);
    await expect(driver.restart('mcp-server', { requestId: 'p1', requestedBy: 'alice' })).rejects.toMatchObject({ code: 'E_BACKEND_UNAVAILABLE' });
    await driver.close();
  });

  it('docker: talks to the socket the config names', async () => {
    const fake = await startDockerEngineFake();
    try {
      fake.run('mcp-financial-server', { Image: 'mcp-financial-ops:v1.0.0' });
      const driver = createPlatformDriver(PlatformSchema.parse({ driver: 'docker', ready_timeout: '10s', docker: { socket: fake.socketPath }, services }), deps());
      expect(driver.kind).toBe('docker');
      expect((await driver.restart('mcp-server', { requestId: 'd1', requestedBy: 'alice' })).ok).toBe(true);
      expect(fake.count('POST', /\/restart$/)).toBe(1);
      await driver.close();
    } finally {
      await fake.close();
    }
  });

  it('kubernetes: the in-cluster token passed in, api_url from the config; no credentials at all is a config error', async () => {
    const dir = tempDir('platform-k8s');
    const fake = await startKubernetesFake({ tokens: { 'sa-token': { user: 'system:serviceaccount:ops:workers', verbs: ['get', 'patch'] } } });
    try {
      fake.addDeployment('ops', 'mcp-financial-server', { replicas: 1, containers: [{ name: 'server', image: 'mcp-financial-ops:v1.0.0' }] });
      fs.writeFileSync(path.join(dir, 'token'), 'sa-token');
      fs.writeFileSync(path.join(dir, 'ca.crt'), '');
      const platform = PlatformSchema.parse({ driver: 'kubernetes', ready_timeout: '10s', kubernetes: { api_url: fake.url }, services });
      const driver = createPlatformDriver(platform, {
        ...deps(),
        kubernetes: { inCluster: { host: '10.0.0.1', port: '443', tokenPath: path.join(dir, 'token'), caPath: path.join(dir, 'ca.crt') } },
      });
      expect(driver.kind).toBe('kubernetes');
      expect((await driver.deploy('mcp-server', 'v1.1.0', { requestId: 'k1', requestedBy: 'alice' })).ok).toBe(true);
      expect(fake.deployment('ops', 'mcp-financial-server')!.spec.template.spec.containers[0]!.image).toBe('mcp-financial-ops:v1.1.0');
      await driver.close();
      expect(() => createPlatformDriver(PlatformSchema.parse({ driver: 'kubernetes', services }), deps())).toThrow(
        expect.objectContaining({ code: 'E_CONFIG_INVALID' }),
      );
    } finally {
      await fake.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
