import { firingFor, resolvedVersion } from '../helpers/fixtures';
import { startBotHarness, type BotHarness } from '../helpers/bot-harness';
import { eventually } from '../helpers/ports';

jest.setTimeout(60_000);

const DAY = 86_400_000;

/**
 * Nothing the bot writes lives for ever: once resolved incidents are past the retention (default 90 days),
 * a sweep deletes them with everything that belongs to them, and the keys without an expiry are exactly
 * those there were before they existed.
 */
describe('retention', () => {
  let h: BotHarness;

  beforeAll(async () => {
    h = await startBotHarness();
  });

  afterAll(async () => {
    await h?.close();
  });

  /**
   * The diagnostics jobs an opened incident queues (`diag-INC-n-i`) wait here for a workers process this
   * test does not run; BullMQ bounds them once run (removeOnComplete 1000, removeOnFail 5000 jobs).
   */
  const isDiagnosticsJob = (key: string) => key.startsWith(`${h.prefix}:runbook-actions:diag-`);

  /** Keys under the harness prefix that would live for ever (no TTL). Keys with a TTL are bounded by it. */
  async function persistentKeys(): Promise<string[]> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await h.redis.scan(cursor, 'MATCH', `${h.prefix}:*`, 'COUNT', 500);
      cursor = next;
      for (const k of batch) if ((await h.redis.pttl(k)) === -1 && !isDiagnosticsJob(k)) keys.push(k);
    } while (cursor !== '0');
    return keys.sort();
  }

  /** An incident's whole life: opened by Alertmanager, its thread in Slack, resolved. */
  async function incidentLife(name: string, ack = false): Promise<string> {
    const firing = firingFor(name, { severity: name.endsWith('Storm') ? 'warning' : 'critical' });
    const id = await h.alert(firing);
    await h.root(firing.commonLabels.severity === 'critical' ? 'ops-critical' : 'ops-alerts', id);
    if (ack) await h.bot.incidents.acknowledge(id, { id: 'U0BOB', name: 'bob' });
    await h.alert(resolvedVersion(firing));
    await eventually(async () => (await h.bot.store.get(id))?.state === 'resolved');
    return id;
  }

  async function settled(): Promise<void> {
    await h.bot.notifier.drain(20_000);
    expect(await h.bot.outbox.idle(20_000)).toBe(true);
  }

  it('deletes resolved incidents past the retention, keeps younger and open ones, and the keyspace returns to its baseline', async () => {
    // Warm up the queues and counters every bot has once it ran (BullMQ meta, sequences), then measure.
    const warm = await incidentLife('RetentionWarmup');
    await settled();
    await h.bot.retention.sweep(new Date(Date.now() + 91 * DAY));
    expect(await h.bot.store.get(warm)).toBeUndefined();
    const baseline = await persistentKeys();

    const ids = [await incidentLife('RetentionOne'), await incidentLife('RetentionTwo', true), await incidentLife('RetentionThree')];
    const open = await h.alert(firingFor('RetentionStillOpen', { severity: 'critical' }));
    await h.root('ops-critical', open);
    await settled();
    const grown = await persistentKeys();
    expect(grown.length).toBeGreaterThan(baseline.length);

    // 89 days on: nothing is old enough yet.
    expect(await h.bot.retention.sweep(new Date(Date.now() + 89 * DAY))).toMatchObject({ deleted: 0 });
    for (const id of ids) expect((await h.bot.store.get(id))?.state).toBe('resolved');

    // 91 days on: the resolved ones go, the open one stays (whatever its age).
    expect(await h.bot.retention.sweep(new Date(Date.now() + 91 * DAY))).toMatchObject({ deleted: 3 });
    for (const id of ids) {
      expect(await h.bot.store.get(id)).toBeUndefined();
      expect(await h.bot.store.timeline(id)).toEqual([]);
    }
    expect((await h.bot.store.get(open))?.state).toBe('triggered');

    // Resolve the last one too and sweep: back to the baseline, key for key.
    await h.alert(resolvedVersion(firingFor('RetentionStillOpen', { severity: 'critical' })));
    await eventually(async () => (await h.bot.store.get(open))?.state === 'resolved');
    await settled();
    expect(await h.bot.retention.sweep(new Date(Date.now() + 91 * DAY))).toMatchObject({ deleted: 1 });
    expect(await persistentKeys()).toEqual(baseline);
  });
});
