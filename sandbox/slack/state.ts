import { botUser, channelFromSeed, DEFAULT_CHANNELS, DEFAULT_USERGROUPS, DEFAULT_USERS, stableId, userFromSeed, usergroupFromSeed } from './seed';
import type { EphemeralMessage, SandboxChannel, SandboxFile, SandboxUser, SandboxUsergroup, SeedChannel, SeedUser, SeedUsergroup, StoredMessage } from './types';

/** What a `response_url` remembers about the request it was handed out with. */
export interface ResponseTarget {
  kind: 'command' | 'interaction';
  channel: string;
  user: string;
  /** For an interaction: the message the click came from. */
  messageTs?: string;
  isEphemeral?: boolean;
  threadTs?: string;
  createdAt: number;
  uses: number;
}

export interface StateSeed {
  channels?: SeedChannel[];
  users?: SeedUser[];
  usergroups?: SeedUsergroup[];
}

/**
 * The sandbox workspace in memory: channels, users, messages per channel
 * (sorted by ts), ephemeral messages and live response_urls. Nothing here
 * knows HTTP; the Web API methods and the control routes work on it.
 */
export function createSlackState(seed: StateSeed = {}) {
  const channels = new Map<string, SandboxChannel>();
  const users = new Map<string, SandboxUser>();
  const usergroups = new Map<string, SandboxUsergroup>();
  const messages = new Map<string, StoredMessage[]>();
  const ephemerals: EphemeralMessage[] = [];
  const responseTargets = new Map<string, ResponseTarget>();
  const files = new Map<string, SandboxFile>();
  let lastMicros = 0n;

  function reset(): void {
    channels.clear();
    users.clear();
    usergroups.clear();
    messages.clear();
    ephemerals.length = 0;
    responseTargets.clear();
    files.clear();
    const created = Math.floor(Date.now() / 1000);
    for (const c of seed.channels ?? DEFAULT_CHANNELS) addChannel(channelFromSeed(c, created));
    for (const u of seed.users ?? DEFAULT_USERS) users.set(userFromSeed(u).id, userFromSeed(u));
    const bot = botUser();
    users.set(bot.id, bot);
    for (const g of seed.usergroups ?? DEFAULT_USERGROUPS) {
      const group = usergroupFromSeed(g, users, created);
      usergroups.set(group.id, group);
    }
  }

  function addChannel(channel: SandboxChannel): SandboxChannel {
    channels.set(channel.id, channel);
    if (!messages.has(channel.id)) messages.set(channel.id, []);
    return channel;
  }

  /** Slack's ts: "seconds.microseconds", unique and increasing within the workspace. */
  function nextTs(): string {
    let micros = BigInt(Date.now()) * 1000n;
    if (micros <= lastMicros) micros = lastMicros + 1n;
    lastMicros = micros;
    const s = micros.toString().padStart(7, '0');
    return `${s.slice(0, -6)}.${s.slice(-6)}`;
  }

  /** By id (C..., D...), or by name with or without '#', as Slack allows when posting. */
  function resolveChannel(ref: string, allowName: boolean): SandboxChannel | undefined {
    const byId = channels.get(ref);
    if (byId) return byId;
    if (!allowName) return undefined;
    const name = ref.replace(/^#/, '');
    for (const c of channels.values()) if (!c.isIm && c.name === name) return c;
    return undefined;
  }

  /** A user by id, by name (alice), or by @name. */
  function resolveUser(ref: string): SandboxUser | undefined {
    const byId = users.get(ref);
    if (byId) return byId;
    const name = ref.replace(/^@/, '');
    for (const u of users.values()) if (u.name === name) return u;
    return undefined;
  }

  /** The IM channel between the bot and `userId`, opened on first use as Slack does. */
  function imChannel(userId: string): SandboxChannel {
    for (const c of channels.values()) if (c.isIm && c.imUser === userId) return c;
    return addChannel({
      id: stableId('D', userId),
      name: userId,
      isPrivate: true,
      isIm: true,
      imUser: userId,
      created: Math.floor(Date.now() / 1000),
      topic: '',
      purpose: '',
      isArchived: false,
    });
  }

  function channelMessages(channelId: string): StoredMessage[] {
    let list = messages.get(channelId);
    if (!list) {
      list = [];
      messages.set(channelId, list);
    }
    return list;
  }

  function findMessage(channelId: string, ts: string): StoredMessage | undefined {
    return messages.get(channelId)?.find((m) => m.ts === ts);
  }

  /** Replies of a thread, oldest first. */
  function threadReplies(channelId: string, threadTs: string): StoredMessage[] {
    return (messages.get(channelId) ?? []).filter((m) => m.threadTs === threadTs && m.ts !== threadTs);
  }

  function addMessage(message: StoredMessage): StoredMessage {
    // ts only grows, so appending keeps each channel's list sorted.
    channelMessages(message.channel).push(message);
    return message;
  }

  function removeMessage(channelId: string, ts: string): void {
    const list = channelMessages(channelId);
    const i = list.findIndex((m) => m.ts === ts);
    if (i >= 0) list.splice(i, 1);
  }

  reset();

  return {
    channels,
    users,
    usergroups,
    messages,
    ephemerals,
    responseTargets,
    files,
    reset,
    nextTs,
    addChannel,
    resolveChannel,
    resolveUser,
    imChannel,
    channelMessages,
    findMessage,
    threadReplies,
    addMessage,
    removeMessage,
  };
}

export type SlackState = ReturnType<typeof createSlackState>;
