import { clampLimit, decodeCursor, encodeCursor, tsMicros } from '../pagination';
import type { StoredMessage } from '../types';
import { toWireChannel, toWireMessage } from '../wire';
import {
  type ApiContext,
  type ApiMethod,
  channelArg,
  invalidArguments,
  optBool,
  optInt,
  optString,
  SlackApiFailure,
  TS_PATTERN,
} from './api-context';

function memberCount(ctx: ApiContext): number {
  return ctx.state.users.size;
}

/** Filters by Slack's oldest/latest window (exclusive unless `inclusive`). */
function inWindow(ctx: ApiContext, defaultLatest: bigint): (m: StoredMessage) => boolean {
  const oldestArg = optString(ctx.args, 'oldest');
  const latestArg = optString(ctx.args, 'latest');
  for (const [key, value] of [['oldest', oldestArg], ['latest', latestArg]] as const) {
    if (value !== undefined && !/^\d+(\.\d+)?$/.test(value)) throw invalidArguments(`invalid value for field: ${key}`);
  }
  const oldest = oldestArg ? tsMicros(oldestArg) : 0n;
  const latest = latestArg ? tsMicros(latestArg) : defaultLatest;
  const inclusive = optBool(ctx.args, 'inclusive') === true;
  return (m) => {
    const t = tsMicros(m.ts);
    return inclusive ? t >= oldest && t <= latest : t > oldest && t < latest;
  };
}

/** Slack returns message metadata only to callers that ask for it with `include_all_metadata`. */
function wireMessages(ctx: ApiContext, messages: StoredMessage[]): Record<string, unknown>[] {
  const withMetadata = optBool(ctx.args, 'include_all_metadata') === true;
  return messages.map((m) => {
    const wire = toWireMessage(ctx.state, m);
    if (!withMetadata) delete wire.metadata;
    return wire;
  });
}

function cursorArg(ctx: ApiContext, kind: 'next_ts' | 'next_id'): string | undefined {
  const cursor = decodeCursor(optString(ctx.args, 'cursor'), kind);
  if (cursor === null) throw new SlackApiFailure('invalid_cursor');
  return cursor;
}

const history: ApiMethod = (ctx) => {
  const channel = channelArg(ctx);
  const limit = clampLimit(optInt(ctx.args, 'limit'), 100, 999);
  const window = inWindow(ctx, BigInt(Date.now() + 1000) * 1000n);
  // The channel shows parents, plain messages and broadcast replies, newest first.
  let list = ctx.state
    .channelMessages(channel.id)
    .filter((m) => m.threadTs === undefined || m.broadcast)
    .filter(window)
    .reverse();
  const cursor = cursorArg(ctx, 'next_ts');
  if (cursor !== undefined) list = list.filter((m) => tsMicros(m.ts) <= tsMicros(cursor));
  const page = list.slice(0, limit);
  const next = list[limit];
  return {
    messages: wireMessages(ctx, page),
    has_more: next !== undefined,
    pin_count: 0,
    channel_actions_ts: null,
    channel_actions_count: 0,
    response_metadata: { next_cursor: next ? encodeCursor('next_ts', next.ts) : '' },
  };
};

const replies: ApiMethod = (ctx) => {
  const channel = channelArg(ctx);
  const ts = optString(ctx.args, 'ts');
  if (ts === undefined) throw invalidArguments('missing required field: ts');
  if (!TS_PATTERN.test(ts)) throw new SlackApiFailure('thread_not_found');
  const target = ctx.state.findMessage(channel.id, ts);
  if (!target) throw new SlackApiFailure('thread_not_found');
  const parent = target.threadTs ? ctx.state.findMessage(channel.id, target.threadTs) : target;
  if (!parent) throw new SlackApiFailure('thread_not_found');
  const limit = clampLimit(optInt(ctx.args, 'limit'), 1000, 1000);
  let list = ctx.state.threadReplies(channel.id, parent.ts).filter(inWindow(ctx, BigInt(Date.now() + 1000) * 1000n));
  const cursor = cursorArg(ctx, 'next_ts');
  if (cursor !== undefined) list = list.filter((m) => tsMicros(m.ts) >= tsMicros(cursor));
  // Slack returns the parent first on every page, then replies oldest first.
  const page = list.slice(0, Math.max(limit - 1, 1));
  const next = list[page.length];
  return {
    messages: wireMessages(ctx, [parent, ...page]),
    has_more: next !== undefined,
    response_metadata: { next_cursor: next ? encodeCursor('next_ts', next.ts) : '' },
  };
};

const list: ApiMethod = (ctx) => {
  const types = (optString(ctx.args, 'types') ?? 'public_channel').split(',').map((t) => t.trim());
  const excludeArchived = optBool(ctx.args, 'exclude_archived') === true;
  const limit = clampLimit(optInt(ctx.args, 'limit'), 100, 1000);
  let channels = [...ctx.state.channels.values()]
    .filter((c) =>
      c.isIm ? types.includes('im') : c.isPrivate ? types.includes('private_channel') : types.includes('public_channel'),
    )
    .filter((c) => !(excludeArchived && c.isArchived))
    .sort((a, b) => a.id.localeCompare(b.id));
  const cursor = cursorArg(ctx, 'next_id');
  if (cursor !== undefined) channels = channels.filter((c) => c.id >= cursor);
  const next = channels[limit];
  return {
    channels: channels.slice(0, limit).map((c) => toWireChannel(c, memberCount(ctx))),
    response_metadata: { next_cursor: next ? encodeCursor('next_id', next.id) : '' },
  };
};

const info: ApiMethod = (ctx) => ({ channel: toWireChannel(channelArg(ctx), memberCount(ctx)) });

const open: ApiMethod = (ctx) => {
  const usersArg = optString(ctx.args, 'users');
  if (!usersArg) throw invalidArguments('missing required field: users');
  const ids = usersArg.split(',').map((u) => u.trim());
  if (ids.length !== 1) throw new SlackApiFailure('not_implemented', { detail: 'the sandbox opens 1:1 IMs only' });
  if (!ctx.state.users.has(ids[0]!)) throw new SlackApiFailure('user_not_found');
  const channel = ctx.state.imChannel(ids[0]!);
  return { channel: optBool(ctx.args, 'return_im') ? toWireChannel(channel, 2) : { id: channel.id } };
};

const members: ApiMethod = (ctx) => {
  const channel = channelArg(ctx);
  const ids = channel.isIm ? [channel.imUser!, 'U0OPSBOT'] : [...ctx.state.users.keys()];
  return { members: ids, response_metadata: { next_cursor: '' } };
};

/** The app is already in every channel; join answers as Slack does then. */
const join: ApiMethod = (ctx) => {
  const channel = channelArg(ctx);
  return { channel: toWireChannel(channel, memberCount(ctx)), warning: 'already_in_channel', response_metadata: { warnings: ['already_in_channel'] } };
};

export const conversationMethods: Record<string, ApiMethod> = {
  'conversations.history': history,
  'conversations.replies': replies,
  'conversations.list': list,
  'conversations.info': info,
  'conversations.open': open,
  'conversations.members': members,
  'conversations.join': join,
};
