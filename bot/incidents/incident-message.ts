import type { KnownBlock } from '@slack/web-api';
import { matchersFilter } from '../../lib/alertmanager-silences';
import { incidentMatchers } from './incident-matchers';
import { clip, escapeMrkdwn, link, safeUrl, SLACK_SECTION_MAX } from '../../lib/slack-text';
import type { Incident } from './incident-store';

/** Action ids of the buttons in an incident's root message. Listeners match on these. */
export const ActionId = {
  HealthCheck: 'runbook_health_check',
  Acknowledge: 'incident_ack',
  Unacknowledge: 'incident_unack',
  Resolve: 'incident_resolve',
  Snooze: 'incident_snooze',
  Unsnooze: 'incident_unsnooze',
  Reclassify: 'incident_reclassify',
  Postmortem: 'incident_postmortem',
} as const;

/** The snooze lengths people can pick (buttons and `/ops snooze`), with their labels. */
export const SNOOZE_OPTIONS = [
  ['30m', '30 minutes'],
  ['1h', '1 hour'],
  ['4h', '4 hours'],
] as const;

const PRIORITY_ICON: Record<string, string> = { P1: '🔴', P2: '🟠', P3: '🟡', P4: '🔵' };
const STATE_LABEL: Record<string, string> = {
  triggered: '🚨 Triggered',
  acknowledged: '👀 Acknowledged',
  resolved: '✅ Resolved',
};

type Block = KnownBlock;

function links(incident: Incident): string[] {
  const out = [link(incident.generatorURL, 'Source'), link(incident.runbookUrl, 'Runbook'), link(incident.grafanaUrl, 'Grafana')];
  const external = safeUrl(incident.externalURL);
  if (external) {
    // The same matchers a snooze silences with: every alert of the incident, not only the first.
    const filter = matchersFilter(incidentMatchers(incident));
    out.push(link(`${external.replace(/\/$/, '')}/#/silences/new?filter=${encodeURIComponent(filter)}`, 'Silence'));
  }
  return out.filter((l): l is string => l !== undefined);
}

/** The plain-text fallback Slack shows in notifications and search. */
export function incidentText(incident: Incident): string {
  return clip(
    `[${incident.priority}] ${escapeMrkdwn(incident.title)}: ${escapeMrkdwn(incident.summary)} (${incident.id}, ${incident.state})`,
    SLACK_SECTION_MAX,
  );
}

/**
 * The root message of an incident thread; edited in place as the incident
 * changes. `runbookButtons`: the actions its runbook offers (built by
 * bot/actions/runbook-buttons.ts), in a row of their own while it is open.
 */
export function renderIncidentBlocks(incident: Incident, runbookButtons: Element[] = []): Block[] {
  const resolved = incident.state === 'resolved';
  const icon = resolved ? '✅' : (PRIORITY_ICON[incident.priority] ?? '⚪');
  const blocks: Block[] = [
    {
      type: 'header',
      text: { type: 'plain_text', text: clip(`${icon} ${incident.priority} · ${incident.title}`, 150), emoji: true },
    },
    {
      type: 'section',
      text: { type: 'mrkdwn', text: clip(escapeMrkdwn(incident.summary || incident.title), SLACK_SECTION_MAX) },
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
  blocks.push({ type: 'actions', block_id: 'incident-actions', elements: actionElements(incident) });
  if (runbookButtons.length && !resolved) blocks.push({ type: 'actions', block_id: 'runbook-actions', elements: runbookButtons.slice(0, 25) });
  return blocks;
}

export type Element = Extract<KnownBlock, { type: 'actions' }>['elements'][number];

const button = (actionId: string, text: string, value: string, style?: 'primary' | 'danger'): Element => ({
  type: 'button',
  action_id: actionId,
  text: { type: 'plain_text', text, emoji: true },
  value,
  ...(style ? { style } : {}),
});

const option = (text: string, value: string) => ({ text: { type: 'plain_text' as const, text }, value });

/** The buttons that make sense in the incident's current state. Values carry the incident id. */
function actionElements(incident: Incident): Element[] {
  const id = incident.id;
  const health = button(ActionId.HealthCheck, '🩺 Health check', id);
  if (incident.state === 'resolved') return [button(ActionId.Postmortem, '📝 Post-mortem', id, 'primary'), health];
  const out: Element[] = [];
  if (incident.state === 'acknowledged') out.push(button(ActionId.Unacknowledge, '↩️ Unacknowledge', id));
  else out.push(button(ActionId.Acknowledge, '👀 Acknowledge', id, 'primary'));
  out.push(button(ActionId.Resolve, '✅ Resolve', id));
  if (incident.state === 'snoozed') out.push(button(ActionId.Unsnooze, '⏰ Unsnooze', id));
  else
    out.push({
      type: 'static_select',
      action_id: ActionId.Snooze,
      placeholder: { type: 'plain_text', text: '😴 Snooze' },
      options: SNOOZE_OPTIONS.map(([v, label]) => option(label, `${id}|${v}`)),
    });
  out.push({
    type: 'static_select',
    action_id: ActionId.Reclassify,
    placeholder: { type: 'plain_text', text: '🏷️ Reclassify' },
    options: (['P1', 'P2', 'P3', 'P4'] as const).filter((p) => p !== incident.priority).map((p) => option(p, `${id}|${p}`)),
  });
  out.push(health);
  return out;
}
