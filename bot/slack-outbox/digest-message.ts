import type { KnownBlock } from '@slack/web-api';
import { clip, escapeMrkdwn } from '../../lib/slack-text';
import type { Incident } from '../incidents/incident-store';

const ICON: Record<string, string> = { P1: '🔴', P2: '🟠', P3: '🟡', P4: '🔵' };
const STATE: Record<string, string> = { triggered: '🚨 triggered', acknowledged: '👀 acknowledged', snoozed: '😴 snoozed', resolved: '✅ resolved' };
/** Slack's limit on a section's text; lines are packed into sections under it. */
const SECTION_MAX = 3000;
const TITLE_MAX = 120;

const idNumber = (id: string) => Number(id.replace(/^INC-/, '')) || 0;

/** One incident's line: priority, id, title, firing and resolved counts, state, owner. */
export function digestLine(incident: Incident): string {
  const icon = incident.state === 'resolved' ? '✅' : (ICON[incident.priority] ?? '⚪');
  const owner = incident.owner ? ` · <@${incident.owner}>` : '';
  return (
    `${icon} *${incident.priority}* · *${incident.id}* · ${escapeMrkdwn(clip(incident.title, TITLE_MAX))}` +
    ` — ${incident.firing} firing, ${incident.resolved} resolved · ${STATE[incident.state] ?? incident.state}${owner}`
  );
}

/**
 * A storm digest: the incidents that arrived too fast for a message each,
 * P1 first. Edited in place as they change and as more join, up to the digest
 * size; past it the next incidents start another digest message.
 */
export function renderDigest(incidents: Incident[], thresholdPerMinute: number): { text: string; blocks: KnownBlock[] } {
  const sorted = [...incidents].sort((a, b) => a.priority.localeCompare(b.priority) || idNumber(a.id) - idNumber(b.id));
  const open = sorted.filter((i) => i.state !== 'resolved').length;
  const blocks: KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: `🌩️ Alert storm: ${sorted.length} incidents, ${open} open`, emoji: true } },
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text:
          `More than ${thresholdPerMinute} new incidents a minute arrived in this channel, so these are listed here instead of one message each. ` +
          'Updates about them are replies in this thread, each starting with its incident id. `/ops ack INC-n`, `/ops resolve INC-n` and the other `/ops` verbs work as usual.',
      },
    },
  ];
  for (const section of packLines(sorted.map(digestLine))) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: section } });
  const updated = Math.floor(Date.now() / 1000);
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `Updated <!date^${updated}^{time_secs}|${new Date(updated * 1000).toISOString()}>` }] });
  // The fallback text (notifications, search) names every incident listed.
  const text = `Alert storm digest (${sorted.length} incidents): ${sorted.map((i) => `[${i.priority}] ${i.id}`).join(', ')}`;
  return { text, blocks };
}

/** Joins lines into as few section texts as fit under Slack's limit. */
function packLines(lines: string[]): string[] {
  const out: string[] = [];
  let current = '';
  for (const raw of lines) {
    const line = clip(raw, SECTION_MAX);
    if (current && current.length + 1 + line.length > SECTION_MAX) {
      out.push(current);
      current = '';
    }
    current = current ? `${current}\n${line}` : line;
  }
  if (current) out.push(current);
  return out;
}
