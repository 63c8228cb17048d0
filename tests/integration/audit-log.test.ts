import { createAuditLog, entryHash, type AuditEntry } from '../../lib/audit-log';
import { deletePrefix, testPrefix, testRedis } from '../helpers/redis';

describe('ops audit log (hash chain in real Redis)', () => {
  const redis = testRedis();
  let prefix: string;
  beforeEach(() => {
    prefix = testPrefix('audit');
  });
  afterEach(async () => deletePrefix(redis, prefix));
  afterAll(async () => redis.quit());

  it('appends a chain whose links and hashes verify', async () => {
    const log = createAuditLog({ redis, prefix });
    const a = await log.append({ kind: 'request', actor: 'U0ALICE', action: 'restart', incidentId: 'INC-1', requestId: 'r1', target: 'mcp-server' });
    const b = await log.append({ kind: 'result', actor: 'system:workers', action: 'restart', incidentId: 'INC-1', requestId: 'r1', outcome: 'ok' });
    expect(a.seq).toBe(1);
    expect(b.seq).toBe(2);
    expect(b.prev).toBe(a.hash);
    expect(a.prev).toMatch(/^0{64}$/);
    expect(await log.verify()).toEqual({ ok: true, entries: 2 });
    expect((await log.read({ requestId: 'r1' })).map((e) => e.kind)).toEqual(['request', 'result']);
  });

  it('keeps one chain under concurrent appends from several clients', async () => {
    const others = [testRedis(), testRedis(), testRedis()];
    try {
      // Ten writers (as ten processes would be) over three connections: every one of them races the others.
      const logs = Array.from({ length: 10 }, (_, i) => createAuditLog({ redis: others[i % others.length]!, prefix }));
      await Promise.all(Array.from({ length: 60 }, (_, i) => logs[i % logs.length]!.append({ kind: 'request', actor: `U${i}`, action: 'health_check' })));
      const entries = await createAuditLog({ redis, prefix }).read();
      expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
      expect(await createAuditLog({ redis, prefix }).verify()).toEqual({ ok: true, entries: 60 });
    } finally {
      await Promise.all(others.map((r) => r.quit()));
    }
  });

  it('detects an edited entry, a deleted entry and a truncated tail', async () => {
    const log = createAuditLog({ redis, prefix });
    for (let i = 0; i < 5; i++) await log.append({ kind: 'request', actor: 'U0BOB', action: 'block_ip', target: `203.0.113.${i}` });
    const entries = await log.read();

    // Streams only append, so an attacker with Redis access rewrites the stream: same ids, one entry changed.
    async function rewrite(rows: AuditEntry[]) {
      await redis.del(log.keys.stream);
      for (const { id, ...stored } of rows) await redis.xadd(log.keys.stream, id, 'e', JSON.stringify(stored));
    }
    const edited = { ...entries[2]!, target: '198.51.100.9' };
    await rewrite([...entries.slice(0, 2), edited, ...entries.slice(3)]);
    const afterEdit = await log.verify();
    expect(afterEdit.ok).toBe(false);
    expect(afterEdit.problem).toMatchObject({ seq: 3, reason: expect.stringContaining('edited') });

    // Re-hashing the edited entry does not help: the next entry's link breaks instead.
    const { id: _id, hash: _hash, ...body } = edited;
    await rewrite([...entries.slice(0, 2), { ...edited, hash: entryHash(body) }, ...entries.slice(3)]);
    expect((await log.verify()).problem).toMatchObject({ seq: 4, reason: expect.stringContaining('prev hash') });

    // Deleting an entry leaves a gap.
    await rewrite([...entries.slice(0, 2), ...entries.slice(3)]);
    expect((await log.verify()).problem).toMatchObject({ seq: 4, reason: expect.stringContaining('deleted') });

    // The untouched log verifies again.
    await rewrite(entries);
    expect(await log.verify()).toEqual({ ok: true, entries: 5 });
  });

  it('detects entries removed from the end', async () => {
    const log = createAuditLog({ redis, prefix });
    for (let i = 0; i < 3; i++) await log.append({ kind: 'request', actor: 'U0BOB', action: 'backup' });
    const last = (await log.read()).at(-1)!;
    await redis.xdel(log.keys.stream, last.id);
    expect((await log.verify()).problem?.reason).toContain('removed from the end');
  });

  it('refuses a malformed event and writes nothing', async () => {
    const log = createAuditLog({ redis, prefix });
    await expect(log.append({ kind: 'nonsense', actor: '' } as never)).rejects.toMatchObject({ code: 'E_VALIDATION_FAILED' });
    expect(await redis.exists(log.keys.stream, log.keys.head)).toBe(0);
  });

  it('reads by time window and exports JSON lines', async () => {
    let t = Date.parse('2026-12-01T10:00:00Z');
    const log = createAuditLog({ redis, prefix, now: () => new Date(t) });
    await log.append({ kind: 'request', actor: 'U1', incidentId: 'INC-7' });
    t += 1000;
    await log.append({ kind: 'result', actor: 'U1', incidentId: 'INC-8' });
    const lines = (await log.exportJsonLines({ incidentId: 'INC-8' })).trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ kind: 'result', incidentId: 'INC-8', seq: 2 });
  });

  it('retention trims the oldest entries (by count and by age) and what is kept still verifies; tampering after a trim is still found', async () => {
    const log = createAuditLog({ redis, prefix });
    for (let i = 0; i < 6; i++) await log.append({ kind: 'request', actor: 'U0BOB', action: 'health_check', target: `t${i}` });
    await expect(log.trim({ before: new Date(0), maxEntries: 0 })).rejects.toMatchObject({ code: 'E_VALIDATION_FAILED' });
    expect(await redis.xlen(log.keys.stream)).toBe(6);

    expect(await log.trim({ before: new Date(0), maxEntries: 4 })).toBe(2);
    expect((await log.read()).map((e) => e.seq)).toEqual([3, 4, 5, 6]);
    expect(await log.verify()).toEqual({ ok: true, entries: 4 });
    expect(await log.trim({ before: new Date(0), maxEntries: 4 })).toBe(0);
    await log.append({ kind: 'result', actor: 'system:workers', action: 'health_check' });
    expect(await log.verify()).toEqual({ ok: true, entries: 5 });

    // Deleting the oldest kept entry is not a trim: the anchor says where the chain starts.
    const kept = await log.read();
    await redis.xdel(log.keys.stream, kept[0]!.id);
    expect((await log.verify()).problem).toMatchObject({ seq: 4, reason: expect.stringContaining('sequence jumps from 2 to 4') });
    await redis.del(log.keys.stream);
    for (const { id, ...stored } of kept) await redis.xadd(log.keys.stream, id, 'e', JSON.stringify(stored));
    expect(await log.verify()).toEqual({ ok: true, entries: 5 });

    // Everything past its age: the stream empties, the chain goes on from the head.
    expect(await log.trim({ before: new Date(Date.now() + 60_000), maxEntries: 1000 })).toBe(5);
    expect(await log.verify()).toEqual({ ok: true, entries: 0 });
    const next = await log.append({ kind: 'request', actor: 'U0ALICE', action: 'backup' });
    expect(next.seq).toBe(8);
    expect(await log.verify()).toEqual({ ok: true, entries: 1 });
  });
});
