import crypto from 'node:crypto';
import { z } from 'zod';
import { SlackApiFailure } from './methods/api-context';
import { readContent } from './methods/message-content';
import { SANDBOX_BOT } from './seed';
import type { ResponseTarget, SlackState } from './state';
import type { EphemeralMessage } from './types';

/** Slack lets a response_url be used 5 times within 30 minutes. */
export const RESPONSE_URL_MAX_USES = 5;
export const RESPONSE_URL_TTL_MS = 30 * 60_000;

export function issueResponseUrl(
  state: SlackState,
  baseUrl: string,
  target: Omit<ResponseTarget, 'createdAt' | 'uses'>,
): string {
  const id = `${SANDBOX_BOT.appId}-${crypto.randomBytes(12).toString('hex')}`;
  state.responseTargets.set(id, { ...target, createdAt: Date.now(), uses: 0 });
  return `${baseUrl}/_sandbox/respond/${id}`;
}

const flag = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]).optional();

/** What a response_url (or a command's ack body) may carry. */
export const ResponseBodySchema = z.looseObject({
  text: z.string().optional(),
  blocks: z.unknown().optional(),
  attachments: z.unknown().optional(),
  response_type: z.enum(['ephemeral', 'in_channel']).optional(),
  replace_original: flag,
  delete_original: flag,
  thread_ts: z.string().optional(),
});
export type ResponseBody = z.infer<typeof ResponseBodySchema>;

export type RespondOutcome = { ok: true; ts?: string } | { ok: false; status: number; error: string; errors?: string[] };

export function useResponseUrl(state: SlackState, id: string, raw: unknown): RespondOutcome {
  const target = state.responseTargets.get(id);
  if (!target) return { ok: false, status: 404, error: 'no_such_url' };
  if (Date.now() - target.createdAt > RESPONSE_URL_TTL_MS) return { ok: false, status: 404, error: 'expired_url' };
  if (target.uses >= RESPONSE_URL_MAX_USES) return { ok: false, status: 404, error: 'used_url' };
  const parsed = ResponseBodySchema.safeParse(raw);
  if (!parsed.success) return { ok: false, status: 400, error: 'invalid_payload', errors: parsed.error.issues.map((i) => i.message) };
  target.uses += 1;
  return applyResponse(state, target, parsed.data, 'response_url');
}

/**
 * Applies a response as Slack does. For a click, a response that names no
 * response_type replaces the message clicked (set replace_original: false to
 * post a new one); delete_original removes it. Otherwise in_channel posts to
 * the channel as the app, and ephemeral (the default) shows only to the user.
 */
export function applyResponse(state: SlackState, target: ResponseTarget, body: ResponseBody, source: EphemeralMessage['source']): RespondOutcome {
  let content;
  try {
    content = readContent(body, { required: body.delete_original !== true });
  } catch (err) {
    if (err instanceof SlackApiFailure) return { ok: false, status: 400, error: err.error, errors: err.extra.errors as string[] | undefined };
    throw err;
  }
  const fromClick = target.kind === 'interaction' && target.messageTs !== undefined;
  if (fromClick && body.delete_original === true) {
    deleteSource(state, target);
    if (content.text === undefined && content.blocks === undefined) return { ok: true };
  }
  const replace = fromClick && body.delete_original !== true && (body.replace_original ?? body.response_type === undefined);
  if (replace) return replaceSource(state, target, content);
  const threadTs = body.thread_ts ?? target.threadTs;
  if (body.response_type === 'in_channel') {
    const message = state.addMessage({
      ts: state.nextTs(),
      channel: target.channel,
      user: SANDBOX_BOT.userId,
      botId: SANDBOX_BOT.botId,
      appId: SANDBOX_BOT.appId,
      text: content.text ?? '',
      blocks: content.blocks,
      attachments: content.attachments,
      threadTs: threadTs && state.findMessage(target.channel, threadTs) ? threadTs : undefined,
      reactions: [],
    });
    return { ok: true, ts: message.ts };
  }
  const ts = state.nextTs();
  state.ephemerals.push({ ts, channel: target.channel, user: target.user, text: content.text ?? '', blocks: content.blocks, threadTs, source });
  return { ok: true, ts };
}

function deleteSource(state: SlackState, target: ResponseTarget): void {
  if (target.isEphemeral) {
    const i = state.ephemerals.findIndex((e) => e.ts === target.messageTs && e.channel === target.channel);
    if (i >= 0) state.ephemerals.splice(i, 1);
    return;
  }
  const message = state.findMessage(target.channel, target.messageTs!);
  if (!message) return;
  if (message.threadTs === undefined && state.threadReplies(target.channel, message.ts).length > 0) message.tombstone = true;
  else state.removeMessage(target.channel, message.ts);
}

/** Replacing swaps the whole content (text, blocks, attachments), keeping ts and thread. */
function replaceSource(state: SlackState, target: ResponseTarget, content: ReturnType<typeof readContent>): RespondOutcome {
  if (target.isEphemeral) {
    const eph = state.ephemerals.find((e) => e.ts === target.messageTs && e.channel === target.channel);
    if (!eph) return { ok: false, status: 404, error: 'message_not_found' };
    eph.text = content.text ?? '';
    eph.blocks = content.blocks;
    return { ok: true, ts: eph.ts };
  }
  const message = state.findMessage(target.channel, target.messageTs!);
  if (!message || message.tombstone) return { ok: false, status: 404, error: 'message_not_found' };
  message.text = content.text ?? '';
  message.blocks = content.blocks;
  message.attachments = content.attachments;
  return { ok: true, ts: message.ts };
}
