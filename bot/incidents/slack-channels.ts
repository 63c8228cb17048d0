import type { WebClient } from '@slack/web-api';

/** Where channel ids outlive the process (lib/slack-channel-directory.ts). */
export interface ChannelIdStore {
  resolve(nameOrId: string): Promise<string>;
  publish(entries: Record<string, string>): Promise<void>;
}

const isId = (name: string) => /^[CGD][A-Z0-9]{6,}$/.test(name);

/**
 * Resolves channel names (`ops-critical`, `#ops-critical`) to ids once and
 * caches them: Slack's write methods take ids, and people configure names.
 * With a `directory`, ids learned from Slack are kept in Redis and read from
 * there first, so a bot that restarts while Slack is unreachable still knows
 * its channels (the WebClient would otherwise retry conversations.list for
 * many minutes before anything of the incident's Slack side is queued).
 * `fromSlack` always asks Slack (the bot's start uses it to refresh ids).
 */
export function createChannelResolver(client: WebClient, directory?: ChannelIdStore) {
  const cache = new Map<string, string>();

  async function refresh(): Promise<void> {
    let cursor: string | undefined;
    do {
      const page = await client.conversations.list({ limit: 200, cursor, exclude_archived: true, types: 'public_channel,private_channel' });
      for (const ch of page.channels ?? []) if (ch.name && ch.id) cache.set(ch.name, ch.id);
      cursor = page.response_metadata?.next_cursor || undefined;
    } while (cursor);
  }

  async function fromSlack(nameOrId: string): Promise<string> {
    const name = nameOrId.replace(/^#/, '');
    if (isId(name)) return name;
    await refresh();
    const id = cache.get(name);
    if (id && directory) await directory.publish({ [name]: id }).catch(() => undefined);
    // Unknown names fall through to Slack, which answers channel_not_found with the name in the log.
    return id ?? name;
  }

  async function resolve(nameOrId: string): Promise<string> {
    const name = nameOrId.replace(/^#/, '');
    if (isId(name)) return name;
    const cached = cache.get(name);
    if (cached) return cached;
    const known = directory ? await directory.resolve(name).catch(() => name) : name;
    if (known !== name) {
      cache.set(name, known);
      return known;
    }
    return fromSlack(name);
  }

  return Object.assign(resolve, { fromSlack });
}

export type ChannelResolver = ReturnType<typeof createChannelResolver>;
