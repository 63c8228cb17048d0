import { z } from 'zod';
import { blockActionsBody, type ClickSource, deliver, type DeliveryOptions, type DeliveryResult, slashCommandBody } from './delivery';
import { applyResponse, issueResponseUrl, ResponseBodySchema } from './respond';
import type { SlackState } from './state';
import type { SandboxChannel, SandboxUser } from './types';

/**
 * Acting as a person: type a slash command or click a button, delivered to
 * the bot as Slack would. Used by the control routes, the web page and tests.
 */
export const CommandRequestSchema = z.object({
  user: z.string().min(1),
  channel: z.string().min(1),
  command: z.string().regex(/^\/[\w-]+$/, 'must look like /ops'),
  text: z.string().default(''),
});
export type CommandRequest = z.input<typeof CommandRequestSchema>;

export const ClickRequestSchema = z.object({
  user: z.string().min(1),
  channel: z.string().min(1),
  ts: z.string().regex(/^\d+\.\d+$/, 'must be a Slack ts'),
  action_id: z.string().min(1),
  value: z.string().optional(),
});
export type ClickRequest = z.input<typeof ClickRequestSchema>;

/** What the control routes answer: the bot's status and body, or why nothing was delivered. */
export type PersonActionResult =
  | ({ ok: true } & DeliveryResult)
  | { ok: false; httpStatus: number; error: string; reason: string; status?: number; body?: unknown };

export interface PersonActionDeps {
  state: SlackState;
  delivery: DeliveryOptions;
  baseUrl: () => string;
}

function who(state: SlackState, userRef: string, channelRef: string): { user: SandboxUser; channel: SandboxChannel } | PersonActionResult {
  const user = state.resolveUser(userRef);
  if (!user || user.isBot) return { ok: false, httpStatus: 404, error: 'user_not_found', reason: `no user "${userRef}"` };
  const channel = state.resolveChannel(channelRef, true);
  if (!channel) return { ok: false, httpStatus: 404, error: 'channel_not_found', reason: `no channel "${channelRef}"` };
  return { user, channel };
}

function outcome(result: DeliveryResult): PersonActionResult {
  if (result.error) return { ok: false, httpStatus: 504, error: result.error, reason: result.reason ?? result.error, status: result.status, body: result.body };
  return { ok: true, ...result };
}

export async function runCommand(deps: PersonActionDeps, request: CommandRequest): Promise<PersonActionResult> {
  const req = CommandRequestSchema.parse(request);
  const found = who(deps.state, req.user, req.channel);
  if ('ok' in found) return found;
  const target = { kind: 'command' as const, channel: found.channel.id, user: found.user.id };
  const responseUrl = issueResponseUrl(deps.state, deps.baseUrl(), target);
  const body = slashCommandBody({ ...found, command: req.command, text: req.text, responseUrl });
  const result = await deliver(deps.delivery, body);
  // A non-empty ack body is Slack's immediate response: shown like a response_url message.
  if (!result.error && result.status === 200 && result.body !== '') {
    const ack = typeof result.body === 'string' ? { text: result.body } : result.body;
    const parsed = ResponseBodySchema.safeParse(ack);
    if (parsed.success && (parsed.data.text !== undefined || parsed.data.blocks !== undefined)) {
      applyResponse(deps.state, { ...target, createdAt: Date.now(), uses: 0 }, parsed.data, 'ack');
    }
  }
  return outcome(result);
}

/** The message a click lands on: a channel message, else an ephemeral one the user sees. */
function clickSource(state: SlackState, channelId: string, userId: string, ts: string): ClickSource | undefined {
  const message = state.findMessage(channelId, ts);
  if (message && !message.tombstone) return { kind: 'message', ts, blocks: message.blocks, threadTs: message.threadTs };
  const eph = state.ephemerals.find((e) => e.channel === channelId && e.user === userId && e.ts === ts);
  if (eph) return { kind: 'ephemeral', ts, blocks: eph.blocks, threadTs: eph.threadTs };
  return undefined;
}

export async function runClick(deps: PersonActionDeps, request: ClickRequest): Promise<PersonActionResult> {
  const req = ClickRequestSchema.parse(request);
  const found = who(deps.state, req.user, req.channel);
  if ('ok' in found) return found;
  const source = clickSource(deps.state, found.channel.id, found.user.id, req.ts);
  if (!source) return { ok: false, httpStatus: 404, error: 'message_not_found', reason: `no message ${req.ts} in ${found.channel.id}` };
  const responseUrl = issueResponseUrl(deps.state, deps.baseUrl(), {
    kind: 'interaction',
    channel: found.channel.id,
    user: found.user.id,
    messageTs: req.ts,
    isEphemeral: source.kind === 'ephemeral',
    threadTs: source.threadTs,
  });
  const built = blockActionsBody(deps.state, { ...found, source, actionId: req.action_id, value: req.value, responseUrl });
  if ('reason' in built) return { ok: false, httpStatus: 404, error: built.error ?? 'action_not_found', reason: built.reason };
  return outcome(await deliver(deps.delivery, built.body));
}
