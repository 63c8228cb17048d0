import type { KnownBlock } from '@slack/web-api';
import type { Incident } from './incident-store';

/** Action ids of the buttons in an incident's root message. Listeners match on these. */
export const ActionId = {
  HealthCheck: 'runbook_health_check',
} as const;

const PRIORITY_ICON: Record<string, string> = { P1: '🔴', P2: '🟠', P3: '🟡', P4: '🔵' };
const STATE_LABEL: Record<string, string> = {
  triggered: '🚨 Triggered',
  acknowledged: '👀 Acknowledged',
  resolved: '✅ Resolved',
};

type Block = KnownBlock;

/** Slack caps: header 150 chars, section text 3000. Truncate rather than be refused. */
function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Slack mrkdwn needs &, < and > escaped in user-provided text. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function links(incident: Incident): string[] {
  const out: string[] = [];
  if (incident.generatorURL) out.push(`<${incident.generatorURL}|Source>`);
  if (incident.runbookUrl) out.push(`<${incident.runbookUrl}|Runbook>`);
  if (incident.labels.grafana_url) out.push(`<${incident.labels.grafana_url}|Grafana>`);
  if (incident.externalURL) {
    const matchers = Object.entries(incident.labels)
      .filter(([k]) => k === 'alertname' || k === 'service' || k === 'job')
      .map(([k, v]) => `${k}="${v}"`)
      .join(',');
    out.push(`<${incident.externalURL}/#/silences/new?filter=${encodeURIComponent(`{${matchers}}`)}|Silence>`);
  }
  return out;
}

/** The plain-text fallback Slack shows in notifications and search. */
export function incidentText(incident: Incident): string {
  return clip(
    `[${incident.priority}] ${incident.title}: ${incident.summary} (${incident.id}, ${incident.state})`,
    3000,
  );
}

/** The root message of an incident thread; edited in place as the incident changes. */
export function renderIncidentBlocks(incident: Incident): Block[] {
  const resolved = incident.state === 'resolved';
  const icon = resolved ? '✅' : (PRIORITY_ICON[incident.priority] ?? '⚪');
  const blocks: Block[] = [
    {
      type: 'header',
      text: { type: 'plain_text', text: clip(`${icon} ${incident.priority} · ${incident.title}`, 150), emoji: true },
    },
    {
      type: 'section',
      text: { type: 'mrkdwn', text: clip(escapeMrkdwn(incident.summary || incident.title), 3000) },
      fields: [
        { type: 'mrkdwn', text: `*Incident*\n${incident.id}` },
        { type: 'mrkdwn', text: `*State*\n${STATE_LABEL[incident.state] ?? incident.state}` },
        { type: 'mrkdwn', text: `*Priority*\n${incident.priority} (${escapeMrkdwn(incident.priorityRule)})` },
        { type: 'mrkdwn', text: `*Alerts*\n${incident.firing} firing, ${incident.resolved} resolved` },
        { type: 'mrkdwn', text: `*Owner*\n${incident.owner ? `<@${incident.owner}>` : '—'}` },
        { type: 'mrkdwn', text: `*Opened*\n<!date^${Math.floor(Date.parse(incident.createdAt) / 1000)}^{date_short_pretty} {time}|${incident.createdAt}>` },
      ],
    },
  ];
  const linkList = links(incident);
  if (linkList.length) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: linkList.join(' · ') }] });
  blocks.push({
    type: 'actions',
    block_id: `incident-actions`,
    elements: [
      {
        type: 'button',
        action_id: ActionId.HealthCheck,
        text: { type: 'plain_text', text: '🩺 Health check', emoji: true },
        value: incident.id,
      },
    ],
  });
  return blocks;
}
