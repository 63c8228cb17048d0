import { SANDBOX_BOT } from '../seed';
import { toWireMessage } from '../wire';
import { type ApiContext, type ApiMethod, channelArg, optString, reqString, SlackApiFailure } from './api-context';

/** Emoji names as Slack accepts them: no colons, lowercase letters, digits, _ + - and skin-tone suffixes. */
const EMOJI_NAME = /^[a-z0-9_+'-]+(::skin-tone-[2-6])?$/;

function target(ctx: ApiContext) {
  const channel = channelArg(ctx);
  const ts = optString(ctx.args, 'timestamp');
  const message = ts ? ctx.state.findMessage(channel.id, ts) : undefined;
  if (!message || message.tombstone) throw new SlackApiFailure('message_not_found');
  const name = reqString(ctx.args, 'name').replace(/^:|:$/g, '');
  if (!EMOJI_NAME.test(name)) throw new SlackApiFailure('invalid_name');
  return { message, name };
}

const add: ApiMethod = (ctx) => {
  const { message, name } = target(ctx);
  let reaction = message.reactions.find((r) => r.name === name);
  if (reaction?.users.includes(SANDBOX_BOT.userId)) throw new SlackApiFailure('already_reacted');
  if (!reaction) {
    reaction = { name, users: [], count: 0 };
    message.reactions.push(reaction);
  }
  reaction.users.push(SANDBOX_BOT.userId);
  reaction.count = reaction.users.length;
  return {};
};

const remove: ApiMethod = (ctx) => {
  const { message, name } = target(ctx);
  const reaction = message.reactions.find((r) => r.name === name);
  if (!reaction?.users.includes(SANDBOX_BOT.userId)) throw new SlackApiFailure('no_reaction');
  reaction.users = reaction.users.filter((u) => u !== SANDBOX_BOT.userId);
  reaction.count = reaction.users.length;
  if (reaction.count === 0) message.reactions = message.reactions.filter((r) => r !== reaction);
  return {};
};

const get: ApiMethod = (ctx) => {
  const channel = channelArg(ctx);
  const ts = optString(ctx.args, 'timestamp');
  const message = ts ? ctx.state.findMessage(channel.id, ts) : undefined;
  if (!message) throw new SlackApiFailure('message_not_found');
  return { type: 'message', channel: channel.id, message: toWireMessage(ctx.state, message) };
};

export const reactionMethods: Record<string, ApiMethod> = {
  'reactions.add': add,
  'reactions.remove': remove,
  'reactions.get': get,
};
