import crypto from 'node:crypto';
import type { Logger } from '../../lib/logger';
import { signedSlackHeaders } from '../../lib/slack-signature';
import { findAction } from './block-kit';
import { SANDBOX_BOT, SANDBOX_TEAM } from './seed';
import type { SlackState } from './state';
import type { SandboxChannel, SandboxUser } from './types';
import { toWireMessage } from './wire';

/** The legacy verification token Slack still puts in every payload. Bolt ignores it. */
export const VERIFICATION_TOKEN = 'sandboxverificationtoken';

export interface DeliveryResult {
  /** The bot's HTTP status; 0 when it did not answer in time or could not be reached. */
  status: number;
  /** The bot's response body: parsed JSON when it is JSON, else the text ('' when empty). */
  body: unknown;
  error?: 'operation_timeout' | 'delivery_failed';
  reason?: string;
}

export interface DeliveryOptions {
  requestUrl: string;
  signingSecret: string;
  timeoutMs: number;
  logger?: Logger;
}

/** POSTs a form body to the bot, signed exactly as Slack signs (v0 HMAC over "v0:ts:body"). */
export async function deliver(options: DeliveryOptions, body: string): Promise<DeliveryResult> {
  try {
    const res = await fetch(options.requestUrl, {
      method: 'POST',
      headers: { ...signedSlackHeaders(options.signingSecret, body), 'User-Agent': 'Slackbot 1.0 (+https://api.slack.com/robots)' },
      body,
      signal: AbortSignal.timeout(options.timeoutMs),
      redirect: 'error',
    });
    const text = await res.text();
    let parsed: unknown = text;
    if (text !== '' && (res.headers.get('content-type') ?? '').includes('json')) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    return { status: res.status, body: parsed };
  } catch (err) {
    const e = err as Error;
    options.logger?.warn({ requestUrl: options.requestUrl, err: e.message }, 'slack sandbox could not deliver to the bot');
    if (e.name === 'TimeoutError' || e.name === 'AbortError') {
      return { status: 0, body: '', error: 'operation_timeout', reason: `the bot did not answer within ${options.timeoutMs} ms` };
    }
    const cause = (e as { cause?: Error }).cause?.message;
    return { status: 0, body: '', error: 'delivery_failed', reason: cause ? `${e.message}: ${cause}` : e.message };
  }
}

/** Slack's trigger ids look like "13345224609.738474920.8088930838d88f008e0". */
export function triggerId(): string {
  return `${Date.now()}.${crypto.randomInt(1e8, 1e9)}.${crypto.randomBytes(12).toString('hex')}`;
}

/** The form body of a slash command, fields in the order Slack sends them. */
export function slashCommandBody(p: {
  user: SandboxUser;
  channel: SandboxChannel;
  command: string;
  text: string;
  responseUrl: string;
}): string {
  return new URLSearchParams({
    token: VERIFICATION_TOKEN,
    team_id: SANDBOX_TEAM.id,
    team_domain: SANDBOX_TEAM.domain,
    channel_id: p.channel.id,
    channel_name: p.channel.isIm ? 'directmessage' : p.channel.name,
    user_id: p.user.id,
    user_name: p.user.name,
    command: p.command,
    text: p.text,
    api_app_id: SANDBOX_BOT.appId,
    is_enterprise_install: 'false',
    response_url: p.responseUrl,
    trigger_id: triggerId(),
  }).toString();
}

export type ClickSource =
  | { kind: 'message'; ts: string; blocks: unknown[] | undefined; threadTs?: string }
  | { kind: 'ephemeral'; ts: string; blocks: unknown[] | undefined; threadTs?: string };

/**
 * A `block_actions` interaction payload for a click on `actionId`, or a reason
 * why there is nothing to click. Sent as the form field `payload=<JSON>`.
 */
export function blockActionsBody(
  state: SlackState,
  p: { user: SandboxUser; channel: SandboxChannel; source: ClickSource; actionId: string; value?: string; responseUrl: string },
): { body: string; payload: Record<string, unknown> } | { reason: string; error?: 'option_not_found' } {
  const found = findAction(p.source.blocks, p.actionId);
  if (!found) return { reason: `no element with action_id "${p.actionId}" in message ${p.source.ts}` };
  const { element, blockId } = found;
  const actionTs = state.nextTs();
  const action: Record<string, unknown> = { action_id: p.actionId, block_id: blockId, type: element.type, action_ts: actionTs };
  if (element.type === 'button') {
    action.text = element.text;
    action.value = p.value ?? element.value;
    if (element.style) action.style = element.style;
  } else if (element.type === 'static_select') {
    // Slack sends the option the person chose, as the message defines it.
    const groups = Array.isArray(element.option_groups) ? (element.option_groups as { options?: unknown[] }[]).flatMap((g) => g.options ?? []) : [];
    const options = [...(Array.isArray(element.options) ? element.options : []), ...groups] as { value?: unknown }[];
    const chosen = options.find((o) => o.value === p.value);
    if (!chosen) return { error: 'option_not_found', reason: `no option with value "${p.value ?? ''}" in "${p.actionId}" (values: ${options.map((o) => String(o.value)).join(', ')})` };
    action.selected_option = chosen;
    if (element.placeholder) action.placeholder = element.placeholder;
  } else if (p.value !== undefined) {
    action.selected_option = { text: { type: 'plain_text', text: p.value }, value: p.value };
  }
  const payload: Record<string, unknown> = {
    type: 'block_actions',
    user: { id: p.user.id, username: p.user.name, name: p.user.name, team_id: SANDBOX_TEAM.id },
    api_app_id: SANDBOX_BOT.appId,
    token: VERIFICATION_TOKEN,
    container: { type: 'message', message_ts: p.source.ts, channel_id: p.channel.id, is_ephemeral: p.source.kind === 'ephemeral' },
    trigger_id: triggerId(),
    team: { id: SANDBOX_TEAM.id, domain: SANDBOX_TEAM.domain },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: p.channel.id, name: p.channel.isIm ? 'directmessage' : p.channel.name },
    state: { values: {} },
    response_url: p.responseUrl,
    actions: [action],
  };
  // Slack sends the whole message for channel messages; an ephemeral one has none to send.
  if (p.source.kind === 'message') {
    const stored = state.findMessage(p.channel.id, p.source.ts);
    if (stored) payload.message = toWireMessage(state, stored);
  }
  return { body: new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), payload };
}
