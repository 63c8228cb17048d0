import crypto from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { CodedError, ErrorCode, ValidationError } from './errors';
import { redisScript } from './redis-script';

/**
 * The ops audit: every request, confirmation, approval, refusal and result of
 * a runbook action (and whatever else changes production), append-only in a
 * Redis stream shared by the bot and the workers. Each entry carries the
 * SHA-256 of the one before it, so an edited, inserted or deleted entry breaks
 * the chain and `verify()` (`npm run audit -- --verify`) says where.
 * Bounded: the bot's retention sweep trims entries older than `retention.audit`
 * (and the oldest past `retention.audit_max_entries`); the trim leaves an anchor
 * (`audit:ops:anchor`) that verify() starts from, so what is kept still verifies.
 *
 * Appends from many processes stay one chain: the client computes the hash and
 * a Lua script appends only if the head it hashed against is still the head
 * (compare-and-append); on a race the client re-reads the head and tries again.
 */

/** What a caller records. `kind` says what happened; the rest says to what and by whom. */
export const AuditEventSchema = z.strictObject({
  kind: z.enum([
    'request',
    'confirmation',
    'approval_requested',
    'approval',
    'refusal',
    'started',
    'progress',
    'result',
    'remediation',
    'undo',
    'export',
  ]),
  /** Slack user id of the person, or `system:<component>` for the product itself. */
  actor: z.string().min(1).max(200),
  action: z.string().min(1).max(100).optional(),
  incidentId: z
    .string()
    .regex(/^INC-\d+$/)
    .optional(),
  /** The action request's idempotency key: ties request, approval and result together. */
  requestId: z.string().min(1).max(200).optional(),
  /** What the action acts on: a service, an address, a backup id. */
  target: z.string().max(500).optional(),
  outcome: z.enum(['ok', 'failed', 'refused', 'pending']).optional(),
  /** One line a person understands. */
  message: z.string().max(4000).optional(),
  /** Parameters and results; JSON-serialisable. */
  detail: z.record(z.string(), z.unknown()).optional(),
});
export type AuditEvent = z.infer<typeof AuditEventSchema>;

/** An entry as stored: the event plus its place in the chain. */
export interface AuditEntry extends AuditEvent {
  /** 1, 2, 3, ... with no gaps. */
  seq: number;
  /** ISO time the entry was appended. */
  at: string;
  /** The Redis stream id (ms-seq). */
  id: string;
  /** SHA-256 (hex) of the previous entry; 64 zeros for the first. */
  prev: string;
  /** SHA-256 (hex) of `prev` and this entry's canonical JSON. */
  hash: string;
}

export const GENESIS_HASH = '0'.repeat(64);

/** How long an append may keep losing races to other processes before it gives up. */
const APPEND_DEADLINE_MS = 10_000;

/** JSON with object keys sorted at every depth: the same entry always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** The hash of an entry: over everything but `id` (Redis assigns it) and `hash` itself. */
export function entryHash(entry: Omit<AuditEntry, 'id' | 'hash'>): string {
  const { prev, ...rest } = entry;
  return crypto.createHash('sha256').update(`${prev}\n${canonicalJson(rest)}`).digest('hex');
}

export function auditKeys(prefix: string) {
  return {
    stream: `${prefix}:audit:ops`,
    head: `${prefix}:audit:ops:head`,
    /** Where the kept chain starts once the oldest entries were trimmed ("seq hash" of the last one trimmed). */
    anchor: `${prefix}:audit:ops:anchor`,
  };
}

/*
 * KEYS: stream, head, anchor. ARGV: oldest stream id to keep (MINID), most entries to keep.
 * Trims the oldest entries past either bound and, in the same step, records where the kept chain
 * starts (the seq and hash of the last entry trimmed: the first kept one's prev), so verify() checks
 * the rest from there. Returns how many entries went.
 */
const TRIM_LUA = `
local n = redis.call('XTRIM', KEYS[1], 'MINID', ARGV[1]) + redis.call('XTRIM', KEYS[1], 'MAXLEN', ARGV[2])
if n == 0 then return 0 end
local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1]
if first then
  local e = cjson.decode(first[2][2])
  redis.call('SET', KEYS[3], string.format('%d', e.seq - 1) .. ' ' .. e.prev)
else
  redis.call('SET', KEYS[3], redis.call('GET', KEYS[2]) or '')
end
return n
`;

/**
 * KEYS: stream, head. ARGV: expected head ("seq hash", or "" when empty), new
 * head, entry JSON. Appends only when the head is what the caller hashed
 * against; returns the stream id, or false on a race.
 */
const APPEND_LUA = `
local head = redis.call('GET', KEYS[2]) or ''
if head ~= ARGV[1] then return false end
local id = redis.call('XADD', KEYS[1], '*', 'e', ARGV[3])
redis.call('SET', KEYS[2], ARGV[2])
return id
`;
const APPEND_LUA_SCRIPT = redisScript(APPEND_LUA);

export interface AuditVerifyResult {
  ok: boolean;
  entries: number;
  /** The first problem found, with the entry's seq and stream id. */
  problem?: { seq: number; id: string; reason: string };
}

export interface AuditReadOptions {
  /** Entries appended at or after this time. */
  since?: Date;
  until?: Date;
  incidentId?: string;
  requestId?: string;
  /** At most this many entries (oldest first). @defaultValue 10000 */
  limit?: number;
}

export function createAuditLog(options: { redis: Redis; prefix: string; now?: () => Date }) {
  const { redis } = options;
  const keys = auditKeys(options.prefix);
  const now = options.now ?? (() => new Date());

  function parseHead(head: string | null): { seq: number; hash: string } {
    if (!head) return { seq: 0, hash: GENESIS_HASH };
    const [seq, hash] = head.split(' ');
    return { seq: Number(seq), hash: hash ?? GENESIS_HASH };
  }

  /**
   * Appends are queued within this process (one in flight at a time), so only
   * other processes can race us; a lost race retries after a short random
   * pause until `APPEND_DEADLINE_MS` has passed.
   */
  let tail: Promise<unknown> = Promise.resolve();

  /** Appends one event to the chain; returns the stored entry. Bad events throw ValidationError and write nothing. */
  function append(event: AuditEvent): Promise<AuditEntry> {
    const parsed = AuditEventSchema.safeParse(event);
    if (!parsed.success) {
      return Promise.reject(
        new ValidationError(`invalid audit event: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`),
      );
    }
    // JSON round trip: what is hashed is exactly what a reader will parse back.
    const data = JSON.parse(JSON.stringify(parsed.data)) as AuditEvent;
    const run = tail.then(() => appendNow(data));
    tail = run.catch(() => undefined);
    return run;
  }

  async function appendNow(data: AuditEvent): Promise<AuditEntry> {
    const deadline = Date.now() + APPEND_DEADLINE_MS;
    for (;;) {
      const rawHead = await redis.get(keys.head);
      const head = parseHead(rawHead);
      const body = { ...data, seq: head.seq + 1, at: now().toISOString(), prev: head.hash };
      const hash = entryHash(body);
      const stored = { ...body, hash };
      const id = (await APPEND_LUA_SCRIPT.run(redis, 2, keys.stream, keys.head, rawHead ?? '', `${stored.seq} ${hash}`, JSON.stringify(stored))) as string | null;
      if (id) return { ...stored, id };
      if (Date.now() > deadline) throw new CodedError(ErrorCode.Conflict, `audit log: could not append within ${APPEND_DEADLINE_MS} ms (too many concurrent writers)`);
      await new Promise((r) => setTimeout(r, 1 + Math.random() * 20));
    }
  }

  function decode(id: string, fields: string[]): AuditEntry {
    const raw = fields[1] ?? '{}';
    return { ...(JSON.parse(raw) as Omit<AuditEntry, 'id'>), id };
  }

  /** Streams the log oldest first in pages, so a long log never sits in memory at once. */
  async function* scan(from = '-', to = '+', pageSize = 500): AsyncGenerator<AuditEntry> {
    let start = from;
    for (;;) {
      const rows = await redis.xrange(keys.stream, start, to, 'COUNT', pageSize);
      for (const [id, fields] of rows) yield decode(id, fields);
      if (rows.length < pageSize) return;
      const last = rows[rows.length - 1]![0];
      start = `(${last}`;
    }
  }

  /** Entries matching `opts`, oldest first. */
  async function read(opts: AuditReadOptions = {}): Promise<AuditEntry[]> {
    const from = opts.since ? String(opts.since.getTime()) : '-';
    const to = opts.until ? String(opts.until.getTime()) : '+';
    const limit = opts.limit ?? 10_000;
    const out: AuditEntry[] = [];
    for await (const entry of scan(from, to)) {
      if (opts.incidentId && entry.incidentId !== opts.incidentId) continue;
      if (opts.requestId && entry.requestId !== opts.requestId) continue;
      out.push(entry);
      if (out.length >= limit) break;
    }
    return out;
  }

  /** JSON lines, one entry a line, as `/ops audit` and `npm run audit` export them. */
  async function exportJsonLines(opts: AuditReadOptions = {}): Promise<string> {
    const entries = await read(opts);
    return entries.map((e) => JSON.stringify(e)).join('\n') + (entries.length ? '\n' : '');
  }

  /**
   * Walks the whole chain: every entry's hash recomputed, every `prev` equal to
   * the hash before it, seq without gaps, and the head pointing at the last.
   * Finds an edited entry (its hash no longer matches), a deleted one (a gap
   * and a broken link) and a truncated tail (the head points past the end).
   */
  async function verify(): Promise<AuditVerifyResult> {
    // After a trim (retention), the chain is checked from the anchor the trim left.
    const anchor = parseHead(await redis.get(keys.anchor));
    let prevHash = anchor.hash;
    let expectedSeq = anchor.seq + 1;
    let count = 0;
    let lastId = '';
    for await (const entry of scan()) {
      count++;
      lastId = entry.id;
      const fail = (reason: string): AuditVerifyResult => ({ ok: false, entries: count, problem: { seq: entry.seq, id: entry.id, reason } });
      if (entry.seq !== expectedSeq) return fail(`sequence jumps from ${expectedSeq - 1} to ${entry.seq}: an entry was deleted or inserted`);
      if (entry.prev !== prevHash) return fail('its prev hash does not match the entry before it: an entry before it was changed or removed');
      const { id: _id, hash, ...body } = entry;
      if (entryHash(body) !== hash) return fail('its content does not match its hash: the entry was edited');
      prevHash = hash;
      expectedSeq++;
    }
    const head = parseHead(await redis.get(keys.head));
    if (head.seq !== expectedSeq - 1 || head.hash !== prevHash) {
      return { ok: false, entries: count, problem: { seq: head.seq, id: lastId, reason: `the head says ${head.seq} entries but the log ends at ${expectedSeq - 1}: entries were removed from the end` } };
    }
    return { ok: true, entries: count };
  }

  /**
   * Retention: drops the entries older than `before` and the oldest beyond `maxEntries`, keeping the
   * rest verifiable (see TRIM_LUA). Export what must be kept longer first (`npm run audit`).
   */
  async function trim(bound: { before: Date; maxEntries: number }): Promise<number> {
    if (!Number.isInteger(bound.maxEntries) || bound.maxEntries < 1) throw new ValidationError(`audit trim: maxEntries must be a whole number ≥ 1, not ${bound.maxEntries}`);
    return Number(await redis.eval(TRIM_LUA, 3, keys.stream, keys.head, keys.anchor, String(Math.max(0, bound.before.getTime())), String(bound.maxEntries)));
  }

  return { append, read, scan, exportJsonLines, verify, trim, keys };
}

export type AuditLog = ReturnType<typeof createAuditLog>;
