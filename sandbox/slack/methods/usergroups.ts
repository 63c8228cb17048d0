import { SANDBOX_TEAM } from '../seed';
import type { SandboxUsergroup } from '../types';
import { type ApiMethod, invalidArguments, optString, SlackApiFailure } from './api-context';

/** Slack's usergroup object (the fields the bot and people read). */
function toWireUsergroup(g: SandboxUsergroup, includeUsers: boolean): Record<string, unknown> {
  return {
    id: g.id,
    team_id: SANDBOX_TEAM.id,
    is_usergroup: true,
    is_subteam: true,
    name: g.name,
    description: g.description,
    handle: g.handle,
    is_external: false,
    date_create: g.created,
    date_update: g.created,
    date_delete: g.disabled ? g.created : 0,
    auto_type: null,
    created_by: 'U0ALICE',
    user_count: g.users.length,
    ...(includeUsers ? { users: [...g.users] } : {}),
  };
}

const truthy = (v: unknown) => v === true || v === 'true' || v === '1' || v === 1;

/** usergroups.list: `include_users`, `include_disabled` as Slack takes them. */
const list: ApiMethod = (ctx) => {
  const includeUsers = truthy(ctx.args.include_users);
  const includeDisabled = truthy(ctx.args.include_disabled);
  const groups = [...ctx.state.usergroups.values()].filter((g) => includeDisabled || !g.disabled);
  return { usergroups: groups.map((g) => toWireUsergroup(g, includeUsers)) };
};

/** usergroups.users.list: the user ids of one group; `no_such_subteam` for an unknown id, as Slack answers. */
const usersList: ApiMethod = (ctx) => {
  const id = optString(ctx.args, 'usergroup');
  if (!id) throw invalidArguments('missing required field: usergroup');
  const group = ctx.state.usergroups.get(id);
  if (!group) throw new SlackApiFailure('no_such_subteam');
  if (group.disabled && !truthy(ctx.args.include_disabled)) throw new SlackApiFailure('no_such_subteam');
  return { users: [...group.users] };
};

export const usergroupMethods: Record<string, ApiMethod> = {
  'usergroups.list': list,
  'usergroups.users.list': usersList,
};
