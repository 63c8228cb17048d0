/**
 * kill -9 of the bot process in the middle of an alert storm (issue 13). 24
 * groups of 10 alerts (240 fingerprints) are delivered the way Alertmanager
 * delivers them (first half of the group, the grown group, a resend; 6 groups
 * at a time; a 5xx or a connection error is retried with backoff). After a
 * third of the deliveries the bot process is SIGKILLed and a new one started
 * at once; the poster's retries land on the new process. In the end every
 * group is one incident, shown exactly once in Slack (its own root or a line
 * of the storm digest), every fingerprint recorded in its incident, nothing
 * lost, nothing doubled; every incident's opening (escalation, diagnostics) completed once, those the killed
 * bot owed by the new one when their lease ran out. Bounded: ~20 s (the dead bot's channel pump is taken over
 * once its 5 s lock lapses; a lane whose post was in flight at the kill waits out the outbox's 30 s lease);
 * processes, sandbox and prefix go in afterAll.
 */
import fs from 'node:fs';
import { createIncidentStore } from '../../bot/incidents/incident-store';
import { closeRedis } from '../../lib/redis';
import { eventually } from '../helpers/ports';
import { deletePrefix, testPrefix, testRedis, TEST_REDIS_URL } from '../helpers/redis';
import { alertmanagerPoster, playStorm, showing, startCrashBed, stormGroup, writeOpsConfig, type CrashBed, type NodeProcess } from './crash-harness';

jest.setTimeout(120_000);

const GROUPS = 24;
const ALERTS = 10;

describe('kill -9 of the bot process during an alert storm', () => {
  const prefix = testPrefix('crash-storm');
  const redis = testRedis();
  const store = createIncidentStore({ redis, prefix });
  let bed: CrashBed;
  let opsConfig: string;

  beforeAll(async () => {
    opsConfig = writeOpsConfig(prefix, () => undefined);
    // A short opening lease: openings the killed bot owed are taken over by the new one within the test's time.
    bed = await startCrashBed({ redisUrl: TEST_REDIS_URL, prefix, opsConfig, env: { OPENING_LEASE_MS: '2000' } });
  });

  afterAll(async () => {
    await bed?.close();
    await deletePrefix(redis, prefix);
    await closeRedis(redis);
    fs.rmSync(opsConfig, { force: true });
  });

  it('every group ends as one incident shown once in Slack, every fingerprint recorded', async () => {
    const first = await bed.startBot();
    const { deliver } = alertmanagerPoster(bed.botUrl);
    const groups = Array.from({ length: GROUPS }, (_, g) => stormGroup(`CrashStorm${g}`, ALERTS));
    const total = GROUPS * 3;
    let restarted: Promise<NodeProcess> | undefined;
    let killedAt = 0;
    const deliveries = await playStorm(groups, deliver, 6, (n) => {
      if (n === Math.floor(total / 3) && !restarted) {
        killedAt = n;
        restarted = first.kill9().then(() => bed.startBot());
      }
    });
    await restarted;
    expect(killedAt).toBeGreaterThan(0);
    expect(deliveries).toHaveLength(total);
    expect(deliveries.every((d) => d.status === 200)).toBe(true);
    // The premise: deliveries met the dead bot (connection errors) and were retried until the new one took them.
    const retried = deliveries.filter((d) => d.attempts.some((a) => typeof a === 'string'));
    expect(retried.length).toBeGreaterThan(0);

    // One incident per group, every fingerprint in it.
    const ids = await store.openIds();
    expect(ids).toHaveLength(GROUPS);
    const byGroup = new Map<string, string>();
    for (const id of ids) {
      const incident = (await store.get(id))!;
      expect(byGroup.has(incident.groupKey)).toBe(false);
      byGroup.set(incident.groupKey, id);
    }
    for (const g of groups) {
      const id = byGroup.get(g.groupKey);
      expect([g.groupKey, id === undefined]).toEqual([g.groupKey, false]);
      expect(Object.keys(await store.alerts(id!)).sort()).toEqual(g.alerts.map((a) => a.fingerprint).sort());
    }

    // Slack catches up: each incident shows exactly once at the top of the channel.
    let tops = await bed.sandbox.history('ops-alerts');
    await eventually(
      async () => {
        tops = await bed.sandbox.history('ops-alerts');
        const missing = ids.filter((id) => showing(tops, id).length === 0);
        if (missing.length) throw new Error(`not in Slack yet: ${missing.join(' ')}`);
        return true;
      },
      60_000,
      500,
    ).catch((err) => {
      for (const b of bed.bots) console.log(b.output().slice(-3000));
      throw err;
    });
    for (const id of ids) {
      expect([id, showing(tops, id).length]).toEqual([id, 1]);
      expect((await store.get(id))!.rootTs).toBeDefined();
    }
    // Every opening completed (the killed bot's ones by the new bot, once its lease ran out), and no escalation
    // step fired twice for an incident.
    await eventually(async () => (await redis.zcard(store.keys.openings)) === 0, 30_000, 250);
    for (const id of ids) {
      expect([id, (await store.get(id))!.openHandled]).toEqual([id, true]);
      const steps = (await store.timeline(id)).filter((e) => e.type === 'escalation_step').map((e) => `${e.step}/${e.round}`);
      expect([id, steps.length]).toEqual([id, new Set(steps).size]);
    }
    // Roots and digests only: no top-level message is about no incident, none is doubled.
    const rootLike = tops.filter((m) => !m.thread_ts || m.thread_ts === m.ts);
    expect(new Set(rootLike.map((m) => m.text)).size).toBe(rootLike.length);
    console.log(`storm: ${total} deliveries, bot killed after ${killedAt}, ${retried.length} retried across the restart; ${rootLike.length} top-level messages for ${GROUPS} incidents`);
  });
});
