import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { Header } from 'tar';
import { startTestServer, type TestServer } from './server-harness';

type ToolResult = { isError?: boolean; content: Array<{ text: string }>; structuredContent?: Record<string, unknown> };

/** A tar.gz built by hand, so it can hold entries our own tooling would never write. */
function rawTarGz(entries: Array<{ path: string; body: string }>): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.body);
    const h = new Header({ path: e.path, mode: 0o644, size: body.length, mtime: new Date(), type: 'File', uid: 0, gid: 0 });
    h.encode();
    blocks.push(h.block!, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

describe('ops backups', () => {
  let t: TestServer;
  let admin: Client;
  let src: string;
  const call = async (name: string, args: Record<string, unknown> = {}) => (await admin.callTool({ name, arguments: args })) as ToolResult;

  beforeAll(async () => {
    src = await fs.mkdtemp(path.join(os.tmpdir(), 'mfo-backup-src-'));
    await fs.mkdir(path.join(src, 'config/nested'), { recursive: true });
    await fs.writeFile(path.join(src, 'config/ops.yaml'), 'channels: [ops-critical]\n');
    await fs.writeFile(path.join(src, 'config/nested/deep.txt'), 'deep\n');
    await fs.writeFile(path.join(src, 'status.env'), 'A=1\n');
    t = await startTestServer({ BACKUP_PATHS: `${src}/config, ${src}/status.env, ${src}/absent` });
    admin = await t.client(await t.token('ops:admin', { sub: 'carol' }));
  });
  afterAll(async () => {
    await t.close();
    await fs.rm(src, { recursive: true, force: true });
  });

  test('create, list, verify and restore round-trip the configured paths', async () => {
    const created = await call('ops_backup_create');
    expect(created.isError).toBeFalsy();
    const m = created.structuredContent as { name: string; fileCount: number; skipped: string[]; archiveSha256: string; createdBy: string };
    expect(m.fileCount).toBe(3);
    expect(m.skipped).toEqual([`${src}/absent`]);
    expect(m.createdBy).toBe('carol');
    const archive = path.join(t.env.BACKUP_DIR, m.name);
    expect(sha(await fs.readFile(archive))).toBe(m.archiveSha256);

    const listed = await call('ops_backup_list');
    expect((listed.structuredContent!.backups as Array<{ name: string }>).map((b) => b.name)).toContain(m.name);

    const verified = await call('ops_backup_verify', { name: m.name });
    expect(verified.structuredContent).toMatchObject({ ok: true, problems: [], fileCount: 3 });

    const restored = await call('ops_backup_restore', { name: m.name, target: 'drill-1' });
    expect(restored.isError).toBeFalsy();
    const targetDir = restored.structuredContent!.targetDir as string;
    expect(targetDir).toBe(path.join(t.env.BACKUP_DIR, 'restores', 'drill-1'));
    expect(await fs.readFile(path.join(targetDir, src.slice(1), 'config/nested/deep.txt'), 'utf8')).toBe('deep\n');
    expect(await fs.readFile(path.join(targetDir, src.slice(1), 'status.env'), 'utf8')).toBe('A=1\n');

    const again = await call('ops_backup_restore', { name: m.name, target: 'drill-1' });
    expect(again.content[0]!.text).toMatch(/^E_CONFLICT/);

    const audit = await t.server.audit.recent(10);
    expect(audit.filter((a) => a.actor === 'carol').map((a) => a.tool)).toEqual(
      expect.arrayContaining(['ops_backup_create', 'ops_backup_restore']),
    );
  });

  test('a tampered archive fails verification and is never restored', async () => {
    const m = (await call('ops_backup_create')).structuredContent as { name: string };
    const archive = path.join(t.env.BACKUP_DIR, m.name);
    // Replace the archive with one that has the same entries but other content.
    const manifest = JSON.parse(await fs.readFile(`${archive}.manifest.json`, 'utf8')) as { files: Array<{ path: string }> };
    await fs.writeFile(archive, rawTarGz(manifest.files.map((f) => ({ path: f.path, body: 'evil\n' }))));

    const v = await call('ops_backup_verify', { name: m.name });
    expect(v.structuredContent!.ok).toBe(false);
    expect((v.structuredContent!.problems as string[]).join('\n')).toMatch(/archive sha256 .* does not match/);
    expect((v.structuredContent!.problems as string[]).join('\n')).toMatch(/content differs/);

    const r = await call('ops_backup_restore', { name: m.name, target: 'tampered' });
    expect(r.isError).toBe(true);
    expect(r.content[0]!.text).toMatch(/^E_VALIDATION_FAILED: .*failed verification/);
    await expect(fs.access(path.join(t.env.BACKUP_DIR, 'restores', 'tampered'))).rejects.toThrow();
  });

  test('a path-traversal archive is refused even when its manifest matches it', async () => {
    const name = 'backup-evil.tar.gz';
    const entries = [
      { path: '../../escaped.txt', body: 'pwned\n' },
      { path: '/tmp/absolute-escape.txt', body: 'pwned\n' },
      { path: 'fine.txt', body: 'ok\n' },
    ];
    const buf = rawTarGz(entries);
    await fs.writeFile(path.join(t.env.BACKUP_DIR, name), buf);
    await fs.writeFile(
      path.join(t.env.BACKUP_DIR, `${name}.manifest.json`),
      JSON.stringify({
        name,
        createdAt: new Date().toISOString(),
        createdBy: 'attacker',
        paths: [],
        skipped: [],
        archiveSha256: sha(buf),
        archiveBytes: buf.length,
        files: entries.map((e) => ({ path: e.path, sha256: sha(e.body), bytes: e.body.length })),
      }),
    );
    const v = await call('ops_backup_verify', { name });
    expect(v.structuredContent!.ok).toBe(false);
    expect((v.structuredContent!.problems as string[]).join('\n')).toMatch(/unsafe entry refused: File \.\.\/\.\.\/escaped\.txt/);
    expect((v.structuredContent!.problems as string[]).join('\n')).toMatch(/unsafe entry refused: File \/tmp\/absolute-escape\.txt/);

    const r = await call('ops_backup_restore', { name, target: 'evil' });
    expect(r.isError).toBe(true);
    await expect(fs.access(path.join(t.env.BACKUP_DIR, 'escaped.txt'))).rejects.toThrow();
    await expect(fs.access(path.join(t.env.BACKUP_DIR, 'restores', 'evil'))).rejects.toThrow();
    await expect(fs.access('/tmp/absolute-escape.txt')).rejects.toThrow();
  });

  test('names and targets that are paths are refused by the schema', async () => {
    for (const args of [{ name: '../x.tar.gz' }, { name: 'ok.tar.gz', target: '../../etc' }, { name: '/etc/passwd.tar.gz' }]) {
      const r = await call('ops_backup_restore', args);
      expect(r.isError).toBe(true);
      expect(r.content[0]!.text).toMatch(/validation/i);
    }
  });

  test('ops:read may list and verify but not create', async () => {
    const reader = await t.client(await t.token('ops:read'));
    expect(((await reader.callTool({ name: 'ops_backup_list', arguments: {} })) as ToolResult).isError).toBeFalsy();
    await expect(reader.callTool({ name: 'ops_backup_create', arguments: {} })).rejects.toThrow(/insufficient_scope/);
  });
});
