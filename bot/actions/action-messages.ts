import type { ActionName } from '../../lib/action-catalog';
import { formatDuration } from '../../lib/duration';
import { escapeMrkdwn } from '../../lib/slack-text';

/** Action ids of the buttons the action flow posts. */
export const FlowActionId = {
  Confirm: 'action_confirm',
  Cancel: 'action_cancel',
  Approve: 'action_approve',
} as const;

type Block = Record<string, unknown>;

/** "restart of mcp-server", "block of 10.0.0.7 for 1h": what a request does, in words (escaped for mrkdwn). */
export function describeAction(action: ActionName, params: Record<string, unknown>): string {
  const p = params as Record<string, string | number | undefined>;
  const text = (() => {
    switch (action) {
      case 'health_check':
        return `health check (${p.mode ?? 'full'})`;
      case 'query_prometheus':
        return `Prometheus query \`${String(p.query).slice(0, 200)}\``;
      case 'restart':
      case 'rollback':
        return `${action} of ${p.service}`;
      case 'deploy':
        return `deploy of ${p.service} ${p.version}`;
      case 'scale':
        return `scale of ${p.service} to ${p.replicas}`;
      case 'block_ip':
        return `block of ${p.address} for ${formatDuration(Number(p.ttlSeconds) * 1000)} (${p.reason})`;
      case 'unblock_ip':
        return `unblock of ${p.address}`;
      case 'backup':
        return `backup of ${p.kind}`;
      case 'verify_backup':
        return `verification of backup ${p.id}`;
      case 'restore':
        return `restore of backup ${p.id}`;
      case 'maintenance':
        return p.mode === 'on' ? `maintenance on for ${formatDuration(Number(p.durationSeconds) * 1000)}${p.reason ? ` (${p.reason})` : ''}` : 'maintenance off';
      case 'reset_circuit_breaker':
        return `reset of the ${p.service} circuit breaker`;
      case 'collect_evidence':
        return 'evidence collection';
      case 'security_report':
        return 'security report';
      case 'list_blocked_ips':
        return 'list of blocked addresses';
    }
  })();
  return escapeMrkdwn(text);
}

const plain = (text: string) => ({ type: 'plain_text', text, emoji: true });

/** The ephemeral prompt of a dangerous action: Confirm (with Slack's confirm dialog) or Cancel. Values carry only the request id. */
export function confirmBlocks(requestId: string, what: string, where: string): Block[] {
  return [
    { type: 'section', text: { type: 'mrkdwn', text: `⚠️ *${what}*${where}. This changes production: confirm to run it.` } },
    {
      type: 'actions',
      block_id: 'action-confirm',
      elements: [
        {
          type: 'button',
          action_id: FlowActionId.Confirm,
          text: plain('Confirm'),
          style: 'danger',
          value: requestId,
          confirm: {
            title: plain('Run it?'),
            text: { type: 'mrkdwn', text: `${what.slice(0, 250)}${where}` },
            confirm: plain('Run it'),
            deny: plain('Not now'),
            style: 'danger',
          },
        },
        { type: 'button', action_id: FlowActionId.Cancel, text: plain('Cancel'), value: requestId },
      ],
    },
  ];
}

/** The thread message asking a second person to approve. */
export function approvalBlocks(requestId: string, text: string): Block[] {
  return [
    { type: 'section', text: { type: 'mrkdwn', text } },
    {
      type: 'actions',
      block_id: 'action-approve',
      elements: [
        {
          type: 'button',
          action_id: FlowActionId.Approve,
          text: plain('Approve'),
          style: 'primary',
          value: requestId,
          confirm: {
            title: plain('Approve it?'),
            text: { type: 'mrkdwn', text: text.slice(0, 290) },
            confirm: plain('Approve'),
            deny: plain('Not now'),
          },
        },
      ],
    },
  ];
}

/** "40 s ago", "3 min ago". */
export function ago(fromIso: string, now: Date): string {
  const s = Math.max(0, Math.round((now.getTime() - Date.parse(fromIso)) / 1000));
  return s < 120 ? `${s} s ago` : `${Math.round(s / 60)} min ago`;
}
