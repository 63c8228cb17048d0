import type { Redis } from 'ioredis';
import { DateTime } from 'luxon';
import { formatDuration } from '../../lib/duration';
import { escapeMrkdwn } from '../../lib/slack-text';
import { asCodedError, ErrorCode } from '../../lib/errors';
import type { OnCallOverride, OpsConfig } from '../../lib/ops-config';
import { createOverrideStore } from '../oncall/oncall-overrides';
import { nextHandoffs } from '../oncall/handoffs';
import { createOverride, whoIsOnCall } from '../oncall/oncall';

/**
 * `/ops oncall` and `/ops oncall override @user <duration> [reason]`.
 * The command router checks RBAC ("oncall" / "oncall override") and calls
 * these; they know no HTTP and no Bolt, they return what to answer.
 */

export interface OncallCommandContext {
  /** Slack user id of the caller. */
  userId: string;
  /** Slack user name of the caller. */
  userName?: string;
  channelId: string;
  /** The whole command text after `/ops`, for logs; the handlers use `args`. */
  text: string;
  config: OpsConfig;
  redis: Redis;
  /** REDIS_PREFIX: overrides live at `<prefix>:oncall:overrides`. */
  prefix: string;
  /** The current time, or a clock. @defaultValue new Date() */
  now?: Date | (() => Date);
}

export interface CommandReply {
  text: string;
  response_type: 'ephemeral' | 'in_channel';
}

const USAGE = 'Usage: `/ops oncall override @user <duration> [reason]`, e.g. `/ops oncall override @bob 2h covering the release`';

function nowOf(ctx: OncallCommandContext): Date {
  if (ctx.now instanceof Date) return ctx.now;
  return ctx.now ? ctx.now() : new Date();
}

/** A time for Slack: rendered in the reader's own zone, with the rotation's zone as the fallback text. */
function when(at: Date, zone: string): string {
  const fallback = DateTime.fromJSDate(at, { zone }).toFormat('ccc d LLL HH:mm ZZZZ');
  return `<!date^${Math.floor(at.getTime() / 1000)}^{date_short_pretty} {time}|${fallback}>`;
}

function span(ms: number): string {
  // Minutes are plenty for a shift; "6d20h" reads better than "6d19h59m59s".
  return formatDuration(Math.max(60_000, Math.round(ms / 60_000) * 60_000));
}

function describeOverride(o: OnCallOverride, zone: string): string {
  const extras = [o.reason ? `"${escapeMrkdwn(o.reason)}"` : '', o.by ? `set by ${escapeMrkdwn(o.by)}` : ''].filter(Boolean).join(', ');
  return `*${escapeMrkdwn(o.user)}*${o.rotation ? ` covers ${escapeMrkdwn(o.rotation)}` : ''} from ${when(new Date(o.from), zone)} to ${when(new Date(o.to), zone)}${extras ? ` (${extras})` : ''}`;
}

/** `/ops oncall`: who is on call now (until when), who is next, and the overrides in force or coming. */
export async function handleOncall(ctx: OncallCommandContext): Promise<CommandReply> {
  const at = nowOf(ctx);
  const zone = ctx.config.oncall.rotation.timezone;
  const stored = await createOverrideStore({ redis: ctx.redis, prefix: ctx.prefix }).live(at);
  const now = whoIsOnCall(at, ctx.config, stored);
  const next = whoIsOnCall(now.next.from, ctx.config, stored);
  const lines = [
    '*On call now*',
    `• Primary: *${now.primary}* until ${when(now.shiftEnd, zone)} (${span(now.shiftEnd.getTime() - at.getTime())} from now)`,
    `• Secondary: ${now.secondary ? `*${now.secondary}*` : '_none (a rotation of one)_'}`,
  ];
  if (now.override) lines.push(`• Covering by override: ${describeOverride(now.override, zone)}`);
  lines.push(`*Next*: *${now.next.primary}* from ${when(now.next.from, zone)} until ${when(next.shiftEnd, zone)}`);
  lines.push('*Next handoffs*', ...nextHandoffs(ctx.config, stored, at, 3).map((h) => `• ${when(h.from, zone)} → *${h.user}*${h.override ? ' (override)' : ''}`));
  for (const [name, rotation] of Object.entries(ctx.config.oncall.rotations)) {
    const r = whoIsOnCall(at, ctx.config, stored, name);
    lines.push(`*${name}*: *${r.primary}* until ${when(r.shiftEnd, rotation.timezone)}, then *${r.next.primary}*`);
  }
  const all = [...ctx.config.oncall.overrides, ...stored].filter((o) => new Date(o.to).getTime() > at.getTime());
  if (all.length) lines.push('*Overrides*', ...all.map((o) => `• ${describeOverride(o, zone)}`));
  return { text: lines.join('\n'), response_type: 'ephemeral' };
}

/** Splits the arguments: `@bob 2h covering the release` → user, duration, reason. */
function parseArgs(args: readonly string[] | string): { user?: string; duration?: string; reason?: string } {
  const words = typeof args === 'string' ? args.trim().split(/\s+/).filter(Boolean) : args.flatMap((a) => a.trim().split(/\s+/)).filter(Boolean);
  const [user, duration, ...rest] = words;
  return { user, duration, reason: rest.join(' ') || undefined };
}

/**
 * `/ops oncall override @user <duration> [reason]`: `@user` covers the
 * primary from now. Checked by `createOverride` (known user, a valid duration
 * up to `oncall.max_override`); on any error nothing is stored and only the
 * caller sees why.
 */
export async function handleOncallOverride(ctx: OncallCommandContext, args: readonly string[] | string): Promise<CommandReply> {
  const at = nowOf(ctx);
  const { user, duration, reason } = parseArgs(args);
  if (!user || !duration) return { text: `❌ ${ErrorCode.ValidationFailed}: who and for how long?\n${USAGE}`, response_type: 'ephemeral' };
  let override: OnCallOverride;
  try {
    override = createOverride({ user, duration, reason, by: ctx.userName ?? ctx.userId }, ctx.config, at);
  } catch (err) {
    const e = asCodedError(err);
    return { text: `❌ ${e.code}: ${escapeMrkdwn(e.message)}\n${USAGE}`, response_type: 'ephemeral' };
  }
  await createOverrideStore({ redis: ctx.redis, prefix: ctx.prefix }).add(override, at);
  const zone = ctx.config.oncall.rotation.timezone;
  const mention = /^<@[A-Z0-9]+(\|[^>]+)?>$/.test(user) ? user : `*${escapeMrkdwn(override.user)}*`;
  return {
    text:
      `🔁 ${mention} is on call (primary) from now until ${when(new Date(override.to), zone)} (${duration})` +
      `${reason ? `: ${escapeMrkdwn(reason)}` : ''}. Set by <@${ctx.userId}>. Escalations page them from now on.`,
    response_type: 'in_channel',
  };
}
