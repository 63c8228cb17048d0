import crypto from 'node:crypto';
import { z } from 'zod';
import { signedSlackHeaders } from '../../lib/slack-signature';
import { deliver, triggerId, VERIFICATION_TOKEN, type DeliveryOptions, type DeliveryResult } from './delivery';
import { issueResponseUrl } from './respond';
import { SANDBOX_BOT, SANDBOX_TEAM } from './seed';
import type { SlackState } from './state';
import type { SandboxChannel, SandboxUser, StoredMessage } from './types';
import type { PersonActionDeps, PersonActionResult } from './person-actions';
import { toWireMessage } from './wire';

/**
 * What a person does that Slack reports to the app as an Events API event or
 * a shortcut: adding a reaction (`reaction_added`, JSON `event_callback`) and
 * running a message shortcut (`message_action`, form `payload=`). Both are
 * signed like every other delivery.
 */
export const ReactRequestSchema = z.object({
  user: z.string().min(1),
  channel: z.string().min(1),
  ts: z.string().regex(/^\d+\.\d+$/, 'must be a Slack ts'),
  name: z.string().regex(/^[a-z0-9_+'-]+$/, 'an emoji name without colons'),
});
export type ReactRequest = z.input<typeof ReactRequestSchema>;

export const ShortcutRequestSchema = z.object({
  user: z.string().min(1),
  channel: z.string().min(1),
  ts: z.string().regex(/^\d+\.\d+$/, 'must be a Slack ts'),
  callback_id: z.string().min(1),
});
export type ShortcutRequest = z.input<typeof ShortcutRequestSchema>;

export const PostRequestSchema = z.object({
  user: z.string().min(1),
  channel: z.string().min(1),
  // Slack's own limit on a message's text.
  text: z.string().trim().min(1, 'must not be empty').max(40_000),
  thread_ts: z.string().regex(/^\d+\.\d+$/, 'must be a Slack ts').optional(),
});
export type PostRequest = z.input<typeof PostRequestSchema>;

async function deliverJson(options: DeliveryOptions, payload: unknown): Promise<DeliveryResult> {
  const body = JSON.stringify(payload);
  try {
    const res = await fetch(options.requestUrl, {
      method: 'POST',
      headers: { ...signedSlackHeaders(options.signingSecret, body), 'Content-Type': 'application/json', 'User-Agent': 'Slackbot 1.0 (+https://api.slack.com/robots)' },
      body,
      signal: AbortSignal.timeout(options.timeoutMs),
      redirect: 'error',
    });
    return { status: res.status, body: await res.text() };
  } catch (err) {
    return { status: 0, body: '', error: 'delivery_failed', reason: (err as Error).message };
  }
}

type Resolved = { user: SandboxUser; channel: SandboxChannel; message: StoredMessage };

function resolve(state: SlackState, userRef: string, channelRef: string, ts: string): Resolved | PersonActionResult {
  const user = state.resolveUser(userRef);
  if (!user || user.isBot) return { ok: false, httpStatus: 404, error: 'user_not_found', reason: `no user "${userRef}"` };
  const channel = state.resolveChannel(channelRef, true);
  if (!channel) return { ok: false, httpStatus: 404, error: 'channel_not_found', reason: `no channel "${channelRef}"` };
  const message = state.findMessage(channel.id, ts);
  if (!message || message.tombstone) return { ok: false, httpStatus: 404, error: 'message_not_found', reason: `no message ${ts} in ${channel.id}` };
  return { user, channel, message };
}

const result = (r: DeliveryResult): PersonActionResult =>
  r.error ? { ok: false, httpStatus: 504, error: r.error, reason: r.reason ?? r.error, status: r.status, body: r.body } : { ok: true, ...r };

/** A person adds a reaction: it is stored on the message, and `reaction_added` is delivered to the app. */
export async function runReact(deps: PersonActionDeps, request: ReactRequest): Promise<PersonActionResult> {
  const req = ReactRequestSchema.parse(request);
  const found = resolve(deps.state, req.user, req.channel, req.ts);
  if ('ok' in found) return found;
  const { user, channel, message } = found;
  let reaction = message.reactions.find((r) => r.name === req.name);
  if (reaction?.users.includes(user.id)) return { ok: false, httpStatus: 409, error: 'already_reacted', reason: `${user.name} already reacted with ${req.name}` };
  if (!reaction) {
    reaction = { name: req.name, users: [], count: 0 };
    message.reactions.push(reaction);
  }
  reaction.users.push(user.id);
  reaction.count = reaction.users.length;
  const eventTs = deps.state.nextTs();
  return result(
    await deliverJson(deps.delivery, {
      token: VERIFICATION_TOKEN,
      team_id: SANDBOX_TEAM.id,
      api_app_id: SANDBOX_BOT.appId,
      event: { type: 'reaction_added', user: user.id, reaction: req.name, item: { type: 'message', channel: channel.id, ts: req.ts }, item_user: message.user, event_ts: eventTs },
      type: 'event_callback',
      event_id: `Ev${crypto.randomBytes(5).toString('hex').toUpperCase()}`,
      event_time: Math.floor(Date.now() / 1000),
      authorizations: [{ team_id: SANDBOX_TEAM.id, user_id: SANDBOX_BOT.userId, is_bot: true }],
    }),
  );
}

function eventCallback(event: Record<string, unknown>): Record<string, unknown> {
  return {
    token: VERIFICATION_TOKEN,
    team_id: SANDBOX_TEAM.id,
    api_app_id: SANDBOX_BOT.appId,
    event,
    type: 'event_callback',
    event_id: `Ev${crypto.randomBytes(5).toString('hex').toUpperCase()}`,
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [{ team_id: SANDBOX_TEAM.id, user_id: SANDBOX_BOT.userId, is_bot: true }],
  };
}

/**
 * A person posts a plain message (into a thread with `thread_ts`): it is stored
 * as theirs, and the app gets a signed `message` event_callback, as an app
 * subscribed to `message.channels` does. The message stays posted whether or
 * not the app answers; the answer says what the delivery got.
 */
export async function runPost(
  deps: PersonActionDeps,
  request: PostRequest,
): Promise<{ ok: true; ts: string; event: DeliveryResult } | Extract<PersonActionResult, { ok: false }>> {
  const req = PostRequestSchema.parse(request);
  const user = deps.state.resolveUser(req.user);
  if (!user || user.isBot) return { ok: false, httpStatus: 404, error: 'user_not_found', reason: `no user "${req.user}"` };
  const channel = deps.state.resolveChannel(req.channel, true);
  if (!channel) return { ok: false, httpStatus: 404, error: 'channel_not_found', reason: `no channel "${req.channel}"` };
  const parent = req.thread_ts ? deps.state.findMessage(channel.id, req.thread_ts) : undefined;
  if (req.thread_ts && !parent) return { ok: false, httpStatus: 404, error: 'thread_not_found', reason: `no message ${req.thread_ts} in ${channel.id}` };
  const threadTs = parent ? (parent.threadTs ?? parent.ts) : undefined;
  const ts = deps.state.nextTs();
  deps.state.addMessage({ ts, channel: channel.id, user: user.id, text: req.text, threadTs, reactions: [] });
  const event: Record<string, unknown> = { type: 'message', channel: channel.id, user: user.id, text: req.text, ts, team: SANDBOX_TEAM.id, event_ts: ts, channel_type: channel.isIm ? 'im' : 'channel' };
  if (threadTs) event.thread_ts = threadTs;
  return { ok: true, ts, event: await deliverJson(deps.delivery, eventCallback(event)) };
}

/** A person runs a message shortcut: a `message_action` payload with the whole message and a response_url. */
export async function runShortcut(deps: PersonActionDeps, request: ShortcutRequest): Promise<PersonActionResult> {
  const req = ShortcutRequestSchema.parse(request);
  const found = resolve(deps.state, req.user, req.channel, req.ts);
  if ('ok' in found) return found;
  const { user, channel, message } = found;
  const responseUrl = issueResponseUrl(deps.state, deps.baseUrl(), { kind: 'command', channel: channel.id, user: user.id });
  const payload = {
    type: 'message_action',
    token: VERIFICATION_TOKEN,
    action_ts: deps.state.nextTs(),
    team: { id: SANDBOX_TEAM.id, domain: SANDBOX_TEAM.domain },
    user: { id: user.id, name: user.name, username: user.name, team_id: SANDBOX_TEAM.id },
    channel: { id: channel.id, name: channel.isIm ? 'directmessage' : channel.name },
    is_enterprise_install: false,
    enterprise: null,
    callback_id: req.callback_id,
    trigger_id: triggerId(),
    response_url: responseUrl,
    message_ts: req.ts,
    message: toWireMessage(deps.state, message),
  };
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  return result(await deliver(deps.delivery, body));
}
