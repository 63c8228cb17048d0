/**
 * kill -9 of the whole bot process with escalations pending (issue 13). A real
 * bot process (bot/main.ts: Bolt, Redis, BullMQ, the outbox) against the
 * sandbox Slack opens incidents at ESCALATION_TIME_SCALE 0.02 (steps at 0 s,
 * 12 s and 24 s, the SLA at 18 s). Once step 1 fired everywhere the bot is
 * SIGKILLed; it stays dead until step 2 is due, then a new bot process starts.
 * Every step and every SLA breach fires exactly once: on the timeline, in the
 * fired-once markers, in Slack, and in the two processes' step counters.
 * Bounded: about 50 s (each bot process takes ~10 s to start under tsx); the processes, the sandbox and the Redis prefix go in afterAll.
 */
import fs from 'node:fs';
import { Queue } from 'bullmq';
import { createIncidentStore } from '../../bot/incidents/incident-store';
import { QueueName } from '../../lib/contracts';
import { closeRedis } from '../../lib/redis';
import { eventually } from '../helpers/ports';
import { deletePrefix, testPrefix, testRedis, TEST_REDIS_URL } from '../helpers/redis';
import { sumSeries } from './server-harness';
import { alertmanagerPoster, sleep, startCrashBed, stormGroup, writeOpsConfig, type CrashBed } from './crash-harness';

jest.setTimeout(90_000);

const STEPS = ['r0-s0', 'r0-s1', 'r0-s2'];
const SCALE = 0.02;

describe('kill -9 of the bot process with escalation steps pending', () => {
  const prefix = testPrefix('crash-esc');
  const redis = testRedis();
  const store = createIncidentStore({ redis, prefix });
  let bed: CrashBed;
  let opsConfig: string;

  beforeAll(async () => {
    opsConfig = writeOpsConfig(prefix, (c) => {
      c.priority.response_times = { ...c.priority.response_times, P1: '15m', P2: '15m' };
      const policy = { steps: [{ after: '0m', notify: 'oncall_primary' }, { after: '10m', notify: 'oncall_secondary' }, { after: '20m', notify: 'usergroup:ops-leads' }] };
      c.escalation.policies = { ...c.escalation.policies, critical: policy, high: policy };
    });
    bed = await startCrashBed({ redisUrl: TEST_REDIS_URL, prefix, opsConfig, env: { ESCALATION_TIME_SCALE: String(SCALE) } });
  });

  afterAll(async () => {
    await bed?.close();
    await deletePrefix(redis, prefix);
    await closeRedis(redis);
    fs.rmSync(opsConfig, { force: true });
  });

  const stepsFired = async () => sumSeries(await (await fetch(`${bed.botUrl}/metrics`)).text(), 'escalation_steps_fired_total');
  const firedSteps = async (id: string) => (await store.timeline(id)).filter((e) => e.type === 'escalation_step');

  it('the new bot fires every step due meanwhile exactly once; none lost, none doubled', async () => {
    const t0 = Date.now();
    const first = await bed.startBot();
    console.log(`first bot up after ${Date.now() - t0} ms`);
    const { deliver } = alertmanagerPoster(bed.botUrl);
    const groups = [stormGroup('CrashEscA', 2, 'critical'), stormGroup('CrashEscB', 2, 'high')];
    const ids: string[] = [];
    for (const g of groups) {
      const res = await fetch(`${bed.botUrl}/alertmanager/webhook`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${bed.botEnv.ALERTMANAGER_WEBHOOK_TOKEN}` },
        body: JSON.stringify(g),
      });
      expect(res.status).toBe(200);
      ids.push(((await res.json()) as { incident: string }).incident);
    }
    expect(new Set(ids).size).toBe(2);
    const thread = async (id: string) => {
      const incident = (await store.get(id))!;
      if (!incident.rootTs) return [];
      return (await bed.sandbox.replies(incident.channel!, incident.rootTs)).slice(1).map((m) => m.text);
    };
    // Step 1 fired and reached Slack everywhere (a kill mid-post is the storm test's case: its lane waits out the lease).
    await eventually(async () => (await Promise.all(ids.map(thread))).every((t) => t.some((x) => x.startsWith('🔔'))), 20_000, 100);
    const firedByFirst = await stepsFired();
    const created = Math.max(...(await Promise.all(ids.map(async (id) => Date.parse((await store.get(id))!.createdAt)))));

    const killedAt = Date.now();
    await first.kill9();
    // Steps 2 are due 12 s after their incident opened: let them come due with no bot alive.
    await sleep(Math.max(0, created + 10 * 60_000 * SCALE + 300 - Date.now()));
    const restartAt = Date.now();
    // A resend while the bot is down fails at the connection; the poster retries it against the new bot.
    const resend = deliver(groups[0]!);
    await bed.startBot();
    console.log(`second bot up ${Date.now() - restartAt} ms after its start`);
    expect((await resend).status).toBe(200);

    await eventually(
      async () => {
        for (const id of ids) {
          const t = await thread(id);
          if (t.filter((x) => x.startsWith('🔔')).length < 3 || !t.some((x) => x.startsWith('⏱️ SLA breached'))) return false;
        }
        return true;
      },
      40_000,
      250,
    ).catch(async (err) => {
      for (const id of ids) console.log(id, JSON.stringify(await thread(id)), JSON.stringify(await firedSteps(id)));
      for (const b of bed.bots) console.log(b.output().slice(-4000));
      throw err;
    });
    console.log(`all steps in Slack ${Date.now() - restartAt} ms after the restart`);
    await sleep(1000); // a double would have been sent by now

    for (const id of ids) {
      const steps = await firedSteps(id);
      expect([id, steps.map((e) => e.step).sort()]).toEqual([id, STEPS]);
      // The premise: step 2 came due while no bot ran, and was fired by the new process.
      const s1 = steps.find((e) => e.step === 'r0-s1')!;
      expect(Date.parse(s1.dueAt!)).toBeGreaterThan(killedAt);
      expect(Date.parse(s1.dueAt!)).toBeLessThan(restartAt);
      expect(Date.parse(s1.firedAt!)).toBeGreaterThanOrEqual(restartAt);
      // Fired-once markers: one per step, each done.
      const markers = (await redis.keys(`${prefix}:esc:${id}:fired:*`)).map((k) => k.split(':').pop()).sort();
      expect(markers).toEqual([...STEPS, 'sla']);
      for (const m of await redis.keys(`${prefix}:esc:${id}:fired:*`)) expect(await redis.get(m)).toBe('done');
      expect((await store.timeline(id)).filter((e) => e.type === 'sla_breached')).toHaveLength(1);
      // Slack: each step once, the SLA breach once, one root.
      const t = await thread(id);
      const numbers = t.filter((x) => x.startsWith('🔔')).map((x) => /Escalation step (\d) of 3/.exec(x)?.[1]);
      expect([id, numbers.sort()]).toEqual([id, ['1', '2', '3']]);
      expect(t.filter((x) => x.startsWith('⏱️ SLA breached'))).toHaveLength(1);
    }
    for (const channel of ['ops-critical', 'ops-alerts']) {
      const tops = await bed.sandbox.history(channel);
      for (const id of ids) expect(tops.filter((m) => m.text.includes(`${id},`)).length).toBeLessThanOrEqual(1);
    }
    // The two processes' counters add up to the steps: the new one fired exactly what the dead one had not.
    expect(firedByFirst).toBe(2);
    expect(firedByFirst + (await stepsFired())).toBe(6);
    const queue = new Queue(QueueName.Escalations, { connection: redis, prefix });
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    await queue.close();
    expect(counts).toEqual({ waiting: 0, active: 0, delayed: 0, prioritized: 0 });
  });
});
