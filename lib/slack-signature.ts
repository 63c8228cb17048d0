import crypto from 'node:crypto';

/**
 * Slack's request signing (v0): HMAC-SHA256 over `v0:{timestamp}:{body}`.
 * The sandbox signs what it delivers with this; Bolt verifies it on the bot side.
 */
export function slackSignature(signingSecret: string, timestamp: number | string, body: string): string {
  const hmac = crypto.createHmac('sha256', signingSecret).update(`v0:${timestamp}:${body}`).digest('hex');
  return `v0=${hmac}`;
}

export function signedSlackHeaders(signingSecret: string, body: string, now = Date.now()): Record<string, string> {
  const timestamp = Math.floor(now / 1000);
  return {
    'Content-Type': 'application/x-www-form-urlencoded',
    'X-Slack-Request-Timestamp': String(timestamp),
    'X-Slack-Signature': slackSignature(signingSecret, timestamp, body),
  };
}
