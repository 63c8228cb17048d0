import type { Redis } from 'ioredis';

/**
 * Channel names → Slack channel ids, shared through Redis. People configure
 * names (`ops-reports`); Slack's write methods (files.completeUploadExternal
 * above all) take ids. The bot, which can ask Slack, publishes the ids of the
 * configured channels at start; the workers, which hold no Slack token, read
 * them here. A name nobody published yet is used as it is.
 */
export function createChannelDirectory(redis: Redis, prefix: string) {
  const key = `${prefix}:slack:channel-ids`;

  async function publish(entries: Record<string, string>): Promise<void> {
    if (Object.keys(entries).length) await redis.hset(key, entries);
  }

  async function resolve(nameOrId: string): Promise<string> {
    const name = nameOrId.replace(/^#/, '');
    if (/^[CGD][A-Z0-9]{6,}$/.test(name)) return name;
    return (await redis.hget(key, name)) ?? name;
  }

  return { publish, resolve };
}

export type ChannelDirectory = ReturnType<typeof createChannelDirectory>;
