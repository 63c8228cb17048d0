import { createIncidentStore, REPLIES_OWED_MAX, REPLY_TRANSITIONS_KEPT } from '../../bot/incidents/incident-store';
import type { AlertmanagerWebhook } from '../../bot/alerts/alertmanager-payload';
import { closeRedis } from '../../lib/redis';
import { alertmanagerFixture, firingFor, resolvedVersion } from '../helpers/fixtures';
import { deletePrefix, testPrefix, testRedis } from '../helpers/redis';

const meta = {
  priority: 'P2' as const,
  priorityRule: 'severity high',
  policy: 'high',
  route: 'ops-critical',
  title: 'HighErrorRate',
  summary: 'Error rate above 5%',
  labels: { alertname: 'HighErrorRate' },
  generatorURL: '',
  runbookUrl: '',
  externalURL: '',
};

describe('incident store (real Redis)', () => {
  const redis = testRedis();
  const prefix = testPrefix('store');
  const store = createIncidentStore({ redis, prefix });

  afterAll(async () => {
    await deletePrefix(redis, prefix);
    await closeRedis(redis);
  });

  it('opens one incident per group and ignores an identical repeat', async () => {
    const p = firingFor('RepeatGroup');
    const first = await store.ingest(p, meta);
    const again = await store.ingest(p, meta);
    expect(first).toMatchObject({ created: true, changed: true });
    expect(first.incidentId).toMatch(/^INC-\d+$/);
    expect(again).toMatchObject({ incidentId: first.incidentId, created: false, changed: false, transitions: [] });
    const incident = await store.get(first.incidentId);
    expect(incident).toMatchObject({ state: 'triggered', firing: 1, resolved: 0, version: 1, priority: 'P2' });
  });

  it('creates exactly one incident when 20 replicas receive the same notification at once', async () => {
    const p = firingFor('ConcurrentGroup');
    const results = await Promise.all(Array.from({ length: 20 }, () => store.ingest(p, meta)));
    const ids = new Set(results.map((r) => r.incidentId));
    expect(ids.size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
  });

  it("counts each alert's own status: a firing group with one resolved alert", async () => {
    const p = firingFor('MixedGroup');
    const second = { ...p.alerts[0]!, fingerprint: 'aaaa000000000001', status: 'resolved' as const };
    const mixed: AlertmanagerWebhook = { ...p, alerts: [p.alerts[0]!, second] };
    const r = await store.ingest(mixed, meta);
    expect(await store.get(r.incidentId)).toMatchObject({ firing: 1, resolved: 1, state: 'triggered' });
  });

  it('resolves when every alert resolves, and a later firing opens a new episode', async () => {
    const p = firingFor('EpisodeGroup');
    const opened = await store.ingest(p, meta);
    const resolved = await store.ingest(resolvedVersion(p), meta);
    expect(resolved).toMatchObject({ incidentId: opened.incidentId, resolvedNow: true });
    expect((await store.get(opened.incidentId))?.state).toBe('resolved');
    const duplicateResolve = await store.ingest(resolvedVersion(p), meta);
    expect(duplicateResolve.incidentId).toBe('');
    // The same firing again (same startsAt) is a re-send of the resolved episode: nothing opens (issue 7.6).
    expect((await store.ingest(p, meta)).incidentId).toBe('');
    const later = firingFor('EpisodeGroup');
    later.alerts[0]!.startsAt = new Date(Date.parse(p.alerts[0]!.startsAt) + 600_000).toISOString();
    const reopened = await store.ingest(later, meta);
    expect(reopened.created).toBe(true);
    expect(reopened.incidentId).not.toBe(opened.incidentId);
  });

  it('never opens an incident for a resolved notification of a group it never saw', async () => {
    const r = await store.ingest(alertmanagerFixture('high-error-rate.resolved'), meta);
    expect(r).toMatchObject({ incidentId: '', created: false });
  });

  it('keeps an append-only timeline of what happened', async () => {
    const p = firingFor('TimelineGroup');
    const { incidentId } = await store.ingest(p, meta);
    await store.ingest(resolvedVersion(p), meta);
    const types = (await store.timeline(incidentId)).map((e) => e.type);
    expect(types).toEqual(['opened', 'alert_firing', 'alert_resolved', 'resolved']);
  });

  it('lets only the first replica record the root message', async () => {
    const { incidentId } = await store.ingest(firingFor('RootGroup'), meta);
    expect(await store.setRootMessage(incidentId, 'C1', '1.000001')).toBe(true);
    expect(await store.setRootMessage(incidentId, 'C1', '2.000002')).toBe(false);
    expect((await store.get(incidentId))?.rootTs).toBe('1.000001');
  });

  describe('replies owed for alert changes', () => {
    /** The group `p` with one more firing alert, fingerprint `fp`. */
    const grown = (p: AlertmanagerWebhook, fp: string): AlertmanagerWebhook => ({ ...p, alerts: [...p.alerts, { ...p.alerts[0]!, fingerprint: fp }] });

    it('records each change of an open incident as owed, in the same step, until cleared; a repeat or a new incident owes nothing', async () => {
      const p = firingFor('OwedGroup');
      const opened = await store.ingest(p, meta);
      expect(opened.owed).toBeUndefined();
      expect(await store.repliesOwing()).not.toContain(opened.incidentId);
      const two = grown(p, 'bbbb000000000001');
      const changed = await store.ingest(two, meta);
      expect(changed.owed).toEqual({
        incidentId: opened.incidentId,
        replies: [{ seq: 1, transitions: [{ fingerprint: 'bbbb000000000001', alertname: 'OwedGroup', status: 'firing' }], total: 1, resolvedNow: false, earlier: 0 }],
      });
      expect(await store.repliesOwing()).toContain(opened.incidentId);
      // Not cleared (the caller died): the next delivery, a repeat that changes nothing, still gets it, and the next change too.
      expect((await store.ingest(two, meta)).owed?.replies.map((r) => r.seq)).toEqual([1]);
      const resolved = await store.ingest(resolvedVersion(two), meta);
      expect(resolved.owed?.replies.map((r) => [r.seq, r.resolvedNow, r.total])).toEqual([[1, false, 1], [2, true, 2]]);
      // A retried resolve finds no open incident, but the replies its incident still owes.
      const retried = await store.ingest(resolvedVersion(two), meta);
      expect(retried.incidentId).toBe('');
      expect(retried.owed).toMatchObject({ incidentId: opened.incidentId, replies: [{ seq: 1 }, { seq: 2 }] });
      // Cleared batches go; a batch recorded meanwhile stays (here: only 1 is cleared).
      await store.clearReplies(opened.incidentId, [1]);
      expect((await store.repliesOwed(opened.incidentId)).map((r) => r.seq)).toEqual([2]);
      expect(await store.repliesOwing()).toContain(opened.incidentId);
      await store.clearReplies(opened.incidentId, [2]);
      expect(await store.repliesOwed(opened.incidentId)).toEqual([]);
      expect(await redis.exists(store.keys.repliesOwed(opened.incidentId))).toBe(0);
      expect(await store.repliesOwing()).not.toContain(opened.incidentId);
      expect((await store.ingest(two, meta)).owed).toBeUndefined();
      expect((await store.ingest(resolvedVersion(two), meta)).owed).toBeUndefined();
    });

    it(`keeps at most ${REPLIES_OWED_MAX} batches, the oldest summed into the newest, and ${REPLY_TRANSITIONS_KEPT} changes a batch`, async () => {
      const p = firingFor('OwedBound');
      const { incidentId } = await store.ingest(p, meta);
      // A storm in one delivery: 60 new alerts.
      const storm: AlertmanagerWebhook = { ...p, alerts: [...p.alerts, ...Array.from({ length: 60 }, (_, i) => ({ ...p.alerts[0]!, fingerprint: `cccc${String(i).padStart(12, '0')}` }))] };
      const first = await store.ingest(storm, meta);
      expect(first.owed?.replies[0]).toMatchObject({ seq: 1, total: 60 });
      expect(first.owed?.replies[0]!.transitions).toHaveLength(REPLY_TRANSITIONS_KEPT);
      // Then REPLIES_OWED_MAX single changes, none ever cleared: the first batch (60 changes) leaves, counted in the newest.
      let last = first;
      for (let i = 0; i < REPLIES_OWED_MAX; i += 1) last = await store.ingest({ ...storm, alerts: [...storm.alerts, { ...p.alerts[0]!, fingerprint: `dddd${String(i).padStart(12, '0')}` }] }, meta);
      const replies = last.owed!.replies;
      expect(replies).toHaveLength(REPLIES_OWED_MAX);
      expect(replies.map((r) => r.seq)).toEqual(Array.from({ length: REPLIES_OWED_MAX }, (_, i) => i + 2));
      expect(replies.at(-1)).toMatchObject({ total: 1, earlier: 60 });
      expect(await redis.hlen(store.keys.repliesOwed(incidentId))).toBe(REPLIES_OWED_MAX);
    });
  });
});
