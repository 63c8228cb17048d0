import type { WebClient } from '@slack/web-api';

/**
 * Resolves channel names (`ops-critical`, `#ops-critical`) to ids once and
 * caches them: Slack's write methods take ids, and people configure names.
 */
export function createChannelResolver(client: WebClient) {
  const cache = new Map<string, string>();

  async function refresh(): Promise<void> {
    let cursor: string | undefined;
    do {
      const page = await client.conversations.list({ limit: 200, cursor, exclude_archived: true, types: 'public_channel,private_channel' });
      for (const ch of page.channels ?? []) if (ch.name && ch.id) cache.set(ch.name, ch.id);
      cursor = page.response_metadata?.next_cursor || undefined;
    } while (cursor);
  }

  return async function resolve(nameOrId: string): Promise<string> {
    const name = nameOrId.replace(/^#/, '');
    if (/^[CGD][A-Z0-9]{6,}$/.test(name)) return name;
    if (!cache.has(name)) await refresh();
    // Unknown names fall through to Slack, which answers channel_not_found with the name in the log.
    return cache.get(name) ?? name;
  };
}

export type ChannelResolver = ReturnType<typeof createChannelResolver>;
