import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { EscalationEngine } from '../../bot/escalation/engine';
import { freePort } from '../../lib/http';
import { redisAnswers } from '../../lib/redis';
import { eventually } from '../helpers/ports';
import { bounded, createAofRedis } from './escalation-aof-redis';
import { createEscalationHarness, sleep, type EscalationHarness } from './escalation-harness';

/**
 * Restart-safe escalation (issue 4): a Redis restart with AOF loses no step and
 * fires none twice. A private redis-server (AOF, fsync always) that the test
 * shuts down with SHUTDOWN and starts again on the same port and dir, under the
 * bot's real store, outbox, notifier and escalation engine; Slack is the sandbox.
 *
 * ESCALATION_TIME_SCALE 0.002: steps at 0 s, 1.8 s, 2.4 s and 4.8 s, the P1 SLA at 1.8 s.
 * Redis goes down right after step 1 fired and comes back once steps 2, 3 and
 * the SLA deadline are past, so they come due while it is down; step 4 comes due after.
 * Bounded: setup 10 s, each test 20 s, teardown 10 s; the redis-server and its dir go even on failure.
 */
const CONFIG = `
routing:
  rules: []
escalation:
  policies:
    drill:
      steps:
        - { after: 0m, notify: oncall_primary }
        - { after: 15m, notify: oncall_secondary }
        - { after: 20m, notify: usergroup:ops-leads }
        - { after: 40m, notify: channel }
  by_priority: { P1: drill, P2: drill, P3: drill, P4: drill }
`;
const STEPS = ['r0-s0', 'r0-s1', 'r0-s2', 'r0-s3'];
/** Redis stays down until this long after the incident opened: past steps 2 and 3 (1.8 s, 2.4 s). */
const DOWN_UNTIL_MS = 3000;

describe('escalation across a Redis restart with AOF (private redis-server, sandbox Slack)', () => {
  let dir: string;
  let redis: ReturnType<typeof createAofRedis>;
  let h: EscalationHarness | undefined;
  const lastResort = () => {
    redis?.killNow();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mfo-esc-aof-'));
    redis = createAofRedis(await freePort(), dir);
    // A jest worker that dies on a timeout still takes its redis-server with it.
    process.once('exit', lastResort);
    await redis.start();
    h = await createEscalationHarness({ timeScale: 0.002, configYaml: CONFIG, redisUrl: redis.url });
  }, 10_000);

  afterAll(async () => {
    try {
      // A test that failed while Redis was down: bring it back so every connection closes cleanly.
      if (!redis.alive()) await redis.start(3000).catch(() => undefined);
      if (h) await bounded(h.close(), 6000);
    } finally {
      await redis.kill();
      fs.rmSync(dir, { recursive: true, force: true });
      process.removeListener('exit', lastResort);
    }
  }, 10_000);

  const stepNumber = (text: string) => [1, 2, 3, 4].find((n) => text.includes(`Escalation step ${n} of 4`));

  /** Opens a P1 incident with the engine told, waits for step 1 on the timeline, and returns its id and due times. */
  async function openAndFireFirst(engine: EscalationEngine) {
    const id = await h!.openIncident('P1');
    await engine.opened(id);
    // Step 1 is due at once (it may have fired already); the others are pending.
    const due = new Map((await engine.pending(id)).map((p) => [p.id, new Date(p.dueAt).getTime()]));
    expect([...due.keys()].slice(-3)).toEqual(STEPS.slice(1));
    await eventually(async () => (await h!.firedSteps(id)).length >= 1, 10_000);
    return { id, due, createdAt: new Date((await h!.store.get(id))!.createdAt).getTime() };
  }

  /** SHUTDOWN, stay down until steps 2 and 3 came due, start again on the same port and dir. */
  async function restartRedis(createdAt: number): Promise<{ downAt: number; upAt: number }> {
    const downAt = Date.now();
    await redis.shutdown();
    expect(await redisAnswers(redis.url, 300)).toBe(false);
    await sleep(Math.max(0, createdAt + DOWN_UNTIL_MS - Date.now()));
    const upAt = Date.now();
    await redis.start();
    return { downAt, upAt };
  }

  /** Every step once on the timeline and in Slack, the SLA breach once; steps 2 and 3 came due while Redis was down. */
  async function expectEveryStepOnce(id: string, due: Map<string, number>, window: { downAt: number; upAt: number }): Promise<void> {
    await eventually(async () => (await h!.escalations(id)).length >= 4 && (await h!.breaches(id)).length >= 1, 10_000);
    await sleep(600); // a double would be queued by now
    await h!.settle();

    const steps = await h!.firedSteps(id);
    expect(steps.map((e) => e.step).sort()).toEqual(STEPS);
    for (const stepId of ['r0-s1', 'r0-s2']) {
      // The premise: it came due while Redis was down, and fired after Redis was back.
      expect(due.get(stepId)!).toBeGreaterThan(window.downAt);
      expect(due.get(stepId)!).toBeLessThan(window.upAt);
      expect(new Date(steps.find((e) => e.step === stepId)!.firedAt!).getTime()).toBeGreaterThanOrEqual(window.upAt);
    }
    for (const e of steps) expect(new Date(e.firedAt!).getTime()).toBeGreaterThanOrEqual(new Date(e.dueAt!).getTime());
    expect(due.get('r0-s3')!).toBeGreaterThan(window.upAt);
    expect((await h!.store.timeline(id)).filter((e) => e.type === 'sla_breached')).toHaveLength(1);

    // Slack: each step once, in the thread of the one root; step 1 before the outage, step 4 last.
    const msgs = await h!.escalations(id);
    expect(msgs.map(stepNumber).sort()).toEqual([1, 2, 3, 4]);
    expect(stepNumber(msgs[0]!)).toBe(1);
    expect(stepNumber(msgs[3]!)).toBe(4);
    expect(await h!.breaches(id)).toEqual(['⏱️ SLA breached: P1 response time 15m exceeded']);
    const incident = (await h!.store.get(id))!;
    expect((await h!.sandbox.history(incident.channel!)).map((m) => m.ts)).toEqual([incident.rootTs]);
    expect(await h!.ratelimited()).toEqual({});
    expect(await h!.queuedJobs(id)).toHaveLength(0);
  }

  it('the engine keeps running through the restart: its connections reconnect, steps due meanwhile fire once, late', async () => {
    const engine = h!.engine();
    await engine.start();
    const { id, due, createdAt } = await openAndFireFirst(engine);
    const window = await restartRedis(createdAt);
    await expectEveryStepOnce(id, due, window);
    expect(await engine.pending(id)).toEqual([]);
    await h!.setState(id, 'resolved');
    await engine.resolved(id);
    await engine.stop();
  }, 20_000);

  it('the engine stopped before Redis went down; a new engine started after the restart reconciles and fires each step once', async () => {
    const first = h!.engine();
    await first.start();
    const { id, due, createdAt } = await openAndFireFirst(first);
    await first.stop();
    const window = await restartRedis(createdAt);
    const second = h!.engine();
    await second.start();
    await expectEveryStepOnce(id, due, window);
    expect(await second.pending(id)).toEqual([]);
    await h!.setState(id, 'resolved');
    await second.resolved(id);
    await second.stop();
  }, 20_000);
});
