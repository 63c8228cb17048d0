/**
 * Redis restarted in the middle of an alert storm (issue 13). A private
 * redis-server that this test starts (free port, temp dir, appendonly yes,
 * appendfsync always) under a real bot process; 24 groups of 10 alerts
 * delivered as Alertmanager does (retrying 5xx and connection errors). After a
 * third of the deliveries Redis is SIGKILLed; it stays down ~3 s and is started
 * again on the same port and dir (its AOF).
 * - While it is down, deliveries are answered 503 (so Alertmanager retries),
 *   promptly, and /health says 503 too.
 * - Before any retry is let through, every delivery answered 2xx so far is in
 *   Redis: its incident and each of its fingerprints.
 * - The bot recovers by itself (ioredis reconnects, the outbox's BullMQ worker
 *   resumes): /health is 200 again, the retries go through, and in the end every
 *   group is one incident shown exactly once in Slack with all its fingerprints.
 * And a Redis that hangs with its connections up (CLIENT PAUSE): /health and the
 * webhook answer 503 within their deadlines instead of hanging; the retry lands once.
 * Bounded: ~50 s; the redis-server, its dir, the bot and the sandbox go in afterAll.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createIncidentStore } from '../../bot/incidents/incident-store';
import { closeRedis, createRedis } from '../../lib/redis';
import { eventually, freePort } from '../helpers/ports';
import { testPrefix } from '../helpers/redis';
import { bounded, createAofRedis } from './escalation-aof-redis';
import { alertmanagerPoster, playStorm, showing, sleep, startCrashBed, stormGroup, writeOpsConfig, type CrashBed } from './crash-harness';

jest.setTimeout(120_000);

const GROUPS = 24;
const ALERTS = 10;
const DOWN_MS = 3000;

describe('Redis (AOF) restarted during an alert storm, under a real bot process', () => {
  const prefix = testPrefix('crash-redis');
  let dir: string;
  let redisServer: ReturnType<typeof createAofRedis>;
  let redis: ReturnType<typeof createRedis>;
  let bed: CrashBed;
  let opsConfig: string;
  const lastResort = () => {
    redisServer?.killNow();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mfo-crash-redis-'));
    redisServer = createAofRedis(await freePort(), dir);
    process.once('exit', lastResort);
    await redisServer.start();
    redis = createRedis(redisServer.url);
    redis.on('error', () => undefined);
    opsConfig = writeOpsConfig(prefix, () => undefined);
    bed = await startCrashBed({ redisUrl: redisServer.url, prefix, opsConfig });
  }, 30_000);

  afterAll(async () => {
    try {
      if (!redisServer.alive()) await redisServer.start(3000).catch(() => undefined);
      await bed?.close();
      if (redis) await bounded(closeRedis(redis), 3000);
    } finally {
      await redisServer.kill();
      fs.rmSync(dir, { recursive: true, force: true });
      fs.rmSync(opsConfig, { force: true });
      process.removeListener('exit', lastResort);
    }
  }, 30_000);

  it('2xx deliveries survive the restart, the others get a 5xx and are retried; the bot recovers and says so', async () => {
    await bed.startBot();
    const store = createIncidentStore({ redis, prefix });
    const poster = alertmanagerPoster(bed.botUrl);
    const groups = Array.from({ length: GROUPS }, (_, g) => stormGroup(`RedisStorm${g}`, ALERTS));
    const total = GROUPS * 3;
    const health: Array<{ at: number; status: number | string }> = [];
    const probeHealth = async () => {
      const started = Date.now();
      try {
        const res = await fetch(`${bed.botUrl}/health`, { signal: AbortSignal.timeout(3000) });
        await res.arrayBuffer();
        health.push({ at: started, status: res.status });
      } catch (err) {
        health.push({ at: started, status: (err as Error).name });
      }
    };
    let outage: Promise<void> | undefined;
    const window = { downAt: 0, upAt: 0 };
    let answeredBeforeUp = 0;

    const restartRedis = async () => {
      window.downAt = Date.now();
      await redisServer.kill(); // SIGKILL: with appendfsync always, every acknowledged write is in the AOF
      const until = Date.now() + DOWN_MS;
      while (Date.now() < until) {
        await probeHealth();
        await sleep(300);
      }
      // No retry goes out until the check below: what Redis holds now is what it kept.
      poster.hold();
      await eventually(async () => poster.inFlight() === 0 || undefined, 15_000, 50);
      await redisServer.start();
      window.upAt = Date.now();
      answeredBeforeUp = poster.sent.length;
      for (const d of poster.sent.slice(0, answeredBeforeUp)) {
        if (d.status !== 200) continue;
        const incident = await eventually(async () => {
          for (const id of await store.openIds()) if ((await store.get(id))?.groupKey === d.body.groupKey) return id;
          return undefined;
        }, 5000);
        const kept = Object.keys(await store.alerts(incident));
        for (const a of d.body.alerts) expect([d.body.groupKey, kept.includes(a.fingerprint!)]).toEqual([d.body.groupKey, true]);
      }
      poster.release();
      await eventually(async () => (await fetch(`${bed.botUrl}/health`)).status === 200 || undefined, 20_000, 200);
    };

    const deliveries = await playStorm(groups, poster.deliver, 6, (n) => {
      if (n === Math.floor(total / 3) && !outage) outage = restartRedis();
    });
    await outage;
    expect(deliveries).toHaveLength(total);
    expect(deliveries.every((d) => d.status === 200)).toBe(true);
    expect(answeredBeforeUp).toBeGreaterThanOrEqual(Math.floor(total / 3));

    // During the outage: deliveries were answered 5xx (not left hanging until the client gave up), and /health said so.
    const failed = deliveries.filter((d) => d.attempts.some((a) => a !== 200));
    expect(failed.length).toBeGreaterThan(0);
    for (const d of failed) for (const a of d.attempts.slice(0, -1)) expect([d.body.groupKey, a]).toEqual([d.body.groupKey, 503]);
    const during = health.filter((h) => h.at >= window.downAt && h.at < window.upAt);
    expect(during.length).toBeGreaterThan(0);
    for (const h of during) expect(h.status).toBe(503);

    // The end state: one incident per group, every fingerprint, each shown once in Slack.
    const ids = await store.openIds();
    expect(ids).toHaveLength(GROUPS);
    const byGroup = new Map<string, string>();
    for (const id of ids) byGroup.set((await store.get(id))!.groupKey, id);
    expect(byGroup.size).toBe(GROUPS);
    for (const g of groups) {
      const id = byGroup.get(g.groupKey)!;
      expect([g.groupKey, Object.keys(await store.alerts(id)).sort()]).toEqual([g.groupKey, g.alerts.map((a) => a.fingerprint).sort()]);
    }
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
    for (const id of ids) expect([id, showing(tops, id).length]).toEqual([id, 1]);
    console.log(
      `redis restart: down ${window.upAt - window.downAt} ms; ${failed.length} deliveries answered 503 and retried ` +
        `(${failed.reduce((n, d) => n + d.attempts.length - 1, 0)} retries); /health during the outage: ${during.map((h) => h.status).join(',')}`,
    );
  });

  it('a Redis that hangs (CLIENT PAUSE) gets a 503 within the store deadline, not a hung delivery; the retry lands once', async () => {
    const store = createIncidentStore({ redis, prefix });
    const poster = alertmanagerPoster(bed.botUrl);
    const group = stormGroup('RedisHang', 4);
    const admin = createRedis(redisServer.url);
    admin.on('error', () => undefined);
    try {
      // Every client's commands wait for 7 s; the connections stay up, so ioredis still says "ready".
      await admin.call('CLIENT', 'PAUSE', '7000', 'ALL');
      const health = await fetch(`${bed.botUrl}/health`, { signal: AbortSignal.timeout(5000) });
      expect(health.status).toBe(503);
      const delivery = await poster.deliver(group);
      expect(delivery.status).toBe(200);
      // The first attempt was answered 503 by the bot's deadline (5 s), before the poster's own 10 s timeout.
      expect(delivery.attempts[0]).toBe(503);
      expect(delivery.attempts.at(-1)).toBe(200);
    } finally {
      await closeRedis(admin);
    }
    const ids: string[] = [];
    for (const id of await store.openIds()) if ((await store.get(id))?.groupKey === group.groupKey) ids.push(id);
    expect(ids).toHaveLength(1);
    expect(Object.keys(await store.alerts(ids[0]!)).sort()).toEqual(group.alerts.map((a) => a.fingerprint).sort());
    expect((await fetch(`${bed.botUrl}/health`)).status).toBe(200);
  });
});
