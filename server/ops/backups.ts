import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import * as tar from 'tar';
import { CodedError, ErrorCode, NotFoundError, ValidationError } from '../../lib/errors';
import { atomicWrite } from './maintenance';

export interface BackupFile {
  path: string;
  sha256: string;
  bytes: number;
}

export interface BackupManifest {
  name: string;
  createdAt: string;
  createdBy: string;
  /** The configured paths, as given. */
  paths: string[];
  /** Configured paths that did not exist at backup time. */
  skipped: string[];
  archiveSha256: string;
  archiveBytes: number;
  files: BackupFile[];
}

export interface BackupVerification {
  name: string;
  ok: boolean;
  problems: string[];
  fileCount: number;
}

export const BACKUP_KINDS = ['config', 'logs', 'metrics', 'state'] as const;
export type BackupKind = (typeof BACKUP_KINDS)[number];
const KIND_ENV: Record<BackupKind, string> = { config: 'BACKUP_PATHS', logs: 'BACKUP_LOGS_PATHS', metrics: 'BACKUP_METRICS_PATHS', state: 'BACKUP_STATE_PATHS' };

export interface BackupStoreConfig {
  /** Files and directories to archive (BACKUP_PATHS), relative to `cwd` or absolute. */
  paths: string[];
  /** Where archives and their manifests go (BACKUP_DIR). */
  dir: string;
  /** Paths for the other backup kinds (`config` is `paths`); a kind without paths is refused. */
  kindPaths?: Partial<Record<Exclude<BackupKind, 'config'>, string[]>>;
  /** Base for relative paths. @defaultValue process.cwd() */
  cwd?: string;
}

/** Told after each step of a long operation: what was done, and how far along (done of total). */
export type ProgressStep = (step: string, done: number, total: number) => Promise<void> | void;

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*\.tar\.gz$/;

/**
 * The seed's `tar -czf config-backup-$(date).tar.gz ...`, with a sha256
 * manifest beside each archive. Entries are stored under their absolute path
 * minus the leading "/", as tar does. Restore checks the archive against its
 * manifest first and only ever writes below its own staging directory.
 */
export function createBackupStore(config: BackupStoreConfig) {
  const cwd = config.cwd ?? process.cwd();
  const restoreRoot = path.join(config.dir, 'restores');

  function archivePath(name: string): string {
    if (!NAME.test(name) || name.includes('..')) throw new ValidationError(`"${name}" is not a backup name`);
    return path.join(config.dir, name);
  }
  const manifestPath = (name: string) => `${archivePath(name)}.manifest.json`;

  async function create(actor: string, kind: BackupKind = 'config', onStep: ProgressStep = () => undefined): Promise<BackupManifest> {
    const paths = kind === 'config' ? config.paths : (config.kindPaths?.[kind] ?? []);
    if (paths.length === 0) throw new CodedError(ErrorCode.ConfigInvalid, `no ${KIND_ENV[kind]} configured: nothing to back up for kind ${kind}`);
    const present: string[] = [];
    const skipped: string[] = [];
    for (const p of paths) {
      const abs = path.resolve(cwd, p);
      if (await exists(abs)) present.push(abs.slice(1));
      else skipped.push(p);
    }
    if (present.length === 0) throw new NotFoundError(`none of ${KIND_ENV[kind]} exists: ${paths.join(', ')}`);
    await onStep(`found ${present.length} of ${paths.length} ${KIND_ENV[kind]}`, 1, 4);
    await fs.mkdir(config.dir, { recursive: true });
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    const name = `backup-${kind === 'config' ? '' : `${kind}-`}${stamp}-${randomBytes(3).toString('hex')}.tar.gz`;
    const file = archivePath(name);
    // follow: store what symlinks point at, so an archive never contains a link
    await tar.c({ gzip: true, file, cwd: '/', portable: true, follow: true }, present);
    await onStep(`archived into ${name}`, 2, 4);
    const [archiveSha256, stat, files] = await Promise.all([sha256File(file), fs.stat(file), readEntries(file)]);
    await onStep(`hashed the archive and ${files.files.length} files`, 3, 4);
    const manifest: BackupManifest = {
      name,
      createdAt: new Date().toISOString(),
      createdBy: actor,
      paths,
      skipped,
      archiveSha256,
      archiveBytes: stat.size,
      files: files.files,
    };
    await atomicWrite(manifestPath(name), `${JSON.stringify(manifest, null, 2)}\n`);
    await onStep('manifest written', 4, 4);
    return manifest;
  }

  async function list(): Promise<BackupManifest[]> {
    const names = await fs.readdir(config.dir).catch(() => [] as string[]);
    const manifests = await Promise.all(
      names.filter((n) => n.endsWith('.tar.gz.manifest.json')).map(async (n) => readManifest(n.replace(/\.manifest\.json$/, '')).catch(() => undefined)),
    );
    return manifests.filter((m): m is BackupManifest => m !== undefined).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  async function readManifest(name: string): Promise<BackupManifest> {
    try {
      return JSON.parse(await fs.readFile(manifestPath(name), 'utf8')) as BackupManifest;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`no backup named ${name}`);
      throw err;
    }
  }

  async function verify(name: string): Promise<BackupVerification> {
    const manifest = await readManifest(name);
    const file = archivePath(name);
    const problems: string[] = [];
    if (!(await exists(file))) return { name, ok: false, problems: ['archive file is missing'], fileCount: 0 };
    const sha = await sha256File(file);
    if (sha !== manifest.archiveSha256) problems.push(`archive sha256 ${sha} does not match the manifest (${manifest.archiveSha256})`);
    let entries: { files: BackupFile[]; unsafe: string[] };
    try {
      entries = await readEntries(file);
    } catch (err) {
      return { name, ok: false, problems: [...problems, `archive unreadable: ${(err as Error).message}`], fileCount: 0 };
    }
    problems.push(...entries.unsafe);
    const expected = new Map(manifest.files.map((f) => [f.path, f.sha256]));
    for (const f of entries.files) {
      const want = expected.get(f.path);
      if (want === undefined) problems.push(`unexpected entry ${f.path}`);
      else if (want !== f.sha256) problems.push(`${f.path}: content differs from the manifest`);
      expected.delete(f.path);
    }
    for (const missing of expected.keys()) problems.push(`${missing}: missing from the archive`);
    return { name, ok: problems.length === 0, problems, fileCount: entries.files.length };
  }

  /** Extracts a verified backup into `<BACKUP_DIR>/restores/<target>`; never anywhere else. */
  async function restore(name: string, target?: string, onStep: ProgressStep = () => undefined): Promise<{ name: string; targetDir: string; fileCount: number }> {
    const verification = await verify(name);
    if (!verification.ok) {
      throw new CodedError(ErrorCode.ValidationFailed, `backup ${name} failed verification, nothing restored: ${verification.problems.join('; ')}`);
    }
    await onStep(`verified ${name}: ${verification.fileCount} files intact`, 1, 3);
    const dirName = target ?? `${name.replace(/\.tar\.gz$/, '')}-${Date.now()}`;
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(dirName) || dirName.includes('..')) throw new ValidationError(`"${dirName}" is not a valid restore directory name`);
    const targetDir = path.join(restoreRoot, dirName);
    await fs.mkdir(restoreRoot, { recursive: true });
    try {
      await fs.mkdir(targetDir);
    } catch {
      throw new CodedError(ErrorCode.Conflict, `restore directory ${dirName} already exists`);
    }
    await onStep(`created ${targetDir}`, 2, 3);
    let count = 0;
    await tar.x({
      file: archivePath(name),
      cwd: targetDir,
      strict: true,
      preserveOwner: false,
      // Belt and braces: verify() already refused these, and tar strips them too.
      filter: (p, entry) => {
        const ok = isSafeEntry(p, (entry as tar.ReadEntry).type);
        if (ok && (entry as tar.ReadEntry).type === 'File') count += 1;
        return ok;
      },
    });
    await onStep(`extracted ${count} files`, 3, 3);
    return { name, targetDir, fileCount: count };
  }

  return { create, list, verify, restore, readManifest, archivePath, dir: config.dir, restoreRoot };
}

export type BackupStore = ReturnType<typeof createBackupStore>;

/** Relative, no "..", regular files and directories only. */
export function isSafeEntry(p: string, type: string): boolean {
  if (type !== 'File' && type !== 'Directory' && type !== 'OldFile') return false;
  if (p.startsWith('/') || /^[A-Za-z]:/.test(p) || p.includes('\\')) return false;
  return !p.split('/').includes('..');
}

async function readEntries(file: string): Promise<{ files: BackupFile[]; unsafe: string[] }> {
  const files: BackupFile[] = [];
  const unsafe: string[] = [];
  await tar.t({
    file,
    strict: true,
    onReadEntry: (entry) => {
      if (!isSafeEntry(entry.path, entry.type)) {
        unsafe.push(`unsafe entry refused: ${entry.type} ${entry.path}`);
        entry.resume();
        return;
      }
      if (entry.type === 'Directory') {
        entry.resume();
        return;
      }
      const hash = createHash('sha256');
      let bytes = 0;
      entry.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        bytes += chunk.length;
      });
      entry.on('end', () => files.push({ path: entry.path, sha256: hash.digest('hex'), bytes }));
    },
  });
  return { files, unsafe };
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(
    () => true,
    () => false,
  );
}
