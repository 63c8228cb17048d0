/**
 * The process platform driver against the real launcher: `scripts/start.ts`
 * runs the whole stack, supervises the real MCP server, and takes restart and
 * deploy commands over Redis. The PID, /health and /health/ready are the
 * server's own; nothing of ours is mocked.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PlatformSchema } from '../../lib/ops-config-platform';
import { processKeys } from '../../lib/platform-process-protocol';
import { closeRedis, type Redis } from '../../lib/redis';
import { silentLogger } from '../../lib/logger';
import { createProcessDriver } from '../../workers/drivers/process-driver';
import { createReleaseHistory } from '../../workers/drivers/release-history';
import { createRequestLedger } from '../../workers/drivers/request-ledger';
import { startStack, type Stack } from '../helpers/stack';
import { testRedis } from '../helpers/redis';

jest.setTimeout(180_000);

const platform = (readyTimeout: string) => PlatformSchema.parse({ driver: 'process', ready_timeout: readyTimeout, services: { 'mcp-server': {} } });

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The parent pid from /proc: the new server must be the launcher's child. */
const parentOf = (pid: number) => Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);

describe('process driver: npm start supervises the MCP server', () => {
  let stack: Stack;
  let redis: Redis;
  const drivers = () => {
    const history = createReleaseHistory({ redis, prefix: stack.prefix });
    const ledger = createRequestLedger({ redis, prefix: stack.prefix });
    const deps = { redis, prefix: stack.prefix, logger: silentLogger(), history, ledger };
    return { history, driver: createProcessDriver(platform('60s'), deps), impatient: createProcessDriver(platform('2s'), deps) };
  };
  const serverPid = async () => Number(await redis.hget(processKeys(stack.prefix).service('mcp-server'), 'pid'));
  const health = async () => (await (await fetch(stack.url('SERVER_PORT', '/health'))).json()) as { release?: string };
  const ready = async () => (await fetch(stack.url('SERVER_PORT', '/health/ready'))).status;
  const restartsLogged = (requestId: string) => stack.output().split('\n').filter((l) => l.includes(`request ${requestId}`)).length;

  beforeAll(async () => {
    stack = await startStack();
    redis = testRedis();
  });
  afterAll(async () => {
    if (redis) await closeRedis(redis);
    await stack?.cleanup();
    fs.rmSync(path.join(os.tmpdir(), `${stack?.prefix}-status`), { force: true });
  });

  it('restarts the server (new pid, ready again); the same requestId never restarts it twice', async () => {
    const { driver } = drivers();
    const before = await serverPid();
    expect(alive(before)).toBe(true);
    expect((await health()).release).toBe('v0.1.0');

    const result = await driver.restart('mcp-server', { requestId: 'restart-1', requestedBy: 'alice' });
    expect(result).toMatchObject({ ok: true, version: 'v0.1.0' });
    expect(result.summary).toMatch(/^mcp-server restarted in \d+\.\d s, ready$/);
    const after = await serverPid();
    expect(after).not.toBe(before);
    expect(alive(before)).toBe(false);
    // The launcher (npm start's script, under tsx) is the new server's parent.
    const launcher = Number(await redis.hget(processKeys(stack.prefix).service('mcp-server'), 'launcherPid'));
    expect(parentOf(after)).toBe(launcher);
    expect([launcher, parentOf(launcher)]).toContain(stack.child.pid);
    expect(await ready()).toBe(200);

    const again = await driver.restart('mcp-server', { requestId: 'restart-1', requestedBy: 'alice' });
    expect(again.summary).toMatch(/already done; nothing was repeated/);
    expect(await serverPid()).toBe(after);
    expect(restartsLogged('restart-1')).toBe(1);
  });

  it('two attempts of one request at once (a job handed out again) restart once', async () => {
    const { driver } = drivers();
    const before = await serverPid();
    const [a, b] = await Promise.all([
      driver.restart('mcp-server', { requestId: 'restart-2', requestedBy: 'alice' }),
      driver.restart('mcp-server', { requestId: 'restart-2', requestedBy: 'alice' }),
    ]);
    expect(a.ok && b.ok).toBe(true);
    expect(a.detail).toBe(b.detail);
    expect(a.detail).toContain(`pid ${before} → ${await serverPid()}`);
    expect(restartsLogged('restart-2')).toBe(1);
  });

  it('deploy switches the recorded release; rollback goes to the previous healthy one', async () => {
    const { driver, impatient, history } = drivers();
    const d1 = await driver.deploy('mcp-server', 'v1.2.0', { requestId: 'deploy-1', requestedBy: 'alice' });
    expect(d1).toMatchObject({ ok: true, version: 'v1.2.0' });
    expect((await health()).release).toBe('v1.2.0');
    expect(await driver.deploy('mcp-server', 'v1.3.0', { requestId: 'deploy-2', requestedBy: 'bob' })).toMatchObject({ ok: true });

    // v1.4.0 never becomes ready (maintenance mode keeps /health/ready at 503): recorded unhealthy.
    const statusFile = path.join(os.tmpdir(), `${stack.prefix}-status`);
    fs.writeFileSync(statusFile, 'maintenance');
    const bad = await impatient.deploy('mcp-server', 'v1.4.0', { requestId: 'deploy-3', requestedBy: 'bob' });
    expect(bad.ok).toBe(false);
    expect(bad.summary).toMatch(/deployed v1\.4\.0 but not ready within 2\.0 s \(last answer: 503\)/);
    fs.rmSync(statusFile);

    const releases = await history.list('mcp-server');
    expect(releases.map((r) => [r.version, r.healthy, r.kind])).toEqual([
      ['v1.4.0', false, 'deploy'],
      ['v1.3.0', true, 'deploy'],
      ['v1.2.0', true, 'deploy'],
      ['v0.1.0', true, 'baseline'],
    ]);

    const back = await driver.rollback('mcp-server', { requestId: 'rollback-1', requestedBy: 'alice' });
    expect(back).toMatchObject({ ok: true, version: 'v1.3.0' });
    expect(back.summary).toMatch(/^mcp-server rolled back to v1\.3\.0 in \d+\.\d s, ready$/);
    expect((await health()).release).toBe('v1.3.0');
    // A repeated rollback request does not walk further back.
    await driver.rollback('mcp-server', { requestId: 'rollback-1', requestedBy: 'alice' });
    expect((await health()).release).toBe('v1.3.0');
    const next = await driver.rollback('mcp-server', { requestId: 'rollback-2', requestedBy: 'alice' });
    expect(next).toMatchObject({ ok: true, version: 'v1.2.0' });
    expect((await health()).release).toBe('v1.2.0');
  });

  it('refuses scale and unknown services, and says when no launcher runs', async () => {
    const { driver } = drivers();
    expect(await driver.scale('mcp-server', 3, { requestId: 'scale-1', requestedBy: 'alice' })).toEqual({
      ok: false,
      summary: 'the process driver runs one instance of mcp-server; scale needs the docker (compose) or kubernetes driver',
    });
    expect((await driver.restart('billing', { requestId: 'x', requestedBy: 'alice' })).summary).toMatch(/unknown service billing/);
    const other = createProcessDriver(platform('5s'), {
      redis,
      prefix: `${stack.prefix}-none`,
      logger: silentLogger(),
      history: createReleaseHistory({ redis, prefix: `${stack.prefix}-none` }),
      ledger: createRequestLedger({ redis, prefix: `${stack.prefix}-none` }),
    });
    await expect(other.restart('mcp-server', { requestId: 'y', requestedBy: 'alice' })).rejects.toMatchObject({
      code: 'E_BACKEND_UNAVAILABLE',
      message: expect.stringMatching(/no launcher supervises mcp-server/),
    });
    await redis.del(`${stack.prefix}-none:platform:requests:y`);
  });

  it('Ctrl-C stops the supervisor with everything else; its heartbeat goes with it', async () => {
    const keys = processKeys(stack.prefix);
    expect(await redis.get(keys.alive('mcp-server'))).not.toBeNull();
    expect(await stack.interrupt()).toBe(0);
    expect(stack.output()).toContain('everything stopped');
    expect(await redis.get(keys.alive('mcp-server'))).toBeNull();
    // The release it ran stays recorded: the next `npm start` on this Redis starts the server with it again.
    expect(await redis.hget(keys.service('mcp-server'), 'release')).toBe('v1.2.0');
    const next = await startStack({ REDIS_PREFIX: stack.prefix });
    try {
      const body = (await (await fetch(next.url('SERVER_PORT', '/health'))).json()) as { release?: string };
      expect(body.release).toBe('v1.2.0');
      expect(await next.interrupt()).toBe(0);
    } finally {
      await next.cleanup();
    }
  });
});
