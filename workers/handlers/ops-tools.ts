import { parseActionParams } from '../../lib/action-catalog';
import { askedBy, callOnce, toolFailure, type ActionHandler } from './types';

/**
 * The in-app actions: each is one MCP ops tool call with the workers' own
 * token. Every call goes through the request's journal, so a worker killed
 * after the call and restarted by BullMQ reports the recorded result instead
 * of calling again.
 */

const forIncident = (incidentId?: string) => (incidentId ? ` for ${incidentId}` : '');

export const runBlockIp: ActionHandler = async (job, deps) => {
  const p = parseActionParams('block_ip', job.params);
  const result = await callOnce(deps, 'block', 'ops_block_ip', { ip: p.address, ttlSeconds: p.ttlSeconds, reason: p.reason });
  if (result.isError) return toolFailure(`Blocking ${p.address}`, result);
  const blocked = (result.structuredContent?.blocked ?? {}) as { cidr?: string; expiresAt?: string };
  return {
    ok: true,
    summary: `🛡️ ${blocked.cidr ?? p.address} blocked on every replica until ${blocked.expiresAt ?? '?'}${forIncident(job.incidentId)}, asked by ${askedBy(job)}`,
    audit: { cidr: blocked.cidr, expiresAt: blocked.expiresAt },
  };
};

export const runUnblockIp: ActionHandler = async (job, deps) => {
  const p = parseActionParams('unblock_ip', job.params);
  const result = await callOnce(deps, 'unblock', 'ops_unblock_ip', { ip: p.address });
  if (result.isError) return toolFailure(`Unblocking ${p.address}`, result);
  return { ok: true, summary: `🔓 ${p.address} unblocked${forIncident(job.incidentId)}, asked by ${askedBy(job)}` };
};

export const runBackup: ActionHandler = async (job, deps) => {
  const p = parseActionParams('backup', job.params);
  const result = await callOnce(deps, 'create', 'ops_backup_create', { kind: p.kind });
  if (result.isError) return toolFailure(`The ${p.kind} backup`, result);
  const m = result.structuredContent as { name: string; fileCount: number; archiveBytes: number; archiveSha256: string };
  return {
    ok: true,
    summary: `💾 ${p.kind} backup \`${m.name}\`: ${m.fileCount} files, ${m.archiveBytes} bytes${forIncident(job.incidentId)}, asked by ${askedBy(job)}`,
    detail: `sha256 ${m.archiveSha256}`,
    audit: { name: m.name, sha256: m.archiveSha256 },
  };
};

export const runVerifyBackup: ActionHandler = async (job, deps) => {
  const p = parseActionParams('verify_backup', job.params);
  const result = await deps.mcp.callTool('ops_backup_verify', { name: p.id });
  if (result.isError) return toolFailure(`Verifying ${p.id}`, result);
  const v = result.structuredContent as { ok: boolean; problems: string[]; fileCount: number };
  return v.ok
    ? { ok: true, summary: `✅ Backup \`${p.id}\` verified: ${v.fileCount} files match their sha256`, audit: { ok: true } }
    : { ok: false, summary: `❌ Backup \`${p.id}\` failed verification: ${v.problems.length} problem(s)`, detail: v.problems.join('\n'), audit: { ok: false, problems: v.problems } };
};

export const runRestore: ActionHandler = async (job, deps) => {
  const p = parseActionParams('restore', job.params);
  const target = `restore-${job.requestId}`.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100);
  const result = await callOnce(deps, 'restore', 'ops_backup_restore', { name: p.id, target });
  if (result.isError) return toolFailure(`Restoring ${p.id}`, result);
  const r = result.structuredContent as { targetDir: string; fileCount: number };
  return {
    ok: true,
    summary: `♻️ Backup \`${p.id}\` verified and restored into staging \`${r.targetDir}\` (${r.fileCount} files)${forIncident(job.incidentId)}, asked by ${askedBy(job)}. Swap the files in, then restart.`,
    audit: { targetDir: r.targetDir, fileCount: r.fileCount },
  };
};

export const runResetBreaker: ActionHandler = async (job, deps) => {
  const p = parseActionParams('reset_circuit_breaker', job.params);
  const result = await callOnce(deps, 'reset', 'ops_reset_circuit_breaker', { service: p.service });
  if (result.isError) return toolFailure(`Resetting the ${p.service} breaker`, result);
  const r = result.structuredContent as { previousState?: string; breaker: { state: string } };
  return {
    ok: true,
    summary: `🔁 Circuit breaker for ${p.service} reset (${r.previousState ?? '?'} → ${r.breaker.state})${forIncident(job.incidentId)}, asked by ${askedBy(job)}`,
    audit: { previousState: r.previousState, state: r.breaker.state },
  };
};

export const runCollectEvidence: ActionHandler = async (job, deps) => {
  const result = await callOnce(deps, 'collect', 'ops_collect_evidence', { reason: job.incidentId ?? `requested by ${job.requestedBy}` });
  if (result.isError) return toolFailure('Collecting evidence', result);
  const e = result.structuredContent as { path: string; sha256: string; bytes: number; files: string[]; errors: string[] };
  const partial = e.errors.length ? ` (${e.errors.length} part(s) failed: ${e.errors.join('; ')})` : '';
  return {
    ok: e.errors.length === 0,
    summary: `🧾 Evidence collected: \`${e.path}\`, ${e.bytes} bytes, ${e.files.length} files${partial}${forIncident(job.incidentId)}, asked by ${askedBy(job)}`,
    detail: `sha256 ${e.sha256}\n${e.files.join('\n')}`,
    audit: { path: e.path, sha256: e.sha256 },
  };
};

export const runListBlockedIps: ActionHandler = async (job, deps) => {
  const result = await deps.mcp.callTool('ops_list_blocked_ips', {});
  if (result.isError) return toolFailure('Listing blocked addresses', result);
  const blocks = ((result.structuredContent?.blocks ?? []) as Array<{ cidr: string; expiresAt: string; actor: string; reason: string }>);
  const lines = blocks.map((b) => `${b.cidr} until ${b.expiresAt} by ${b.actor}: ${b.reason}`);
  return {
    ok: true,
    summary: `🛡️ ${blocks.length} blocked address(es)${forIncident(job.incidentId)}, asked by ${askedBy(job)}`,
    ...(lines.length ? { detail: lines.join('\n') } : {}),
    audit: { count: blocks.length },
  };
};

export const runSecurityReport: ActionHandler = async (job, deps) => {
  const result = await deps.mcp.callTool('ops_security_report', {});
  if (result.isError) return toolFailure('The security report', result);
  return { ok: true, summary: `🔐 Security report${forIncident(job.incidentId)}, asked by ${askedBy(job)}`, detail: result.text.trim() };
};
