import type { Logger } from '../../lib/logger';
import type { RateLimitOverrides } from './rate-limits';

/** A Slack user as the sandbox stores it (a subset of Slack's user object). */
export interface SandboxUser {
  id: string;
  name: string;
  realName: string;
  email: string;
  isAdmin: boolean;
  isBot: boolean;
  /** The product role this seed user stands for (admin, responder, viewer): for people reading the seed. */
  title?: string;
  botId?: string;
}

export interface SandboxChannel {
  id: string;
  name: string;
  isPrivate: boolean;
  isIm: boolean;
  /** For an IM channel: the person on the other side. */
  imUser?: string;
  created: number;
  topic: string;
  purpose: string;
  isArchived: boolean;
}

export interface Reaction {
  name: string;
  users: string[];
  count: number;
}

/** A message as stored: Slack's wire shape is built from it by `toWireMessage`. */
export interface StoredMessage {
  ts: string;
  channel: string;
  user: string;
  botId?: string;
  appId?: string;
  text: string;
  blocks?: unknown[];
  attachments?: unknown[];
  threadTs?: string;
  /** A reply also sent to the channel (`reply_broadcast`). */
  broadcast?: boolean;
  edited?: { user: string; ts: string };
  reactions: Reaction[];
  /** Parent of a deleted thread: Slack keeps a tombstone so the replies stay reachable. */
  tombstone?: boolean;
  files?: unknown[];
  metadata?: unknown;
}

/** An ephemeral message: only `user` sees it, it is never in history. */
export interface EphemeralMessage {
  ts: string;
  channel: string;
  /** Who sees it. */
  user: string;
  text: string;
  blocks?: unknown[];
  threadTs?: string;
  /** Where it came from: `chat.postEphemeral`, a `response_url` reply or a command's ack body. */
  source: 'chat.postEphemeral' | 'response_url' | 'ack';
}

/** A file uploaded through files.getUploadURLExternal + upload + files.completeUploadExternal. */
export interface SandboxFile {
  id: string;
  name: string;
  title: string;
  /** Length announced in getUploadURLExternal; the upload must match it. */
  length: number;
  created: number;
  content?: Buffer;
  completed: boolean;
  channels: string[];
  altText?: string;
}

/** A user group (Slack "subteam"): people mentioned together as @handle. */
export interface SandboxUsergroup {
  id: string;
  handle: string;
  name: string;
  description: string;
  /** Member user ids. */
  users: string[];
  created: number;
  disabled: boolean;
}

export interface SeedUsergroup {
  id?: string;
  handle: string;
  name?: string;
  description?: string;
  /** Members by user id or user name. */
  users: string[];
  disabled?: boolean;
}

export interface SeedChannel {
  id?: string;
  name: string;
  isPrivate?: boolean;
  topic?: string;
  purpose?: string;
}

export interface SeedUser {
  id?: string;
  name: string;
  realName?: string;
  email?: string;
  isAdmin?: boolean;
  title?: string;
}

export interface SlackSandboxConfig {
  /** The bot token (`xoxb-...`) the bot calls the Web API with; any other token is `invalid_auth`. */
  botToken: string;
  /** Secret the sandbox signs deliveries with (the bot's SLACK_SIGNING_SECRET). */
  signingSecret: string;
  /** The bot's request URL (its `/slack/events`): slash commands and interactions are POSTed there. */
  requestUrl: string;
  /**
   * Rate limits: a partial table merged over Slack's published limits, or `false` for none.
   * @defaultValue Slack's limits (see rate-limits.ts)
   */
  rateLimits?: RateLimitOverrides | false;
  /** Channels to seed instead of the default four (#ops-critical, #ops-alerts, #ops-reports, #general). */
  channels?: SeedChannel[];
  /** Users to seed instead of alice, bob and carol. The bot user is always added. */
  users?: SeedUser[];
  /** User groups to seed instead of @ops-leads and @security. */
  usergroups?: SeedUsergroup[];
  /** Base URL the sandbox is reachable at, used in `response_url`s; defaults to the URL `start()` listens on. */
  publicUrl?: string;
  /** How long Slack waits for the bot's ack before showing the user an error. @defaultValue 3000 */
  deliveryTimeoutMs?: number;
  /** Clock for rate-limit buckets; tests pass a frozen one. @defaultValue Date.now */
  now?: () => number;
  logger?: Logger;
}
