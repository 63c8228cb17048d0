import crypto from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { NotFoundError, ValidationError } from './errors';
import { clip, escapeMrkdwn } from './slack-text';

/**
 * The operations guide's checklists as interactive Slack messages: the daily
 * checklist (seven items) and the pre- and post-maintenance checklists. The
 * workers create one and post it; an item ticks itself when its automatic
 * check passes, or when a person presses its button in the bot (who and when
 * are recorded). State is a Redis hash per checklist; every tick bumps its
 * version, which orders the message edits (lib/slack-outbox.ts `edit`).
 */

export const CHECKLISTS = {
  daily: {
    title: 'Daily checklist',
    items: [
      { key: 'health', label: 'Check service health status' },
      { key: 'error-logs', label: 'Review error logs from past 24 hours' },
      { key: 'backup', label: 'Verify backup completion' },
      { key: 'resources', label: 'Check resource utilization' },
      { key: 'security', label: 'Review security alerts' },
      { key: 'monitoring', label: 'Validate monitoring system health' },
      { key: 'certificates', label: 'Check certificate expiration dates' },
    ],
  },
  'pre-maintenance': {
    title: 'Pre-maintenance checklist',
    items: [
      { key: 'notify', label: 'Notify stakeholders' },
      { key: 'backup', label: 'Create backup' },
      { key: 'rollback', label: 'Prepare rollback plan' },
      { key: 'staging', label: 'Test changes in staging' },
      { key: 'schedule', label: 'Schedule maintenance window' },
    ],
  },
  'post-maintenance': {
    title: 'Post-maintenance checklist',
    items: [
      { key: 'health', label: 'Verify service health' },
      { key: 'performance', label: 'Check performance metrics' },
      { key: 'error-logs', label: 'Review error logs' },
      { key: 'notify', label: 'Notify completion' },
      { key: 'document', label: 'Document changes' },
    ],
  },
} as const;

export type ChecklistKind = keyof typeof CHECKLISTS;
export const ChecklistKindSchema = z.enum(Object.keys(CHECKLISTS) as [ChecklistKind, ...ChecklistKind[]]);

/** Button action ids start with this; the value is `<checklist id>|<item key>`. */
export const CHECKLIST_TICK_ACTION = 'routine_tick';
export const ChecklistTickValueSchema = z
  .string()
  .regex(/^ck-[A-Za-z0-9_.-]{1,100}\|[a-z-]{1,40}$/, 'expected <checklist id>|<item key>')
  .transform((v) => {
    const [id, key] = v.split('|') as [string, string];
    return { id, key };
  });

/** How long a checklist's state is kept (the next morning reads yesterday's). */
const CHECKLIST_TTL_S = 14 * 86_400;

export interface ChecklistTick {
  /** `auto` (its check passed) or the Slack user id of who ticked it. */
  by: string;
  at: string;
  note?: string;
}

export interface Checklist {
  id: string;
  kind: ChecklistKind;
  title: string;
  channel: string;
  /** Outbox id of its message (edited as items tick). */
  messageId: string;
  createdAt: string;
  version: number;
  ticks: Record<string, ChecklistTick>;
}

/*
 * Ticks one item unless it is ticked already, and bumps the version. Returns
 * the new version, 0 when the item was ticked before, -1 when no such checklist.
 */
const TICK_LUA = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('HSETNX', KEYS[1], 'item:' .. ARGV[1], ARGV[2]) == 0 then return 0 end
return redis.call('HINCRBY', KEYS[1], 'version', 1)
`;

export function createChecklistStore(redis: Redis, prefix: string) {
  const key = (id: string) => `${prefix}:routine:checklist:${id}`;
  const dailyKey = (day: string) => `${prefix}:routine:checklist-daily:${day}`;

  /** A new checklist (or the one a stable `id` made before); `day` (YYYY-MM-DD) names the daily checklist of that day. */
  async function create(kind: ChecklistKind, channel: string, options: { day?: string; id?: string; title?: string } = {}): Promise<Checklist> {
    const id = options.id ?? `ck-${kind}-${crypto.randomUUID().slice(0, 8)}`;
    // A stable id (a retried job) finds the checklist it made before.
    const before = options.id ? await get(options.id) : undefined;
    if (before) return before;
    const checklist: Checklist = {
      id,
      kind,
      title: options.title ?? CHECKLISTS[kind].title,
      channel,
      messageId: `${id}-msg`,
      createdAt: new Date().toISOString(),
      version: 1,
      ticks: {},
    };
    const multi = redis.multi();
    multi.hset(key(id), { kind, title: checklist.title, channel, messageId: checklist.messageId, createdAt: checklist.createdAt, version: 1 });
    multi.expire(key(id), CHECKLIST_TTL_S);
    if (options.day) multi.set(dailyKey(options.day), id, 'EX', CHECKLIST_TTL_S);
    await multi.exec();
    return checklist;
  }

  async function get(id: string): Promise<Checklist | undefined> {
    const h = await redis.hgetall(key(id));
    if (!h.kind) return undefined;
    const ticks: Record<string, ChecklistTick> = {};
    for (const [field, value] of Object.entries(h)) if (field.startsWith('item:')) ticks[field.slice(5)] = JSON.parse(value) as ChecklistTick;
    return {
      id,
      kind: ChecklistKindSchema.parse(h.kind),
      title: h.title ?? '',
      channel: h.channel ?? '',
      messageId: h.messageId ?? '',
      createdAt: h.createdAt ?? '',
      version: Number(h.version ?? 1),
      ticks,
    };
  }

  /**
   * Ticks `item` as done by `by` (a Slack user id, or `auto`). Returns the
   * checklist when this call ticked it, undefined when it was ticked already.
   */
  async function tick(id: string, item: string, by: string, note?: string): Promise<Checklist | undefined> {
    const existing = await get(id);
    if (!existing) throw new NotFoundError(`no checklist ${id} (it may have expired)`);
    if (!CHECKLISTS[existing.kind].items.some((i) => i.key === item)) throw new ValidationError(`checklist ${id} has no item "${item}"`);
    const value: ChecklistTick = { by, at: new Date().toISOString(), ...(note ? { note: clip(note, 200) } : {}) };
    const version = Number(await redis.eval(TICK_LUA, 1, key(id), item, JSON.stringify(value)));
    if (version === -1) throw new NotFoundError(`no checklist ${id} (it may have expired)`);
    return version === 0 ? undefined : get(id);
  }

  /** The daily checklist of `day`, if one was posted. */
  async function daily(day: string): Promise<Checklist | undefined> {
    const id = await redis.get(dailyKey(day));
    return id ? get(id) : undefined;
  }

  return { create, get, tick, daily };
}

export type ChecklistStore = ReturnType<typeof createChecklistStore>;

/** Items not ticked yet, in the guide's order. */
export function openItems(checklist: Checklist): string[] {
  return CHECKLISTS[checklist.kind].items.filter((i) => !checklist.ticks[i.key]).map((i) => i.label);
}

const hhmm = (iso: string, timezone: string) =>
  new Date(iso).toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', timeZone: timezone, hour12: false });

/** The checklist as Slack blocks: one section per item, a Tick button on the open ones. */
export function renderChecklist(checklist: Checklist, timezone = 'UTC'): { text: string; blocks: Array<Record<string, unknown>> } {
  const def = CHECKLISTS[checklist.kind];
  const done = def.items.filter((i) => checklist.ticks[i.key]).length;
  const blocks: Array<Record<string, unknown>> = [
    { type: 'header', text: { type: 'plain_text', text: clip(`📋 ${checklist.title}`, 150) } },
  ];
  for (const item of def.items) {
    const t = checklist.ticks[item.key];
    if (t) {
      const who = t.by === 'auto' ? 'automatic check passed' : `ticked by <@${t.by}>`;
      const note = t.note ? ` (${escapeMrkdwn(t.note)})` : '';
      blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clip(`✅ ~${item.label}~ · ${who} at ${hhmm(t.at, timezone)}${note}`, 3000) } });
    } else {
      blocks.push({
        type: 'section',
        text: { type: 'mrkdwn', text: `⬜ ${item.label}` },
        accessory: {
          type: 'button',
          action_id: `${CHECKLIST_TICK_ACTION}-${item.key}`,
          text: { type: 'plain_text', text: 'Tick' },
          value: `${checklist.id}|${item.key}`,
        },
      });
    }
  }
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `${done}/${def.items.length} done · ${checklist.id}` }] });
  return { text: `${checklist.title}: ${done}/${def.items.length} done`, blocks };
}
