import crypto from 'node:crypto';
import type { AuditLog } from '../../lib/audit-log';
import { parseSince, SINCE_HINT } from '../../lib/audit-window';
import { asCodedError, ErrorCode } from '../../lib/errors';
import { OUTBOX_FILE_MAX_BYTES, type OutboxUploadInput } from '../../lib/slack-outbox';
import { ephemeral, type CommandContext, type OpsVerb } from '../commands/types';
import type { Incident, IncidentStore } from '../incidents/incident-store';

export interface AuditVerbDeps {
  audit: AuditLog;
  store: IncidentStore;
  /** The outbox's upload (every Slack write goes through the outbox). */
  upload: (input: OutboxUploadInput) => Promise<string>;
  channelOf: (incident: Incident) => Promise<string>;
}

const USAGE = '/ops audit [--since 1h] [INC-42]';
/** Without --since and without an incident: the last day. */
const DEFAULT_SINCE = '24h';

/** `--since 1h INC-4` → the window and the incident; throws with the reason on anything else. */
function parseArgs(args: readonly string[], now: Date): { since?: Date; sinceText?: string; incidentId?: string } {
  let sinceText: string | undefined;
  let incidentId: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const word = args[i]!;
    if (word === '--since') {
      sinceText = args[++i];
      if (!sinceText) throw new Error(`--since needs ${SINCE_HINT}`);
    } else if (/^INC-\d+$/i.test(word) && !incidentId) incidentId = word.toUpperCase();
    else throw new Error(`unexpected "${word.slice(0, 40)}"`);
  }
  if (!sinceText && !incidentId) sinceText = DEFAULT_SINCE;
  return { ...(sinceText ? { since: parseSince(sinceText, now), sinceText } : {}), ...(incidentId ? { incidentId } : {}) };
}

/**
 * `/ops audit [--since 1h] [INC-n]`: the ops audit as a JSON-lines file, posted
 * in the incident's thread (or this channel), through the outbox. The export
 * itself is audited (after the read, so a file never lists its own export).
 */
export function auditVerb(deps: AuditVerbDeps): OpsVerb {
  return {
    name: 'audit',
    usage: USAGE,
    summary: 'export the ops audit (requests, confirmations, approvals, refusals, results) as a JSON-lines file',
    async run(ctx: CommandContext) {
      let window: ReturnType<typeof parseArgs>;
      try {
        window = parseArgs(ctx.args, ctx.now);
      } catch (err) {
        return ephemeral(`❌ ${ErrorCode.ValidationFailed}: ${asCodedError(err).message}. Nothing was exported.\nUsage: \`${USAGE}\``);
      }
      let target = { channel: ctx.channelId } as { channel: string; threadTs?: string; lane?: string };
      if (window.incidentId) {
        const incident = await deps.store.get(window.incidentId);
        if (!incident) return ephemeral(`⚠️ ${window.incidentId} does not exist. Nothing was exported.`);
        target = { channel: await deps.channelOf(incident), ...(incident.rootTs ? { threadTs: incident.rootTs } : {}), lane: incident.id };
      }
      const lines = await deps.audit.exportJsonLines({ since: window.since, incidentId: window.incidentId });
      const count = lines ? lines.trimEnd().split('\n').length : 0;
      const what = [window.incidentId, window.sinceText ? `since ${window.sinceText}` : 'all of it'].filter(Boolean).join(', ');
      if (count === 0) return ephemeral(`No audit entries (${what}).`);
      if (Buffer.byteLength(lines) > OUTBOX_FILE_MAX_BYTES) {
        return ephemeral(`⚠️ ${count} entries are more than Slack's file limit here; narrow it with --since, or run \`npm run audit -- --since ${window.sinceText ?? '1h'}\` on the host.`);
      }
      const stamp = ctx.now.toISOString().replace(/[:.]/g, '-');
      const id = `audit-${crypto.createHash('sha256').update(ctx.triggerId ?? crypto.randomUUID()).digest('hex').slice(0, 24)}`;
      await deps.upload({
        ...target,
        id,
        filename: `audit-${window.incidentId ?? 'ops'}-${stamp}.jsonl`,
        title: `Ops audit (${what})`,
        initialComment: `📄 Ops audit (${what}): ${count} entries, JSON lines, exported by <@${ctx.userId}>. Check the chain with \`npm run audit -- --verify\`.`,
        content: lines,
      });
      await deps.audit.append({
        kind: 'export',
        actor: ctx.userId,
        ...(window.incidentId ? { incidentId: window.incidentId } : {}),
        outcome: 'ok',
        message: `exported ${count} audit entries (${what})`,
        detail: { entries: count, ...(window.sinceText ? { since: window.sinceText } : {}), channel: target.channel },
      });
      return ephemeral(`📄 ${count} audit entries (${what}) are on their way as a file ${target.threadTs ? `in ${window.incidentId}'s thread` : 'in this channel'}.`);
    },
  };
}
