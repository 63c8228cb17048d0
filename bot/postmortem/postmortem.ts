import type { AuditEntry, AuditLog } from '../../lib/audit-log';
import { NotFoundError } from '../../lib/errors';
import { NEXT_BUSINESS_DAY } from '../../lib/ops-config-schema';
import type { OpsConfig } from '../../lib/ops-config';
import type { IncidentStore } from '../incidents/incident-store';
import { responseDeadline } from '../incidents/priority';

/**
 * The post-mortem of one incident, built from what the product recorded as it
 * happened: the incident, its alerts, its timeline (alerts, priority changes,
 * escalation steps, acks, snoozes, notes) and the ops audit (actions, their
 * approvals and results). The JSON form follows docs/postmortem.schema.json;
 * the Markdown form is rendered from it.
 */
export const POSTMORTEM_SCHEMA_VERSION = 1;

export interface TimelineItem {
  at: string;
  type: string;
  by: string;
  text: string;
  detail: Record<string, string>;
}

export interface PostmortemAction {
  requestId: string;
  action: string;
  requestedBy: string;
  requestedAt: string;
  target?: string;
  approvedBy?: string;
  outcome: 'ok' | 'failed' | 'refused' | 'pending';
  result?: string;
}

export interface Postmortem {
  schemaVersion: number;
  generatedAt: string;
  incident: {
    id: string;
    title: string;
    state: string;
    priority: string;
    priorityRule: string;
    policy: string;
    channel?: string;
    threadTs?: string;
    links: { source?: string; runbook?: string; grafana?: string; alertmanager?: string };
  };
  summary: string;
  impact: {
    startedAt: string;
    endedAt?: string;
    durationSeconds?: number;
    priority: string;
    services: string[];
    alertCount: number;
    affectedInstances: string[];
  };
  detection: { firstAlertAt: string; firstAlert?: { alertname: string; startsAt: string; labels: Record<string, string> }; sourceUrl?: string; openedAt: string };
  response: {
    responseTime: string;
    respondBy: string;
    acknowledgedAt?: string;
    acknowledgedBy?: string;
    timeToAcknowledgeSeconds?: number;
    acknowledgedWithinTarget?: boolean;
    resolvedAt?: string;
    resolvedBy?: string;
    timeToResolveSeconds?: number;
    resolvedWithinTarget?: boolean;
    slaBreached: boolean;
    escalationSteps: Array<{ at: string; step: string; round: string; notify: string; target: string }>;
  };
  timeline: TimelineItem[];
  notes: Array<{ at: string; by: string; text: string; source: string }>;
  actions: PostmortemAction[];
  audit: AuditEntry[];
  sections: { whatWentWell: string[]; whatWentWrong: string[]; actionItems: string[] };
}

const seconds = (from: string, to?: string) => (to ? Math.max(0, Math.round((Date.parse(to) - Date.parse(from)) / 1000)) : undefined);

/** One line for a timeline entry, in the words a reader of the post-mortem expects. */
function describe(e: Record<string, string>): string {
  switch (e.type) {
    case 'opened':
      return 'Incident opened from Alertmanager';
    case 'alert_firing':
      return `Alert ${e.alertname ?? ''} firing`.trim();
    case 'alert_resolved':
      return `Alert ${e.alertname ?? ''} resolved`.trim();
    case 'resolved':
      return 'Resolved';
    case 'acknowledged':
      return 'Acknowledged';
    case 'unacknowledged':
      return 'Acknowledgement withdrawn';
    case 'snoozed':
      return `Snoozed until ${e.until ?? e.snoozedUntil ?? '?'}`;
    case 'unsnoozed':
      return 'Snooze ended by hand';
    case 'snooze_ended':
      return 'Snooze ran out';
    case 'reclassified':
      return `Reclassified ${e.from ?? '?'} → ${e.to ?? '?'}`;
    case 'escalation_step':
      return `Escalation step ${e.step ?? '?'} (round ${e.round ?? '1'}): ${e.notify ?? ''}${e.target ? ` → ${e.target}` : ''}`;
    case 'sla_breached':
      return `SLA breached: ${e.priority ?? ''} response time ${e.responseTime ?? ''} passed`;
    case 'action_requested':
      return `Action requested: ${e.action ?? '?'}`;
    case 'note':
      return e.text ?? '';
    default:
      return e.type?.replace(/_/g, ' ') ?? 'event';
  }
}

/** Audit entries of one request, folded into what was asked and what came of it. */
function foldActions(entries: AuditEntry[]): PostmortemAction[] {
  const byRequest = new Map<string, AuditEntry[]>();
  for (const e of entries) {
    if (!e.requestId || !e.action) continue;
    byRequest.set(e.requestId, [...(byRequest.get(e.requestId) ?? []), e]);
  }
  return [...byRequest.entries()].map(([requestId, list]) => {
    const first = list[0]!;
    const last = [...list].reverse().find((e) => e.kind === 'result' || e.kind === 'refusal' || e.kind === 'remediation') ?? list[list.length - 1]!;
    const approval = list.find((e) => e.kind === 'approval');
    const outcome = last.kind === 'refusal' ? 'refused' : (last.outcome ?? 'pending');
    return {
      requestId,
      action: first.action!,
      requestedBy: (list.find((e) => e.kind === 'request') ?? first).actor,
      requestedAt: first.at,
      ...(first.target ? { target: first.target } : {}),
      ...(approval ? { approvedBy: approval.actor } : {}),
      outcome: outcome === 'ok' || outcome === 'failed' || outcome === 'refused' ? outcome : 'pending',
      ...(last.message ? { result: last.message } : {}),
    };
  });
}

export interface PostmortemDeps {
  store: IncidentStore;
  audit: AuditLog;
  config: OpsConfig;
  now?: () => Date;
}

export async function buildPostmortem(incidentId: string, deps: PostmortemDeps): Promise<Postmortem> {
  const incident = await deps.store.get(incidentId);
  if (!incident) throw new NotFoundError(`there is no ${incidentId}`);
  const [alertMap, rawTimeline, audit] = await Promise.all([deps.store.alerts(incidentId), deps.store.timeline(incidentId), deps.audit.read({ incidentId })]);
  const alerts = Object.values(alertMap);
  const timeline: TimelineItem[] = rawTimeline.map(({ id: _id, at, type, by, ...detail }) => ({
    at: at ?? incident.createdAt,
    type: type ?? 'event',
    by: by ?? 'unknown',
    text: describe({ type: type ?? '', ...detail }),
    detail,
  }));
  timeline.sort((a, b) => a.at.localeCompare(b.at));
  const lastOf = (type: string) => [...timeline].reverse().find((t) => t.type === type);
  const firstAlert = [...alerts].sort((a, b) => a.startsAt.localeCompare(b.startsAt))[0];
  const startedAt = firstAlert && firstAlert.startsAt < incident.createdAt ? firstAlert.startsAt : incident.createdAt;
  const respondBy = responseDeadline(incident.priority, new Date(incident.createdAt), deps.config).toISOString();
  const spec = deps.config.priority.response_times[incident.priority];
  const ackAt = incident.acknowledgedAt ?? timeline.find((t) => t.type === 'acknowledged')?.at;
  const ackBy = timeline.find((t) => t.type === 'acknowledged')?.by;
  const resolvedAt = incident.resolvedAt;
  const uniq = (xs: Array<string | undefined>) => [...new Set(xs.filter((x): x is string => Boolean(x)))].sort();

  return {
    schemaVersion: POSTMORTEM_SCHEMA_VERSION,
    generatedAt: (deps.now?.() ?? new Date()).toISOString(),
    incident: {
      id: incident.id,
      title: incident.title,
      state: incident.state,
      priority: incident.priority,
      priorityRule: incident.priorityRule,
      policy: incident.policy,
      ...(incident.channel ? { channel: incident.channel } : {}),
      ...(incident.rootTs ? { threadTs: incident.rootTs } : {}),
      links: {
        ...(incident.generatorURL ? { source: incident.generatorURL } : {}),
        ...(incident.runbookUrl ? { runbook: incident.runbookUrl } : {}),
        ...(incident.grafanaUrl ? { grafana: incident.grafanaUrl } : {}),
        ...(incident.externalURL ? { alertmanager: incident.externalURL } : {}),
      },
    },
    summary: incident.summary || incident.title,
    impact: {
      startedAt,
      ...(resolvedAt ? { endedAt: resolvedAt, durationSeconds: seconds(startedAt, resolvedAt)! } : {}),
      priority: incident.priority,
      services: uniq(alerts.flatMap((a) => [a.labels.service, a.labels.job])),
      alertCount: alerts.length,
      affectedInstances: uniq(alerts.map((a) => a.labels.instance)),
    },
    detection: {
      firstAlertAt: firstAlert?.startsAt ?? incident.createdAt,
      ...(firstAlert ? { firstAlert: { alertname: firstAlert.labels.alertname ?? '', startsAt: firstAlert.startsAt, labels: firstAlert.labels } } : {}),
      ...((firstAlert?.generatorURL || incident.generatorURL) ? { sourceUrl: firstAlert?.generatorURL || incident.generatorURL } : {}),
      openedAt: incident.createdAt,
    },
    response: {
      responseTime: spec === NEXT_BUSINESS_DAY ? 'next business day' : spec,
      respondBy,
      ...(ackAt ? { acknowledgedAt: ackAt, timeToAcknowledgeSeconds: seconds(incident.createdAt, ackAt)!, acknowledgedWithinTarget: ackAt <= respondBy } : {}),
      ...(ackBy ? { acknowledgedBy: ackBy } : {}),
      ...(resolvedAt ? { resolvedAt, timeToResolveSeconds: seconds(incident.createdAt, resolvedAt)!, resolvedWithinTarget: resolvedAt <= respondBy } : {}),
      ...(lastOf('resolved') ? { resolvedBy: lastOf('resolved')!.by } : {}),
      slaBreached: timeline.some((t) => t.type === 'sla_breached'),
      escalationSteps: timeline
        .filter((t) => t.type === 'escalation_step')
        .map((t) => ({ at: t.at, step: t.detail.step ?? '', round: t.detail.round ?? '1', notify: t.detail.notify ?? '', target: t.detail.target ?? '' })),
    },
    timeline,
    notes: timeline.filter((t) => t.type === 'note').map((t) => ({ at: t.at, by: t.by, text: t.detail.text ?? '', source: t.detail.source ?? 'command' })),
    actions: foldActions(audit),
    audit,
    sections: { whatWentWell: [], whatWentWrong: [], actionItems: [] },
  };
}

const fmtDuration = (s?: number) => {
  if (s === undefined) return 'n/a';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h ? `${h}h ${m}m ${sec}s` : m ? `${m}m ${sec}s` : `${sec}s`;
};
/** People are Slack ids in the record; the document shows them as Slack mentions text (`@U0ALICE`). */
const who = (by: string) => (/^[UW][A-Z0-9]+$/.test(by) ? `@${by}` : by);
/** One line of Markdown: no line breaks or table pipes from the record can break the layout. */
const inline = (s: string) => s.replace(/\r?\n/g, ' ').replace(/\|/g, '\\|');

export function renderMarkdown(pm: Postmortem): string {
  const r = pm.response;
  const lines: string[] = [
    `# Post-mortem: ${pm.incident.id} ${inline(pm.incident.title)}`,
    '',
    `Generated ${pm.generatedAt} from the incident's timeline and the ops audit. State: ${pm.incident.state}.`,
    '',
    '## Summary',
    '',
    pm.summary,
    '',
    '## Impact',
    '',
    `- Priority: ${pm.impact.priority} (${inline(pm.incident.priorityRule)})`,
    `- Started: ${pm.impact.startedAt}`,
    `- Ended: ${pm.impact.endedAt ?? 'not resolved yet'}`,
    `- Duration: ${fmtDuration(pm.impact.durationSeconds)}`,
    `- Services: ${pm.impact.services.join(', ') || 'n/a'}`,
    `- Alerts: ${pm.impact.alertCount}`,
    `- Affected instances: ${pm.impact.affectedInstances.join(', ') || 'n/a'}`,
    '',
    '## Detection',
    '',
    `- First alert: ${pm.detection.firstAlert ? `${pm.detection.firstAlert.alertname} at ${pm.detection.firstAlertAt}` : pm.detection.firstAlertAt}`,
    `- Incident opened: ${pm.detection.openedAt}`,
    `- Source: ${pm.detection.sourceUrl ?? 'n/a'}`,
    ...(pm.incident.links.runbook ? [`- Runbook: ${pm.incident.links.runbook}`] : []),
    '',
    '## Response',
    '',
    `- Target (${pm.impact.priority}): respond within ${r.responseTime}, by ${r.respondBy}`,
    `- Time to acknowledge: ${fmtDuration(r.timeToAcknowledgeSeconds)}${r.acknowledgedBy ? ` by ${who(r.acknowledgedBy)}` : ''}${r.acknowledgedWithinTarget === undefined ? '' : r.acknowledgedWithinTarget ? ' (within target)' : ' (MISSED target)'}`,
    `- Time to resolve: ${fmtDuration(r.timeToResolveSeconds)}${r.resolvedBy ? ` by ${who(r.resolvedBy)}` : ''}${r.resolvedWithinTarget === undefined ? '' : r.resolvedWithinTarget ? ' (within target)' : ' (past target)'}`,
    `- SLA breached: ${r.slaBreached ? 'yes' : 'no'}`,
    `- Escalation steps fired: ${r.escalationSteps.length}`,
    ...r.escalationSteps.map((s) => `  - ${s.at} step ${s.step} (round ${s.round}): ${inline(s.notify)}${s.target ? ` → ${inline(s.target)}` : ''}`),
    '',
    '## Timeline',
    '',
    '| Time (UTC) | Who | What |',
    '|---|---|---|',
    ...pm.timeline.map((t) => `| ${t.at} | ${inline(who(t.by))} | ${inline(t.text)} |`),
    '',
    '## Actions taken',
    '',
    ...(pm.actions.length
      ? pm.actions.map((a) => `- ${a.requestedAt} ${a.action}${a.target ? ` ${inline(a.target)}` : ''}, asked by ${who(a.requestedBy)}${a.approvedBy ? `, approved by ${who(a.approvedBy)}` : ''}: **${a.outcome}**${a.result ? `: ${inline(a.result)}` : ''}`)
      : ['None recorded.']),
    '',
    '## Audit extract',
    '',
    ...(pm.audit.length ? pm.audit.map((e) => `- #${e.seq} ${e.at} ${e.kind} ${e.action ?? ''} by ${who(e.actor)}${e.outcome ? ` (${e.outcome})` : ''} \`${e.hash.slice(0, 12)}\``) : ['No audit entries for this incident.']),
    '',
    '## What went well',
    '',
    '- ',
    '',
    '## What went wrong',
    '',
    '- ',
    '',
    '## Action items',
    '',
    '- [ ] ',
    '',
  ];
  return lines.join('\n');
}
