import type { WebClient } from '@slack/web-api';
import type { Logger } from '../../lib/logger';
import type { OnCallOverride, OpsConfig } from '../../lib/ops-config';
import type { NotifyTarget } from './escalation-policy';
import { whoIsOnCall } from '../oncall/oncall';

/** Slack user id for a config user name, or undefined when Slack does not know the name. */
export type UserResolver = (name: string) => Promise<string | undefined>;
/** Slack user-group (subteam) id for a handle, or undefined. */
export type UsergroupResolver = (handle: string) => Promise<string | undefined>;

/** How long a users.list / usergroups.list answer is trusted. */
const CACHE_MS = 10 * 60_000;

/**
 * The default user resolver: a `slack_id` in the RBAC users first (ids never
 * change), else `users.list` by name through the client, cached. Without a
 * client, names without a configured id stay unresolved.
 */
export function createUserResolver(config: OpsConfig, client: WebClient | undefined, logger: Logger): UserResolver {
  let byName: Map<string, string> | undefined;
  let loadedAt = 0;

  async function load(): Promise<Map<string, string>> {
    const map = new Map<string, string>();
    let cursor: string | undefined;
    do {
      const page = await client!.users.list({ limit: 200, cursor });
      for (const m of page.members ?? []) if (m.name && m.id && !m.deleted) map.set(m.name, m.id);
      cursor = page.response_metadata?.next_cursor || undefined;
    } while (cursor);
    return map;
  }

  return async (name) => {
    const configured = config.rbac.users[name]?.slack_id;
    if (configured) return configured;
    if (!client) return undefined;
    const age = Date.now() - loadedAt;
    // Refresh when old, and on a miss at most once a minute: a new hire shows up without a restart.
    if (!byName || age > CACHE_MS || (!byName.has(name) && age > 60_000)) {
      loadedAt = Date.now();
      try {
        byName = await load();
      } catch (err) {
        logger.warn({ err }, 'users.list failed; mentioning by name');
      }
    }
    return byName?.get(name);
  };
}

/** The default user-group resolver: `usergroups.list`, cached; a workspace without user groups falls back to text. */
export function createUsergroupResolver(client: WebClient | undefined, logger: Logger): UsergroupResolver {
  let byHandle: Map<string, string> | undefined;
  let loadedAt = 0;
  return async (handle) => {
    if (!client) return undefined;
    if (!byHandle || Date.now() - loadedAt > CACHE_MS) {
      loadedAt = Date.now();
      byHandle = new Map();
      try {
        const res = await client.usergroups.list({ include_disabled: false });
        for (const g of res.usergroups ?? []) if (g.handle && g.id) byHandle.set(g.handle, g.id);
      } catch (err) {
        logger.debug({ err }, 'usergroups.list failed; mentioning user groups by handle');
      }
    }
    return byHandle.get(handle);
  };
}

export interface ResolvedTarget {
  /** What the message says: a mention (`<@U…>`, `<!subteam^…|@h>`, `<!channel>`) or plain `@name`. */
  mention: string;
  /** Who it is in words, for the timeline: "alice (on-call primary)". */
  describe: string;
}

export interface TargetContext {
  config: OpsConfig;
  now: Date;
  overrides: readonly OnCallOverride[];
  resolveUser: UserResolver;
  resolveUsergroup: UsergroupResolver;
}

async function userMention(name: string, ctx: TargetContext): Promise<string> {
  const id = await ctx.resolveUser(name);
  return id ? `<@${id}>` : `@${name}`;
}

/** Turns a policy's notify target into the mention to post, with the on-call rota and overrides at `now`. */
export async function resolveTarget(target: NotifyTarget, ctx: TargetContext): Promise<ResolvedTarget> {
  switch (target.kind) {
    case 'oncall_primary':
    case 'oncall_secondary': {
      const oncall = whoIsOnCall(ctx.now, ctx.config, ctx.overrides);
      const role = target.kind === 'oncall_primary' ? 'primary' : 'secondary';
      // A rotation of one has no secondary: the primary hears it again rather than nobody.
      const name = role === 'primary' ? oncall.primary : (oncall.secondary ?? oncall.primary);
      return { mention: await userMention(name, ctx), describe: `${name} (on-call ${role})` };
    }
    case 'oncall': {
      const name = whoIsOnCall(ctx.now, ctx.config, ctx.overrides, target.rotation).primary;
      return { mention: await userMention(name, ctx), describe: `${name} (on call for ${target.rotation})` };
    }
    case 'user':
      return { mention: await userMention(target.name, ctx), describe: target.name };
    case 'usergroup': {
      const id = await ctx.resolveUsergroup(target.handle);
      return { mention: id ? `<!subteam^${id}|@${target.handle}>` : `@${target.handle}`, describe: `@${target.handle}` };
    }
    case 'channel':
      return { mention: '<!channel>', describe: 'the channel' };
  }
}
