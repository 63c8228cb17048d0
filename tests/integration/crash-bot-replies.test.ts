/**
 * kill -9 of the bot between the ingest of an alert change and the outbox write of its thread reply. A real
 * bot process (bot/main.ts) reaches Redis through a gate (`startRedisGate`): a TCP proxy that stops the
 * outbox's enqueue of the reply at the door of Redis (the first client bytes carrying the reply's text), so the
 * ingest has recorded the change and the reply is not in the outbox, and the bot is SIGKILLed at that moment.
 *
 * 1. A new alert fires in an open incident, delivered as Alertmanager does (a 5xx or a connection error is
 *    retried): the delivery is not answered before the kill (the webhook waits for the reply to be queued),
 *    its retry lands on the next bot, and the `🔥` reply is in the thread exactly once.
 * 2. The group resolves, delivered once with no retry (the incident is no longer open, and no delivery
 *    follows): the next bot's start queues the owed `✅ Resolved` reply, once.
 *
 * 3. No crash, two replicas: A (through the gate) cannot get the reply into the outbox and answers 503 at its
 *    store deadline; the retry, on B, is a repeat that queues the owed reply; A's cut connection coming back
 *    doubles nothing.
 *
 * Against the intake before replies were owed (reply queued after the answer, not awaited), cases 1 and 3 fail:
 * the thread never gets the reply after the kill, and A answers 200 with the reply not queued.
 * Bounded: ~60 s (four bot processes at ~10 s each under tsx, a 5 s store deadline); processes, gate, sandbox
 * and prefix go in afterAll.
 */
import fs from 'node:fs';
import type { AlertmanagerWebhook } from '../../bot/alerts/alertmanager-payload';
import { createIncidentStore } from '../../bot/incidents/incident-store';
import { closeRedis } from '../../lib/redis';
import { firingFor, resolvedVersion } from '../helpers/fixtures';
import { deletePrefix, testPrefix, testRedis, TEST_REDIS_URL } from '../helpers/redis';
import { eventually, freePort } from '../helpers/ports';
import { alertmanagerPoster, CRASH_SECRETS, sleep, spawnNode, startCrashBed, startRedisGate, waitFor200, writeOpsConfig, type CrashBed, type RedisGate } from './crash-harness';

jest.setTimeout(120_000);

describe('kill -9 of the bot between an alert change and its thread reply', () => {
  const prefix = testPrefix('crash-replies');
  const redis = testRedis();
  const store = createIncidentStore({ redis, prefix });
  let bed: CrashBed;
  let gate: RedisGate;
  let opsConfig: string;

  beforeAll(async () => {
    opsConfig = writeOpsConfig(prefix, () => undefined);
    gate = await startRedisGate(TEST_REDIS_URL);
    bed = await startCrashBed({ redisUrl: gate.url, prefix, opsConfig });
  });

  afterAll(async () => {
    await bed?.close();
    await gate?.close();
    await deletePrefix(redis, prefix);
    await closeRedis(redis);
    fs.rmSync(opsConfig, { force: true });
  });

  /** One POST, no retry: a delivery Alertmanager does not send again. Its status, or the connection error. */
  const deliverOnce = (body: AlertmanagerWebhook, botUrl = bed.botUrl) =>
    fetch(`${botUrl}/alertmanager/webhook`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${CRASH_SECRETS.ALERTMANAGER_WEBHOOK_TOKEN}` },
      body: JSON.stringify(body),
    }).then(
      (res) => res.status,
      (err: Error) => (err.cause as { code?: string } | undefined)?.code ?? err.name,
    );

  it('the reply owed at the kill reaches the thread exactly once: by the retried delivery, and by the start alone', async () => {
    const bot1 = await bed.startBot();
    const { deliver } = alertmanagerPoster(bed.botUrl);
    const opened = firingFor('CrashReply', { fingerprint: 'a1a1000000000001' });
    expect((await deliver(opened)).status).toBe(200);
    const id = (await store.openIds())[0]!;
    const incident = await eventually(async () => {
      const i = await store.get(id);
      return i?.rootTs ? i : undefined;
    }, 20_000);
    const thread = async () => (await bed.sandbox.replies(incident.channel!, incident.rootTs!)).slice(1).map((m) => m.text);

    // 1. A second alert fires; the bot dies with its reply at the door of Redis.
    const fp = 'a1a1000000000002';
    const grown: AlertmanagerWebhook = { ...opened, alerts: [...opened.alerts, { ...opened.alerts[0]!, fingerprint: fp }] };
    const firingReply = `🔥 \`CrashReply\` is firing (\`${fp}\`)`;
    const held = gate.holdAt(`is firing (\`${fp}\`)`);
    const delivery = deliver(grown);
    await held;
    await bot1.kill9();
    // The premise: the change is recorded (the ingest ran), the reply is not in Slack.
    expect((await store.timeline(id)).filter((e) => e.type === 'alert_firing' && e.fingerprint === fp)).toHaveLength(1);
    expect(await thread()).not.toContain(firingReply);
    const bot2 = await bed.startBot();
    const answered = await delivery;
    // Not answered before the reply was queued: the first attempt met the kill, a retry the new bot.
    expect(answered.status).toBe(200);
    expect(typeof answered.attempts[0]).toBe('string');
    await eventually(async () => (await thread()).includes(firingReply), 30_000, 100).catch((err) => {
      console.log(bot1.output().slice(-3000), bot2.output().slice(-3000));
      throw err;
    });

    // 2. The group resolves, delivered once; the bot dies with the resolve's reply at the door.
    const resolvedReply = '✅ Resolved: every alert in this group is resolved (Alertmanager).';
    const heldResolve = gate.holdAt('every alert in this group is resolved');
    const shot = deliverOnce(resolvedVersion(grown));
    await heldResolve;
    await bot2.kill9();
    expect(typeof (await shot)).toBe('string');
    expect((await store.get(id))?.state).toBe('resolved');
    expect(await store.openIds()).not.toContain(id);
    expect(await thread()).not.toContain(resolvedReply);
    await bed.startBot();
    await eventually(async () => (await thread()).includes(resolvedReply), 30_000, 100);

    // Once each: a double would be sent by now (the retry and the start both queued the firing reply).
    await sleep(1500);
    const t = await thread();
    expect(t.filter((x) => x === firingReply)).toHaveLength(1);
    expect(t.filter((x) => x === resolvedReply)).toHaveLength(1);
    expect(t.indexOf(firingReply)).toBeLessThan(t.indexOf(resolvedReply));
    // Nothing is owed any more.
    expect(await redis.exists(store.keys.repliesOwed(id))).toBe(0);
    expect(await store.repliesOwing()).toEqual([]);
  });

  it('a change whose reply is not queued in time is answered 503; the retry, on another replica, queues it once', async () => {
    // Replica A: the bot the first case left running, through the gate. Replica B: its own port, straight to Redis.
    const a = bed.bots.at(-1)!;
    expect(a.alive()).toBe(true);
    const portB = await freePort();
    const b = spawnNode('bot/main.ts', { ...bed.botEnv, BOT_PORT: String(portB), REDIS_URL: TEST_REDIS_URL });
    bed.bots.push(b);
    const urlB = `http://127.0.0.1:${portB}`;
    await waitFor200(b, `${urlB}/health`);
    const opened = firingFor('CrashReplyLive', { fingerprint: 'b2b2000000000001' });
    expect(await deliverOnce(opened)).toBe(200);
    const incident = await eventually(async () => {
      for (const id of await store.openIds()) {
        const i = await store.get(id);
        if (i?.groupKey === opened.groupKey && i.rootTs) return i;
      }
      return undefined;
    }, 20_000);
    const thread = async () => (await bed.sandbox.replies(incident.channel!, incident.rootTs!)).slice(1).map((m) => m.text);

    const fp = 'b2b2000000000002';
    const grown: AlertmanagerWebhook = { ...opened, alerts: [...opened.alerts, { ...opened.alerts[0]!, fingerprint: fp }] };
    const firingReply = `🔥 \`CrashReplyLive\` is firing (\`${fp}\`)`;
    const held = gate.holdAt(`is firing (\`${fp}\`)`);
    // A's reply never reaches Redis: A answers 503 at its store deadline (5 s), so Alertmanager retries.
    expect(await deliverOnce(grown)).toBe(503);
    await held;
    expect((await store.repliesOwed(incident.id)).map((r) => r.seq)).toEqual([1]);
    expect(await thread()).not.toContain(firingReply);
    // The retry, on B: a repeat with nothing left to ingest, but the reply owed.
    expect(await deliverOnce(grown, urlB)).toBe(200);
    await eventually(async () => (await thread()).includes(firingReply), 20_000, 100);
    expect(await redis.exists(store.keys.repliesOwed(incident.id))).toBe(0);
    // A's connection comes back: what A had sent may go again, and the outbox drops it (same outbox id).
    gate.cutHeld();
    await waitFor200(a, `${bed.botUrl}/health`);
    await sleep(1500);
    expect((await thread()).filter((x) => x === firingReply)).toHaveLength(1);
    expect(await store.repliesOwing()).toEqual([]);
  });
});
