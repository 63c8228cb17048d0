import { execFile } from 'node:child_process';
import path from 'node:path';
import { createAuditLog } from '../../lib/audit-log';
import { closeRedis } from '../../lib/redis';
import { deletePrefix, testPrefix, testRedis, TEST_REDIS_URL } from '../helpers/redis';

jest.setTimeout(60_000);

const ROOT = path.resolve(__dirname, '../..');

/** `npm run audit -- <args>` as a process: exit code, stdout, stderr. */
function runAudit(prefix: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      path.join(ROOT, 'node_modules', '.bin', 'tsx'),
      ['scripts/audit.ts', ...args],
      { cwd: ROOT, env: { ...process.env, REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: prefix }, timeout: 30_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('npm run audit (real Redis, the script as a process)', () => {
  const redis = testRedis();
  const prefix = testPrefix('audit-script');
  const audit = createAuditLog({ redis, prefix });

  afterAll(async () => {
    await deletePrefix(redis, prefix);
    await closeRedis(redis);
  });

  it('prints JSON lines since a time, verifies an intact chain (exit 0) and names the first broken entry (exit 1)', async () => {
    await audit.append({ kind: 'request', actor: 'U0BOB', action: 'restart', incidentId: 'INC-1', requestId: 'cmd-aaaaaaaa', outcome: 'pending' });
    await audit.append({ kind: 'confirmation', actor: 'U0BOB', action: 'restart', incidentId: 'INC-1', requestId: 'cmd-aaaaaaaa', outcome: 'ok' });
    await audit.append({ kind: 'refusal', actor: 'U0CAROL', action: 'restore', outcome: 'refused', message: 'restore needs the role admin' });

    const since = await runAudit(prefix, ['--since', '1h']);
    expect(since.code).toBe(0);
    const lines = since.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { seq: number; kind: string });
    expect(lines.map((e) => [e.seq, e.kind])).toEqual([[1, 'request'], [2, 'confirmation'], [3, 'refusal']]);
    const byIncident = await runAudit(prefix, ['--since', '2020-01-01', '--incident', 'INC-1']);
    expect(byIncident.stdout.trimEnd().split('\n')).toHaveLength(2);
    expect((await runAudit(prefix, ['--since', '2999-01-01T00:00:00Z'])).stdout).toBe('');

    const ok = await runAudit(prefix, ['--verify']);
    expect(ok).toMatchObject({ code: 0 });
    expect(ok.stderr).toContain('chain intact, 3 entries');

    // Remove the middle entry behind the log's back: --verify finds where.
    const [, second] = await redis.xrange(audit.keys.stream, '-', '+');
    await redis.xdel(audit.keys.stream, second![0]);
    const broken = await runAudit(prefix, ['--verify']);
    expect(broken.code).toBe(1);
    expect(JSON.parse(broken.stdout)).toMatchObject({ seq: 3, reason: expect.stringContaining('deleted') });
    expect(broken.stderr).toContain('BROKEN at entry 3');
  });

  it('bad arguments: a usage line, exit 2, nothing printed', async () => {
    for (const args of [[], ['--since', 'yesterday'], ['--since'], ['--verify', '--since', '1h'], ['--incident', 'inc-1']]) {
      const res = await runAudit(prefix, args);
      expect(res.code).toBe(2);
      expect(res.stdout).toBe('');
      expect(res.stderr).toContain('usage: npm run audit --');
    }
  });
});
