import { clampLimit, decodeCursor, encodeCursor } from '../pagination';
import { toWireUser } from '../wire';
import { type ApiMethod, invalidArguments, optInt, optString, SlackApiFailure } from './api-context';

const list: ApiMethod = (ctx) => {
  const limit = clampLimit(optInt(ctx.args, 'limit'), 1000, 1000);
  const cursor = decodeCursor(optString(ctx.args, 'cursor'), 'next_id');
  if (cursor === null) throw new SlackApiFailure('invalid_cursor');
  let users = [...ctx.state.users.values()].sort((a, b) => a.id.localeCompare(b.id));
  if (cursor !== undefined) users = users.filter((u) => u.id >= cursor);
  const next = users[limit];
  return {
    members: users.slice(0, limit).map(toWireUser),
    cache_ts: Math.floor(Date.now() / 1000),
    response_metadata: { next_cursor: next ? encodeCursor('next_id', next.id) : '' },
  };
};

const info: ApiMethod = (ctx) => {
  const id = optString(ctx.args, 'user');
  if (!id) throw invalidArguments('missing required field: user');
  const user = ctx.state.users.get(id);
  if (!user) throw new SlackApiFailure('user_not_found');
  return { user: toWireUser(user) };
};

const lookupByEmail: ApiMethod = (ctx) => {
  const email = optString(ctx.args, 'email');
  if (!email) throw invalidArguments('missing required field: email');
  const user = [...ctx.state.users.values()].find((u) => u.email.toLowerCase() === email.toLowerCase());
  if (!user) throw new SlackApiFailure('users_not_found');
  return { user: toWireUser(user) };
};

export const userMethods: Record<string, ApiMethod> = {
  'users.list': list,
  'users.info': info,
  'users.lookupByEmail': lookupByEmail,
};
