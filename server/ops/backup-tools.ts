import { z } from 'zod';
import type { Logger } from '../../lib/logger';
import { defineTool, type GuardedTool, type ToolInvocation } from '../mcp/tool-context';
import { audited, type AuditLog } from './audit';
import { BACKUP_KINDS, type BackupManifest, type BackupStore } from './backups';

const NameSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*\.tar\.gz$/, 'a backup name as listed by ops_backup_list');

const SummarySchema = z.object({
  name: z.string(),
  createdAt: z.string(),
  createdBy: z.string(),
  archiveSha256: z.string(),
  archiveBytes: z.number(),
  fileCount: z.number(),
  skipped: z.array(z.string()),
});

const summary = (m: BackupManifest) => ({
  name: m.name,
  createdAt: m.createdAt,
  createdBy: m.createdBy,
  archiveSha256: m.archiveSha256,
  archiveBytes: m.archiveBytes,
  fileCount: m.files.length,
  skipped: m.skipped,
});

/** Each step as `notifications/progress` (when asked for) and an info `notifications/message`. */
function stepReporter(tool: string, progress: ToolInvocation['progress'], log: ToolInvocation['log']) {
  return async (step: string, done: number, total: number) => {
    await progress(done, total, step);
    await log('info', `${tool}: ${step}`);
  };
}

export interface BackupToolsDeps {
  backups: BackupStore;
  audit: AuditLog;
  logger: Logger;
}

/** ops_backup_create / _list / _verify / _restore. */
export function backupTools(deps: BackupToolsDeps): GuardedTool[] {
  const onAuditError = (err: Error) => deps.logger.error({ err: err.message }, 'audit write failed');
  const create = defineTool({
    name: 'ops_backup_create',
    title: 'Create a backup',
    description:
      'Archives one kind of data into a tar.gz in BACKUP_DIR with a sha256 manifest: config (BACKUP_PATHS), logs, metrics or state (BACKUP_LOGS_PATHS, BACKUP_METRICS_PATHS, BACKUP_STATE_PATHS).',
    scope: 'ops:admin',
    kind: 'ops',
    input: z.object({ kind: z.enum(BACKUP_KINDS).default('config') }),
    output: SummarySchema,
    // Adds a new archive; overwrites nothing, touches nothing outside BACKUP_DIR.
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    streams: true,
    async run(args, { caller, progress, log }) {
      const onStep = stepReporter('ops_backup_create', progress, log);
      const m = await audited(
        deps.audit,
        { actor: caller.subject, tool: 'ops_backup_create', args },
        async () => summary(await deps.backups.create(caller.subject, args.kind, onStep)),
        onAuditError,
      );
      const skipped = m.skipped.length > 0 ? ` (skipped, not found: ${m.skipped.join(', ')})` : '';
      return { structured: m, text: `Backup ${m.name}: ${m.fileCount} files, ${m.archiveBytes} bytes, sha256 ${m.archiveSha256}${skipped}` };
    },
  });
  const list = defineTool({
    name: 'ops_backup_list',
    title: 'List backups',
    description: 'Lists backups in BACKUP_DIR, newest first.',
    scope: 'ops:read',
    kind: 'ops',
    input: z.object({ limit: z.number().int().min(1).max(500).default(20) }),
    output: z.object({ backups: z.array(SummarySchema) }),
    annotations: { readOnlyHint: true, openWorldHint: false },
    async run(args) {
      const backups = (await deps.backups.list()).slice(0, args.limit).map(summary);
      const text = backups.length === 0 ? 'No backups.' : backups.map((b) => `- ${b.name} (${b.createdAt}, ${b.fileCount} files, by ${b.createdBy})`).join('\n');
      return { structured: { backups }, text };
    },
  });
  const verify = defineTool({
    name: 'ops_backup_verify',
    title: 'Verify a backup',
    description: 'Checks a backup against its manifest: archive sha256, every file sha256, no unsafe entries.',
    scope: 'ops:read',
    kind: 'ops',
    input: z.object({ name: NameSchema }),
    output: z.object({ name: z.string(), ok: z.boolean(), problems: z.array(z.string()), fileCount: z.number() }),
    annotations: { readOnlyHint: true, openWorldHint: false },
    async run(args) {
      const v = await deps.backups.verify(args.name);
      const text = v.ok ? `Backup ${v.name} verified: ${v.fileCount} files intact.` : `Backup ${v.name} FAILED verification:\n${v.problems.map((p) => `  - ${p}`).join('\n')}`;
      return { structured: v, text };
    },
  });
  const restore = defineTool({
    name: 'ops_backup_restore',
    title: 'Restore a backup',
    description: 'Verifies a backup, then extracts it into BACKUP_DIR/restores/<target> (a fresh directory). Never writes anywhere else.',
    scope: 'ops:admin',
    kind: 'ops',
    input: z.object({
      name: NameSchema,
      target: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a directory name, not a path').optional(),
    }),
    output: z.object({ name: z.string(), targetDir: z.string(), fileCount: z.number() }),
    // Extracts into a fresh directory only (an existing one is E_CONFLICT): nothing live is overwritten.
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    streams: true,
    async run(args, { caller, progress, log }) {
      const onStep = stepReporter('ops_backup_restore', progress, log);
      const r = await audited(
        deps.audit,
        { actor: caller.subject, tool: 'ops_backup_restore', args },
        () => deps.backups.restore(args.name, args.target, onStep),
        onAuditError,
      );
      return { structured: r, text: `Restored ${r.fileCount} files from ${r.name} into ${r.targetDir}` };
    },
  });
  return [create, list, verify, restore];
}
