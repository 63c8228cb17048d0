import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { jwtVerify } from 'jose';
import { startTestServer, TEST_SECRET, type TestServer } from './server-harness';

const run = promisify(execFile);
const ROOT = path.join(__dirname, '..', '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

async function script(file: string, args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(TSX, [path.join(ROOT, 'scripts', file), ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      timeout: 25_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** `npm run -s <args>`: the operators' way in, so the script wiring and exit codes are what is tested. */
async function npmRun(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('npm', ['run', '-s', ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      timeout: 25_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('scripts/token.ts and scripts/health.ts', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => t.close());

  test('token prints only a token with the asked subject, scopes and lifetime', async () => {
    const r = await script('token.ts', ['--sub', 'alice', '--scope', 'ops:read accounts:read', '--ttl', '15m'], { JWT_SECRET: TEST_SECRET });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const { payload } = await jwtVerify(r.stdout.trim(), new TextEncoder().encode(TEST_SECRET));
    expect(payload).toMatchObject({ sub: 'alice', scope: 'ops:read accounts:read' });
    expect(payload.exp! - payload.iat!).toBe(900);
    // and the server accepts it
    const client = await t.client(r.stdout.trim());
    expect((await client.callTool({ name: 'ops_health_check', arguments: {} })).isError).toBeFalsy();
  }, 30_000);

  test('token refuses unknown scopes and a missing secret, on stderr, exit 2', async () => {
    const bad = await script('token.ts', ['--sub', 'a', '--scope', 'ops:amdin'], { JWT_SECRET: TEST_SECRET });
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/unknown scope/);
    const noSecret = await script('token.ts', ['--sub', 'a', '--scope', 'ops:read'], {});
    expect(noSecret.code).toBe(2);
    expect(noSecret.stderr).toMatch(/JWT_SECRET/);
  }, 30_000);

  test('health full prints the report and exits 0 when healthy, 1 when degraded', async () => {
    const env = { JWT_SECRET: TEST_SECRET, MCP_SERVER_URL: t.mcpUrl };
    const ok = await script('health.ts', ['full'], env);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/Health \(full\): OK/);
    expect(ok.stdout).toMatch(/Redis: ok/);

    await t.server.maintenance.set(true, { reason: 'script test', actor: 'test' });
    const degraded = await script('health.ts', ['basic'], env);
    expect(degraded.code).toBe(1);
    expect(degraded.stdout).toMatch(/DEGRADED/);
    await t.server.maintenance.set(false, { reason: 'done', actor: 'test' });
  }, 60_000);

  test('`npm run health -- full` passes its mode through and exits 2 when the server answers unhealthy', async () => {
    // Both backends unreachable: the full report is unhealthy, though the server itself answers.
    const sick = await startTestServer({ ACCOUNT_SERVICE_URL: 'http://127.0.0.1:1', TRANSACTION_SERVICE_URL: 'http://127.0.0.1:1', CONNECT_TIMEOUT: '500' }, { production: true });
    try {
      const r = await npmRun(['health', '--', 'full'], { JWT_SECRET: TEST_SECRET, MCP_SERVER_URL: sick.mcpUrl });
      expect(r.stdout).toMatch(/Health \(full\): UNHEALTHY/);
      expect(r.stdout).toMatch(/Backend account-service: DOWN/);
      expect(r.code).toBe(2);
      // basic mode does not probe backends: the same server is healthy there
      expect((await npmRun(['health', '--', 'basic'], { JWT_SECRET: TEST_SECRET, MCP_SERVER_URL: sick.mcpUrl })).code).toBe(0);
    } finally {
      await sick.close();
    }
  }, 60_000);

  test('health exits 2 when the server cannot be reached', async () => {
    const r = await script('health.ts', ['basic'], { JWT_SECRET: TEST_SECRET, MCP_SERVER_URL: 'http://127.0.0.1:9/mcp' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/UNHEALTHY/);
  }, 30_000);
});
