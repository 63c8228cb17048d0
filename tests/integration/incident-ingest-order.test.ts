import { createIncidentStore } from '../../bot/incidents/incident-store';
import type { AlertmanagerWebhook } from '../../bot/alerts/alertmanager-payload';
import { firingFor, resolvedVersion } from '../helpers/fixtures';
import { startBotHarness, WEBHOOK_TOKEN, type BotHarness } from '../helpers/bot-harness';
import { deletePrefix, testPrefix, testRedis } from '../helpers/redis';
import { closeRedis } from '../../lib/redis';

/**
 * Ingest against real Redis: a notification with invalid Unicode is stored
 * whole (or not at all), and notifications that Alertmanager HA and retries
 * reorder cannot open an incident nothing will close.
 */
jest.setTimeout(60_000);

const meta = {
  priority: 'P2' as const, priorityRule: 'test', policy: 'high', route: 'ops-critical', title: 'Order', summary: '',
  labels: { alertname: 'Order' }, generatorURL: '', runbookUrl: '', externalURL: '',
};

const later = (p: AlertmanagerWebhook, ms: number): AlertmanagerWebhook => ({
  ...p,
  alerts: p.alerts.map((a) => ({ ...a, startsAt: new Date(Date.parse(a.startsAt) + ms).toISOString() })),
});

describe('ingest order: stale firing after resolve, resolve before firing (real Redis)', () => {
  const redis = testRedis();
  const prefix = testPrefix('order');
  const store = createIncidentStore({ redis, prefix });
  afterAll(async () => {
    await deletePrefix(redis, prefix);
    await closeRedis(redis);
  });

  it('a firing re-sent after its resolve (same fingerprint and startsAt) opens nothing and pages nobody', async () => {
    const p = firingFor('StaleAfterResolve');
    const opened = await store.ingest(p, meta);
    expect((await store.ingest(resolvedVersion(p), meta)).resolvedNow).toBe(true);
    const stale = await store.ingest(p, meta);
    expect(stale).toMatchObject({ incidentId: '', created: false });
    expect(await store.openIds()).not.toContain(opened.incidentId);
    expect((await store.openIds()).length).toBe(0);
    // The alert firing again later is a new episode.
    const again = await store.ingest(later(p, 60_000), meta);
    expect(again.created).toBe(true);
    await store.transition(again.incidentId, { from: ['triggered'], to: 'resolved', event: { type: 'resolved', by: 'test' } });
  });

  it('a resolve that overtook its firing keeps that firing from opening an incident nothing would close', async () => {
    const p = firingFor('ResolveFirst');
    expect((await store.ingest(resolvedVersion(p), meta)).incidentId).toBe('');
    const late = await store.ingest(p, meta);
    expect(late).toMatchObject({ incidentId: '', created: false });
    expect(await store.openIds()).toEqual([]);
  });

  it('a resolve of an older episode does not close the newer firing', async () => {
    const p = firingFor('OlderResolve');
    const newer = later(p, 120_000);
    const opened = await store.ingest(newer, meta);
    const old = await store.ingest(resolvedVersion(p), meta);
    expect(old).toMatchObject({ incidentId: opened.incidentId, resolvedNow: false, changed: false });
    expect(await store.get(opened.incidentId)).toMatchObject({ state: 'triggered', firing: 1, resolved: 0 });
    expect((await store.ingest(resolvedVersion(newer), meta)).resolvedNow).toBe(true);
  });

  it("a group's memory of its alerts is bounded: old resolves are forgotten past 5,000 entries, firing ones kept", async () => {
    const p = firingFor('BigHistory');
    const oldStart = new Date(Date.now() - 3 * 86_400_000).toISOString();
    const resolvedOld = Array.from({ length: 6000 }, (_, i) => ({ ...p.alerts[0]!, status: 'resolved' as const, startsAt: oldStart, fingerprint: (0x10000 + i).toString(16) }));
    const r = await store.ingest({ ...p, alerts: [p.alerts[0]!, ...resolvedOld] }, meta);
    expect(await store.get(r.incidentId)).toMatchObject({ firing: 1, resolved: 6000, state: 'triggered' });
    const seen = `${store.keys.openEpisode(p.receiver, p.groupKey)}:seen`;
    expect(await redis.hlen(seen)).toBeLessThanOrEqual(5000);
    expect(await redis.hget(seen, p.alerts[0]!.fingerprint)).toMatch(/^firing\|/);
    // The episode's alert records are bounded too; the counts stay right.
    expect(await redis.hlen(store.keys.alerts(r.incidentId))).toBeLessThanOrEqual(5000);
    expect(Object.keys(await store.alerts(r.incidentId))).toContain(p.alerts[0]!.fingerprint);
    const more = await store.ingest({ ...p, alerts: [{ ...p.alerts[0]!, fingerprint: 'beef01' }] }, meta);
    expect(more.transitions).toHaveLength(1);
    expect(await store.get(r.incidentId)).toMatchObject({ firing: 2, resolved: 6000 });
  });
});

describe('invalid Unicode in a notification (real bot, real Redis)', () => {
  let h: BotHarness;
  beforeAll(async () => {
    h = await startBotHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  const post = (body: string) =>
    fetch(`${h.botUrl}/alertmanager/webhook`, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${WEBHOOK_TOKEN}` }, body });

  it('a label with a lone UTF-16 surrogate is stored whole, pages, and later notifications of the group still work', async () => {
    const p = firingFor('Surrogate', { severity: 'critical' });
    p.alerts[0]!.labels = { ...p.alerts[0]!.labels, detail: 'bad \ud800 value' };
    p.commonAnnotations = { summary: 'lone \udc00 surrogate' };
    const body = JSON.stringify(p);
    expect(body).toContain('\\ud800');
    const first = await post(body);
    expect(first.status).toBe(200);
    const { incident } = (await first.json()) as { incident: string };
    const stored = await h.bot.store.get(incident);
    expect(stored).toMatchObject({ state: 'triggered', firing: 1, resolved: 0, summary: 'lone \ufffd surrogate' });
    expect(Object.values(await h.bot.store.alerts(incident))[0]!.labels.detail).toBe('bad \ufffd value');
    await h.root('ops-critical', incident);
    const again = await post(body);
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ incident, created: false, changed: false });
    const resolved = await post(JSON.stringify(resolvedVersion(p)));
    expect(resolved.status).toBe(200);
    expect((await h.bot.store.get(incident))?.state).toBe('resolved');
  });
});
