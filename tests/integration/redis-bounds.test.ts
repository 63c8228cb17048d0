/**
 * Every Redis key the product writes has a bound or a TTL, and docs/redis.md says which.
 *
 * Real traffic through the real bot (Bolt, BullMQ, the sandbox Slack), the real workers and the real
 * MCP server, all on one fresh key prefix, with small bounds set through the ops config (a retention
 * of seconds): incidents opened, repeated, acknowledged, noted and resolved, `/ops` commands, runbook
 * clicks run by the workers against the server, the audit they write. Then the retention sweep, and
 * every key under the prefix is checked against the table in docs/redis.md (parsed here, so the doc
 * and the test cannot drift): a key no row matches fails with its name; a key without a TTL must be in
 * a row whose bound holds (its length, or how many such keys there are).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Queue } from 'bullmq';
import { QueueName, RUNBOOK_JOB_RETENTION } from '../../lib/contracts';
import { parseDuration } from '../../lib/duration';
import { loadOpsConfig } from '../../lib/ops-config';
import { silentLogger } from '../../lib/logger';
import { createWorkersApp } from '../../workers/app';
import { loadWorkersEnv } from '../../workers/config';
import { startBotHarness, type BotHarness } from '../helpers/bot-harness';
import { firingFor, resolvedVersion } from '../helpers/fixtures';
import { eventually, freePort } from '../helpers/ports';
import { startTestServer, TEST_WORKER_KEYS, type TestServer } from './server-harness';

jest.setTimeout(90_000);

const DOC = path.join(__dirname, '..', '..', 'docs', 'redis.md');

/** One row of docs/redis.md's key table. */
interface KeyRow {
  pattern: string;
  regex: RegExp;
  /** Literal characters in the pattern: the most specific row wins when several match. */
  specificity: number;
  type: string;
  checks: string[];
}

/** Placeholders in the doc's key patterns; any other `<name>` is one segment without `:`, `<name…>` any run. */
const PLACEHOLDERS: Record<string, string> = {
  '<INC-n>': 'INC-\\d+',
  '<n>': '\\d+',
  '<hex>': '[0-9a-f]+',
  '<queue>': `(?:${Object.values(QueueName).join('|')})`,
};

/** Parses a markdown table's rows (cells trimmed, backticks kept) under the heading `## <heading>`. */
function tableUnder(markdown: string, heading: string): string[][] {
  const section = markdown.split(new RegExp(`^## ${heading}\\s*$`, 'm'))[1]?.split(/^## /m)[0];
  if (!section) throw new Error(`docs/redis.md has no "## ${heading}" section`);
  return section
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => line.split('|').slice(1, -1).map((c) => c.trim()));
}

/** The key table of docs/redis.md. */
function parseKeyTable(markdown: string): KeyRow[] {
  return tableUnder(markdown, 'Keys').map((cells) => {
    const pattern = /^`([^`]+)`$/.exec(cells[0] ?? '')?.[1];
    if (!pattern) throw new Error(`docs/redis.md: "${cells[0]}" is not one key pattern in backticks`);
    const checks = [...(cells[cells.length - 1] ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    if (checks.length === 0) throw new Error(`docs/redis.md: the row for ${pattern} has no check in its last cell`);
    let source = '';
    let specificity = 0;
    for (const part of pattern.split(/(<[^>]+>)/)) {
      if (!part) continue;
      if (part.startsWith('<')) source += PLACEHOLDERS[part] ?? (part.endsWith('…>') ? '.+' : '[^:]+');
      else {
        source += part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        specificity += part.length;
      }
    }
    return { pattern, regex: new RegExp(`^${source}$`), specificity, type: cells[1]!, checks };
  });
}

/** The queue table: finished jobs BullMQ keeps per queue. */
function parseQueueTable(markdown: string): Map<string, { completed: number; failed: number }> {
  return new Map(
    tableUnder(markdown, 'Queues').map((cells) => [cells[0]!.replace(/`/g, ''), { completed: Number(cells[1]), failed: Number(cells[2]) }] as const),
  );
}

describe('Redis key bounds (docs/redis.md)', () => {
  let server: TestServer;
  let h: BotHarness;
  let workers: ReturnType<typeof createWorkersApp>;

  const opsConfig = loadOpsConfig();
  opsConfig.retention = { ...opsConfig.retention, incidents: '2s', audit: '2s', timeline_max_entries: 1000, audit_max_entries: 1000 };

  beforeAll(async () => {
    // Small bounds: Slack pacing at 10/s in the sandbox (no rate limits there), a storm digest from the 4th new incident a minute.
    h = await startBotHarness({ rateLimits: false, deps: { opsConfig, slackOutbox: { postIntervalMs: 100, editIntervalMs: 100, stormThresholdPerMinute: 3 } } });
    server = await startTestServer({ REDIS_PREFIX: h.prefix });
    const env = loadWorkersEnv({
      REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      REDIS_PREFIX: h.prefix,
      MCP_SERVER_URL: server.mcpUrl,
      WORKERS_JWT_PRIVATE_KEY: TEST_WORKER_KEYS.privateKey,
      WORKERS_METRICS_PORT: String(await freePort()),
      ROUTINE: 'off',
    });
    workers = createWorkersApp(env, { logger: silentLogger(), opsConfig });
    await workers.start();
  });

  afterAll(async () => {
    await workers?.stop();
    await server?.close();
    await h?.close();
  });

  async function allKeys(): Promise<string[]> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await h.redis.scan(cursor, 'MATCH', `${h.prefix}:*`, 'COUNT', 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    return keys.sort();
  }

  /** A bound name of the doc's checks, its value in the running system; `queue` for BullMQ rows. */
  type Bounds = (name: string, queue?: string) => number;

  /** `a+b`, `2*a`, numbers and names, as the doc writes them. */
  function evaluate(expr: string, bounds: Bounds, queue?: string): number {
    return expr.split('+').reduce((sum, term) => {
      const [k, name] = term.includes('*') ? term.split('*') : ['1', term];
      const v = /^\d+$/.test(name!) ? Number(name) : bounds(name!, queue);
      return sum + Number(k) * v;
    }, 0);
  }

  /** Every problem with the keys under the prefix, judged by the doc's table. */
  async function problems(rows: KeyRow[], bounds: Bounds, ages: Record<string, number>): Promise<string[]> {
    const found: string[] = [];
    const members = new Map<KeyRow, Map<string, number>>();
    for (const key of await allKeys()) {
      const name = key.slice(h.prefix.length + 1);
      const matching = rows.filter((r) => r.regex.test(name)).sort((a, b) => b.specificity - a.specificity);
      const row = matching[0];
      if (!row) {
        found.push(`${name}: no row of docs/redis.md matches this key`);
        continue;
      }
      if (matching[1]?.specificity === row.specificity) found.push(`${name}: rows ${row.pattern} and ${matching[1].pattern} both match, equally specific`);
      const type = await h.redis.type(key);
      if (type === 'none') continue; // expired while we looked
      if (type !== row.type) found.push(`${name}: a ${type}, documented as a ${row.type} (${row.pattern})`);
      const queue = row.pattern.startsWith('<queue>:') ? name.split(':')[0] : undefined;
      const group = members.get(row) ?? new Map<string, number>();
      group.set(queue ?? '', (group.get(queue ?? '') ?? 0) + 1);
      members.set(row, group);
      for (const check of row.checks) {
        const [, kind, expr] = /^(ttl|size|keys|age)(?:<=(.+))?$/.exec(check) ?? [];
        if (!kind) throw new Error(`docs/redis.md: unknown check \`${check}\` in the row for ${row.pattern}`);
        if (kind === 'ttl') {
          if ((await h.redis.pttl(key)) < 0) found.push(`${name}: no TTL, but ${row.pattern} says it has one`);
        } else if (kind === 'size') {
          const size = await sizeOf(key, type);
          const max = evaluate(expr!, bounds, queue);
          if (size > max) found.push(`${name}: ${type} of ${size}, over its bound ${expr} = ${max}`);
        } else if (kind === 'age') {
          const first = (await h.redis.xrange(key, '-', '+', 'COUNT', 1))[0];
          const maxAge = ages[expr!];
          if (maxAge === undefined) throw new Error(`docs/redis.md: no age named ${expr}`);
          if (first && Date.now() - Number(first[0].split('-')[0]) > maxAge + 5_000) found.push(`${name}: oldest entry ${first[0]} older than ${expr} (${maxAge} ms)`);
        }
      }
    }
    for (const [row, groups] of members) {
      for (const check of row.checks.filter((c) => c.startsWith('keys<='))) {
        for (const [queue, count] of groups) {
          const max = evaluate(check.slice('keys<='.length), bounds, queue || undefined);
          if (count > max) found.push(`${row.pattern}${queue ? ` (${queue})` : ''}: ${count} keys, over ${check} = ${max}`);
        }
      }
    }
    return found;
  }

  async function sizeOf(key: string, type: string): Promise<number> {
    switch (type) {
      case 'stream':
        return h.redis.xlen(key);
      case 'zset':
        return h.redis.zcard(key);
      case 'set':
        return h.redis.scard(key);
      case 'hash':
        return h.redis.hlen(key);
      case 'list':
        return h.redis.llen(key);
      default:
        return h.redis.strlen(key);
    }
  }

  it('drives traffic, sweeps, and every key under the prefix has a TTL or a documented bound that holds', async () => {
    const markdown = fs.readFileSync(DOC, 'utf8');
    const rows = parseKeyTable(markdown);
    const queues = parseQueueTable(markdown);
    // The doc's queue table is what the queues run with (the bot's runbook queue defaults).
    expect(queues.get(QueueName.RunbookActions)).toEqual({ completed: RUNBOOK_JOB_RETENTION.removeOnComplete, failed: RUNBOOK_JOB_RETENTION.removeOnFail });
    expect(h.bot.queue.defaultJobOptions).toMatchObject(RUNBOOK_JOB_RETENTION);

    // Traffic: 8 groups opened (half critical), each repeated, one acknowledged, a runbook click the
    // workers run against the MCP server, /ops status, a note and a :pushpin:, 6 of 8 resolved.
    const groups = Array.from({ length: 8 }, (_, i) =>
      firingFor(`Bounds${i}`, { severity: i % 2 ? 'warning' : 'critical', fingerprint: (0xb0 + i).toString(16).padStart(16, '0') }),
    );
    const ids: string[] = [];
    for (const g of groups) ids.push(await h.alert(g));
    for (const g of groups) await h.alert(g);
    const root = await h.root('ops-critical', ids[0]!);
    const said = async (r: Promise<{ ok: boolean }>) => expect((await r).ok).toBe(true);
    await said(h.sandbox.click({ user: 'bob', channel: 'ops-critical', ts: root.ts, action_id: 'incident_ack' }));
    await said(h.sandbox.click({ user: 'bob', channel: 'ops-critical', ts: root.ts, action_id: 'runbook_health_check' }));
    await said(h.sandbox.command({ user: 'bob', channel: 'ops-critical', command: '/ops', text: 'status' }));
    await said(h.sandbox.command({ user: 'bob', channel: 'ops-critical', command: '/ops', text: `note ${ids[0]} checked the ledger` }));
    await said(h.sandbox.react({ user: 'bob', channel: 'ops-critical', ts: root.ts, name: 'pushpin' }));
    await eventually(async () => ((await h.bot.audit.read({ incidentId: ids[0] })).some((e) => e.kind === 'result') ? true : undefined), 30_000, 100);
    // The MCP server's own keys: an ops tool call (its audit, the denylist), a client's log level, a refused token.
    const admin = await server.client(await server.token('ops:read ops:admin', { sub: 'alice' }));
    expect((await admin.callTool({ name: 'ops_block_ip', arguments: { ip: '203.0.113.0/24', ttlSeconds: 600, reason: 'redis bounds test' } })).isError).toBeFalsy();
    await admin.setLoggingLevel('debug');
    expect((await fetch(server.mcpUrl, { method: 'POST', headers: { authorization: 'Bearer not-a-token', 'content-type': 'application/json' }, body: '{}' })).status).toBe(401);
    const auditBefore = (await h.bot.audit.read()).length;
    for (const g of groups.slice(0, 6)) await h.alert(resolvedVersion(g));
    for (const id of ids.slice(0, 6)) await eventually(async () => (await h.bot.store.get(id))?.state === 'resolved', 20_000);
    const open = ids.slice(6);
    await h.bot.notifier.drain(20_000);
    expect(await h.bot.outbox.idle(30_000)).toBe(true);
    // Past the retention (2 s) of the resolved ones and of the audit so far.
    await new Promise((r) => setTimeout(r, 2_500));
    const swept = await h.bot.retention.sweep();
    expect(swept.deleted).toBe(6);
    expect(swept.auditTrimmed).toBeGreaterThanOrEqual(auditBefore);
    // What the audit kept still verifies, from the anchor the trim left.
    expect(await h.bot.audit.verify()).toMatchObject({ ok: true });
    await h.bot.audit.append({ kind: 'export', actor: 'system:redis-bounds-test', message: 'after the trim' });
    expect(await h.bot.audit.verify()).toMatchObject({ ok: true });

    const channels = ((await (await fetch(`${h.slack.url()}/_sandbox/workspace`)).json()) as { channels: unknown[] }).channels.length;
    const retention = opsConfig.retention;
    const inFlight = new Map<string, number>();
    for (const name of Object.values(QueueName)) {
      const q = new Queue(name, { connection: h.redis, prefix: h.prefix });
      const c = await q.getJobCounts('waiting', 'delayed', 'prioritized', 'active', 'waiting-children');
      inFlight.set(name, Object.values(c).reduce((a, b) => a + b, 0));
      await q.close();
    }
    const bounds: Bounds = (name, queue) => {
      const kept = queue ? queues.get(queue) : undefined;
      if (queue && !kept) throw new Error(`docs/redis.md: queue ${queue} is not in the queue table`);
      const values: Record<string, number | undefined> = {
        live_incidents: open.length,
        open_incidents: open.length,
        channels,
        heartbeats: Object.keys(opsConfig.heartbeats.sources).length + 1,
        timeline_max_entries: retention.timeline_max_entries,
        audit_max_entries: retention.audit_max_entries,
        in_flight: queue ? inFlight.get(queue) : undefined,
        kept_completed: kept?.completed,
        kept_failed: kept?.failed,
      };
      const v = values[name];
      if (v === undefined) throw new Error(`docs/redis.md: no bound named ${name}${queue ? ` for queue ${queue}` : ''}`);
      return v;
    };
    const found = await problems(rows, bounds, { audit: parseDuration(retention.audit) });
    expect(found).toEqual([]);
    // The traffic reached what the test is about: incidents, the outbox, queues, the audit, the server.
    const names = (await allKeys()).map((k) => k.slice(h.prefix.length + 1));
    const expectedKeys = ['outbox:ch:C0OPSALRT:digest-seq', 'inc:all', `inc:${open[0]}:timeline`, 'outbox:channels', 'runbook-actions:completed', 'audit:ops', 'audit:ops:anchor', 'escalations:delayed'];
    for (const expected of [...expectedKeys, 'audit', 'ipblock', 'security:auth-failures']) {
      expect(names).toContain(expected);
    }
    expect(names.some((n) => n.startsWith('actions:request:'))).toBe(true);
    expect(names.some((n) => n.startsWith('mcp:log-level:'))).toBe(true);
  });

  it('fails an undocumented key with its name, and a key over its documented bound', async () => {
    const markdown = fs.readFileSync(DOC, 'utf8');
    const rows = parseKeyTable(markdown);
    const bounds: Bounds = (name) => (name === 'channels' ? 1 : 0);
    const stray = `${h.prefix}:bounds-test:stray`;
    const many = `${h.prefix}:outbox:channels`;
    await h.redis.set(stray, '1');
    await h.redis.sadd(many, 'C0A', 'C0B', 'C0C');
    try {
      const found = await problems(rows, bounds, { audit: 1 });
      expect(found).toContain('bounds-test:stray: no row of docs/redis.md matches this key');
      expect(found.some((p) => p.startsWith('outbox:channels: set of') && p.includes('over its bound channels = 1'))).toBe(true);
    } finally {
      await h.redis.del(stray);
    }
  });
});
