import { z } from 'zod';
import type { Logger } from '../../lib/logger';
import type { Registry } from '../../lib/metrics';
import type { AuthFailureLog } from '../auth/auth-failures';
import type { Backends } from '../backends/types';
import { defineTool, type GuardedTool } from '../mcp/tool-context';
import { audited, type AuditLog } from './audit';
import { collectEvidence, type EvidenceSource } from './evidence';
import { checkHealth, type HealthDeps } from './health';
import type { IpDenylist } from './ip-denylist';
import type { LogRing } from './log-ring';
import type { MaintenanceStore } from './maintenance';

export interface EvidenceToolDeps {
  evidenceDir: string;
  health: HealthDeps;
  backends: Backends;
  denylist: IpDenylist;
  maintenance: MaintenanceStore;
  registry: Registry;
  audit: AuditLog;
  failures: AuthFailureLog;
  logRing?: LogRing;
  logger: Logger;
}

const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

/** ops_collect_evidence: recent logs and the server's state, packed into one archive with its sha256. */
export function evidenceTool(deps: EvidenceToolDeps): GuardedTool {
  const sources = (): EvidenceSource[] => [
    { name: 'logs.ndjson', collect: async () => (deps.logRing ? `${deps.logRing.snapshot().join('\n')}\n` : '') },
    { name: 'health.json', collect: async () => json(await checkHealth(deps.health, 'full')) },
    { name: 'breakers.json', collect: async () => json(deps.backends.breakers()) },
    { name: 'blocked-ips.json', collect: async () => json(await deps.denylist.list()) },
    { name: 'maintenance.json', collect: async () => json(await deps.maintenance.status()) },
    { name: 'metrics.txt', collect: () => deps.registry.metrics() },
    { name: 'audit.json', collect: async () => json(await deps.audit.recent(500)) },
    { name: 'auth-failures.json', collect: async () => json(await deps.failures.since(Date.now() - 3600_000, 10_000)) },
  ];
  return defineTool({
    name: 'ops_collect_evidence',
    title: 'Preserve evidence',
    description:
      'Packs recent logs and state (full health, breakers, blocked IPs, maintenance, metrics, audit trail, auth failures of the last hour) into a tar.gz in EVIDENCE_DIR and returns its path and sha256.',
    scope: 'ops:admin',
    kind: 'ops',
    input: z.object({ reason: z.string().max(500).optional().describe('why, e.g. the incident id') }),
    output: z.object({ path: z.string(), sha256: z.string(), bytes: z.number(), files: z.array(z.string()), errors: z.array(z.string()) }),
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    streams: true,
    async run(args, { caller, progress, log }) {
      const onStep = async (step: string, done: number, total: number) => {
        await progress(done, total, step);
        await log('info', `ops_collect_evidence: ${step}`);
      };
      const r = await audited(
        deps.audit,
        { actor: caller.subject, tool: 'ops_collect_evidence', args },
        () => collectEvidence(deps.evidenceDir, sources(), { actor: caller.subject, reason: args.reason ?? null }, onStep),
        (err) => deps.logger.error({ err: err.message }, 'audit write failed'),
      );
      const warn = r.errors.length > 0 ? `\nMissing parts: ${r.errors.join('; ')}` : '';
      if (r.errors.length > 0) await log('warning', `ops_collect_evidence: missing parts: ${r.errors.join('; ')}`);
      return { structured: r, text: `Evidence preserved: ${r.path}\nsha256 ${r.sha256} (${r.bytes} bytes, ${r.files.length} files)${warn}` };
    },
  });
}
