/**
 * Text helpers for Slack messages built outside the bot (workers' reports,
 * checklists). The bot's incident messages have the same two in
 * bot/incidents/incident-message.ts.
 */

/** Slack mrkdwn needs &, < and > escaped in text that comes from alerts, people or other systems. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Slack caps: header 150 chars, section text 3000. Truncate rather than be refused. */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
