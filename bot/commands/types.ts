import type { Redis } from 'ioredis';
import type { OpsConfig } from '../../lib/ops-config';

/** Everything a `/ops` verb handler gets: who asked, where, and the words after the verb. */
export interface CommandContext {
  userId: string;
  userName: string;
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
}

export interface OpsVerb {
  /** The RBAC command name: a verb ("ack") or a verb pair ("oncall override"). */
  name: string;
  usage: string;
  summary: string;
  run(ctx: CommandContext): Promise<CommandReply>;
}

export const ephemeral = (text: string): CommandReply => ({ text, response_type: 'ephemeral' });
