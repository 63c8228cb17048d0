import { SANDBOX_BOT } from '../seed';
import type { StoredMessage } from '../types';
import { toWireMessage } from '../wire';
import { type ApiContext, type ApiMethod, channelArg, optBool, optJson, optString, reqString, SlackApiFailure } from './api-context';
import { readContent } from './message-content';

/** The parent a reply attaches to: replying to a reply joins its thread, as in Slack. */
function threadParent(ctx: ApiContext, channelId: string, threadTs: string | undefined): string | undefined {
  if (threadTs === undefined) return undefined;
  const target = ctx.state.findMessage(channelId, threadTs);
  if (!target) throw new SlackApiFailure('thread_not_found');
  return target.threadTs ?? target.ts;
}

function botMessage(ctx: ApiContext, channel: string, fields: Partial<StoredMessage>): StoredMessage {
  return ctx.state.addMessage({
    ts: ctx.state.nextTs(),
    channel,
    user: SANDBOX_BOT.userId,
    botId: SANDBOX_BOT.botId,
    appId: SANDBOX_BOT.appId,
    text: '',
    reactions: [],
    ...fields,
  });
}

const postMessage: ApiMethod = (ctx) => {
  const channel = channelArg(ctx, { allowName: true, allowUser: true });
  if (channel.isArchived) throw new SlackApiFailure('is_archived');
  const content = readContent(ctx.args, { required: true });
  const threadTs = threadParent(ctx, channel.id, optString(ctx.args, 'thread_ts'));
  const message = botMessage(ctx, channel.id, {
    text: content.text ?? '',
    blocks: content.blocks,
    attachments: content.attachments,
    threadTs,
    broadcast: threadTs !== undefined && optBool(ctx.args, 'reply_broadcast') === true,
    metadata: optJson(ctx.args, 'metadata', 'invalid_metadata_format'),
  });
  return { channel: channel.id, ts: message.ts, message: toWireMessage(ctx.state, message) };
};

/** Only the app's own messages can be edited or deleted with a bot token. */
function ownMessage(ctx: ApiContext, action: 'update' | 'delete'): StoredMessage {
  const channel = channelArg(ctx);
  const ts = reqString(ctx.args, 'ts');
  const message = ctx.state.findMessage(channel.id, ts);
  if (!message || message.tombstone) throw new SlackApiFailure('message_not_found');
  if (message.botId !== SANDBOX_BOT.botId) throw new SlackApiFailure(action === 'update' ? 'cant_update_message' : 'cant_delete_message');
  return message;
}

const update: ApiMethod = (ctx) => {
  const message = ownMessage(ctx, 'update');
  const content = readContent(ctx.args, { required: true });
  // Slack keeps blocks/attachments the call leaves out; an empty array removes them.
  if (content.text !== undefined) message.text = content.text;
  if (content.blocks !== undefined) message.blocks = content.blocks.length > 0 ? content.blocks : undefined;
  if (content.attachments !== undefined) message.attachments = content.attachments.length > 0 ? content.attachments : undefined;
  message.edited = { user: SANDBOX_BOT.userId, ts: ctx.state.nextTs() };
  const wire = toWireMessage(ctx.state, message);
  return { channel: message.channel, ts: message.ts, text: message.text, message: wire };
};

const remove: ApiMethod = (ctx) => {
  const message = ownMessage(ctx, 'delete');
  const isParentWithReplies = message.threadTs === undefined && ctx.state.threadReplies(message.channel, message.ts).length > 0;
  // A parent with replies becomes a tombstone so the thread stays readable, as in Slack.
  if (isParentWithReplies) message.tombstone = true;
  else ctx.state.removeMessage(message.channel, message.ts);
  return { channel: message.channel, ts: message.ts };
};

const postEphemeral: ApiMethod = (ctx) => {
  const channel = channelArg(ctx, { allowName: true });
  const userRef = optString(ctx.args, 'user');
  const user = userRef ? ctx.state.users.get(userRef) : undefined;
  if (!user) throw new SlackApiFailure('user_not_found');
  const content = readContent(ctx.args, { required: true });
  const ts = ctx.state.nextTs();
  ctx.state.ephemerals.push({
    ts,
    channel: channel.id,
    user: user.id,
    text: content.text ?? '',
    blocks: content.blocks,
    threadTs: optString(ctx.args, 'thread_ts'),
    source: 'chat.postEphemeral',
  });
  return { message_ts: ts };
};

const getPermalink: ApiMethod = (ctx) => {
  const channel = channelArg(ctx);
  const ts = reqString(ctx.args, 'message_ts');
  const message = ctx.state.findMessage(channel.id, ts);
  if (!message) throw new SlackApiFailure('message_not_found');
  const p = `p${ts.replace('.', '')}`;
  const thread = message.threadTs && message.threadTs !== ts ? `?thread_ts=${message.threadTs}&cid=${channel.id}` : '';
  return { channel: channel.id, permalink: `${ctx.baseUrl}/archives/${channel.id}/${p}${thread}` };
};

export const chatMethods: Record<string, ApiMethod> = {
  'chat.postMessage': postMessage,
  'chat.update': update,
  'chat.delete': remove,
  'chat.postEphemeral': postEphemeral,
  'chat.getPermalink': getPermalink,
};
