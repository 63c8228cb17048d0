import { SANDBOX_BOT, SANDBOX_TEAM } from './seed';
import type { SlackState } from './state';
import type { SandboxChannel, SandboxUser, StoredMessage } from './types';

/**
 * Slack's JSON shapes for messages, channels and users, built from what the
 * state stores. Field names and presence follow what the real API returns, so
 * code that reads them works the same against Slack.
 */
export function toWireMessage(state: SlackState, m: StoredMessage): Record<string, unknown> {
  if (m.tombstone) {
    return {
      type: 'message',
      subtype: 'tombstone',
      text: 'This message was deleted.',
      user: 'USLACKBOT',
      hidden: true,
      ts: m.ts,
      thread_ts: m.ts,
      ...threadFields(state, m),
    };
  }
  const wire: Record<string, unknown> = { type: 'message', user: m.user, text: m.text, ts: m.ts, team: SANDBOX_TEAM.id };
  if (m.botId) {
    wire.bot_id = m.botId;
    wire.app_id = m.appId;
    wire.bot_profile = {
      id: m.botId,
      app_id: m.appId,
      name: SANDBOX_BOT.name,
      deleted: false,
      team_id: SANDBOX_TEAM.id,
    };
  }
  if (m.blocks) wire.blocks = m.blocks;
  if (m.attachments) wire.attachments = m.attachments;
  if (m.files) wire.files = m.files;
  if (m.metadata) wire.metadata = m.metadata;
  if (m.edited) wire.edited = m.edited;
  if (m.reactions.length > 0) wire.reactions = m.reactions.map((r) => ({ ...r, users: [...r.users] }));
  if (m.threadTs) {
    wire.thread_ts = m.threadTs;
    if (m.threadTs !== m.ts) {
      const parent = state.findMessage(m.channel, m.threadTs);
      if (parent) wire.parent_user_id = parent.user;
      if (m.broadcast) wire.subtype = 'thread_broadcast';
    }
  }
  return { ...wire, ...threadFields(state, m) };
}

/** A parent carries reply_count, reply_users and latest_reply once it has replies. */
function threadFields(state: SlackState, m: StoredMessage): Record<string, unknown> {
  const replies = state.threadReplies(m.channel, m.ts);
  if (replies.length === 0) return {};
  const replyUsers = [...new Set(replies.map((r) => r.user))];
  return {
    thread_ts: m.ts,
    reply_count: replies.length,
    reply_users_count: replyUsers.length,
    reply_users: replyUsers,
    latest_reply: replies[replies.length - 1]!.ts,
    is_locked: false,
    subscribed: false,
  };
}

export function toWireChannel(c: SandboxChannel, memberCount: number): Record<string, unknown> {
  if (c.isIm) {
    return { id: c.id, created: c.created, is_im: true, is_org_shared: false, user: c.imUser, is_user_deleted: false, priority: 0 };
  }
  const text = (value: string) => ({ value, creator: value ? 'U0ALICE' : '', last_set: value ? c.created : 0 });
  return {
    id: c.id,
    name: c.name,
    is_channel: !c.isPrivate,
    is_group: c.isPrivate,
    is_im: false,
    is_mpim: false,
    is_private: c.isPrivate,
    created: c.created,
    is_archived: c.isArchived,
    is_general: c.name === 'general',
    unlinked: 0,
    name_normalized: c.name,
    is_shared: false,
    is_org_shared: false,
    is_pending_ext_shared: false,
    pending_shared: [],
    context_team_id: SANDBOX_TEAM.id,
    creator: 'U0ALICE',
    is_ext_shared: false,
    shared_team_ids: [SANDBOX_TEAM.id],
    // The app is in every channel of the sandbox: it is where it posts.
    is_member: true,
    topic: text(c.topic),
    purpose: text(c.purpose),
    previous_names: [],
    num_members: memberCount,
  };
}

export function toWireUser(u: SandboxUser): Record<string, unknown> {
  const profile: Record<string, unknown> = {
    title: u.title ?? '',
    real_name: u.realName,
    real_name_normalized: u.realName,
    display_name: u.name,
    display_name_normalized: u.name,
    email: u.email || undefined,
    image_48: `https://avatars.sandbox.invalid/${u.name}_48.png`,
    team: SANDBOX_TEAM.id,
  };
  if (u.botId) {
    profile.bot_id = u.botId;
    profile.api_app_id = SANDBOX_BOT.appId;
  }
  return {
    id: u.id,
    team_id: SANDBOX_TEAM.id,
    name: u.name,
    deleted: false,
    real_name: u.realName,
    tz: 'Etc/UTC',
    tz_label: 'Coordinated Universal Time',
    tz_offset: 0,
    profile,
    is_admin: u.isAdmin,
    is_owner: u.isAdmin,
    is_primary_owner: false,
    is_restricted: false,
    is_ultra_restricted: false,
    is_bot: u.isBot,
    is_app_user: false,
    updated: 1700000000,
  };
}
