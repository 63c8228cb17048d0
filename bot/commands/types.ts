import type { Redis } from 'ioredis';
import type { OpsConfig } from '../../lib/ops-config';
import type { SlackIdentity } from '../../lib/ops-config-rbac';

/** Everything a `/ops` verb handler gets: who asked, where, and the words after the verb. */
export interface CommandContext {
  userId: string;
  /** A label for people to read; never used to decide anything. */
  userName: string;
  /** The caller as RBAC sees them (user id and user groups). @defaultValue just the id */
  identity?: SlackIdentity;
  /** Slack's trigger_id of the command: the seed of its request id (a retry carries the same one). */
  triggerId?: string;
  channelId: string;
  /** The whole text after `/ops`. */
  text: string;
  /** The words after the verb. */
  args: string[];
  config: OpsConfig;
  redis: Redis;
  prefix: string;
  now: Date;
}

export interface CommandReply {
  text: string;
  response_type: 'ephemeral' | 'in_channel';
  blocks?: Array<Record<string, unknown>>;
}

export interface OpsVerb {
  /** The RBAC command name: a verb ("ack") or a verb pair ("oncall override"). */
  name: string;
  usage: string;
  summary: string;
  /** More help lines for this caller (e.g. the actions they may run), listed under the verb in `/ops help`. */
  details?: (who: SlackIdentity) => string[];
  run(ctx: CommandContext): Promise<CommandReply>;
}

export const ephemeral = (text: string): CommandReply => ({ text, response_type: 'ephemeral' });
