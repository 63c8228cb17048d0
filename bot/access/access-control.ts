import type { WebClient } from '@slack/web-api';
import type { Logger } from '../../lib/logger';
import type { OpsConfig } from '../../lib/ops-config';
import {
  describeRoles,
  mayRunAction,
  mayRunCommand,
  rolesAllowingAction,
  rolesAllowingCommand,
  rolesOf,
  type SlackIdentity,
} from '../../lib/ops-config-rbac';
import type { ChannelResolver } from '../incidents/slack-channels';

export interface AccessControlOptions {
  config: OpsConfig;
  /** Reads user groups (usergroups.list, usergroups.users.list); reads, so not through the outbox. */
  client?: Pick<WebClient, 'usergroups'>;
  /** Channel names of `rbac.roles.*.channels` → ids. */
  resolveChannel: ChannelResolver;
  logger: Logger;
  /** How long a group's member list is trusted. @defaultValue 60000 */
  cacheMs?: number;
}

/** A refusal a person reads: what they asked, the role it needs, and theirs. */
export interface AccessVerdict {
  ok: boolean;
  /** Empty when ok. */
  message: string;
  roles: string[];
}

/**
 * The bot's side of RBAC: turns a Slack user id into an identity (the id plus
 * the configured user groups the person is in, from Slack's
 * usergroups.users.list, cached), and answers "may they" with the role it
 * would take. The rules themselves are lib/ops-config-rbac.ts.
 */
export function createAccessControl(options: AccessControlOptions) {
  const { config, client, logger } = options;
  const cacheMs = options.cacheMs ?? 60_000;
  let handles: { at: number; byHandle: Map<string, string> } | undefined;
  const members = new Map<string, { at: number; users: Set<string> }>();

  async function groupIds(): Promise<Map<string, string>> {
    if (handles && Date.now() - handles.at < cacheMs) return handles.byHandle;
    const byHandle = new Map<string, string>();
    for (const [handle, entry] of Object.entries(config.rbac.groups)) if (entry.slack_id) byHandle.set(handle, entry.slack_id);
    const unresolved = Object.keys(config.rbac.groups).filter((h) => !byHandle.has(h));
    if (unresolved.length && client) {
      const res = await client.usergroups.list({ include_disabled: false });
      for (const g of res.usergroups ?? []) if (g.handle && g.id && unresolved.includes(g.handle)) byHandle.set(g.handle, g.id);
    }
    handles = { at: Date.now(), byHandle };
    return byHandle;
  }

  async function membersOf(groupId: string): Promise<Set<string>> {
    const cached = members.get(groupId);
    if (cached && Date.now() - cached.at < cacheMs) return cached.users;
    const res = await client!.usergroups.users.list({ usergroup: groupId });
    const users = new Set(res.users ?? []);
    members.set(groupId, { at: Date.now(), users });
    return users;
  }

  /** The person as RBAC sees them. A Slack error leaves out the groups (fewer rights, never more). */
  async function identify(userId: string): Promise<SlackIdentity> {
    if (!client || Object.keys(config.rbac.groups).length === 0) return { id: userId };
    const groups: string[] = [];
    try {
      for (const [handle, id] of await groupIds()) {
        if ((await membersOf(id)).has(userId)) groups.push(handle, id);
      }
    } catch (err) {
      logger.warn({ err, userId }, 'could not read Slack user groups; checking RBAC by user id only');
    }
    return { id: userId, groups };
  }

  /** The names and id a channel is known by, for roles limited to channels. */
  async function channelRefs(channelId: string): Promise<string[]> {
    const refs = [channelId];
    const names = new Set(Object.values(config.rbac.roles).flatMap((r) => r.channels ?? []));
    for (const name of names) {
      try {
        if ((await options.resolveChannel(name)) === channelId) refs.push(name);
      } catch (err) {
        logger.warn({ err, channel: name }, 'could not resolve an RBAC channel name');
      }
    }
    return refs;
  }

  function yours(who: SlackIdentity): string {
    const roles = rolesOf(config, who);
    return roles.length ? `you are ${roles.join(' and ')}` : 'you have no role in the ops config';
  }

  function command(who: SlackIdentity, name: string): AccessVerdict {
    const roles = rolesOf(config, who);
    if (mayRunCommand(config, who, name)) return { ok: true, message: '', roles };
    return { ok: false, roles, message: `⛔ \`/ops ${name}\` needs ${describeRoles(rolesAllowingCommand(config, name))} (${yours(who)}). \`/ops help\` lists what you can run.` };
  }

  async function action(who: SlackIdentity, name: string, channelId: string): Promise<AccessVerdict> {
    const roles = rolesOf(config, who);
    if (!mayRunAction(config, who, name)) {
      return { ok: false, roles, message: `⛔ ${name} needs ${describeRoles(rolesAllowingAction(config, name))} (${yours(who)}).` };
    }
    if (mayRunAction(config, who, name, await channelRefs(channelId))) return { ok: true, message: '', roles };
    const where = [...new Set(roles.flatMap((r) => config.rbac.roles[r]?.channels ?? []))].map((c) => `#${c}`).join(', ');
    return { ok: false, roles, message: `⛔ ${name} is not allowed in this channel for ${roles.join(' and ')}; run it in ${where || 'another channel'}.` };
  }

  return { identify, command, action, channelRefs };
}

export type AccessControl = ReturnType<typeof createAccessControl>;
