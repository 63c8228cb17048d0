import { Queue } from 'bullmq';
import { QueueName, type EscalationJob } from '../../lib/contracts';
import { eventually } from '../helpers/ports';
import { createEscalationHarness, sleep, type EscalationHarness } from './escalation-harness';

// A short policy so each test sees every step: at ESCALATION_TIME_SCALE 0.002,
// steps at 0 s, 1.2 s and 3.6 s; the P1 SLA deadline at 1.8 s.
const CONFIG = `
routing:
  rules: []
escalation:
  policies:
    drill:
      steps:
        - { after: 0m, notify: oncall_primary }
        - { after: 10m, notify: oncall_secondary }
        - { after: 30m, notify: channel }
  by_priority: { P1: drill, P2: drill, P3: drill, P4: drill }
`;

describe('escalation across restarts and duplicate deliveries (real Redis, BullMQ, sandbox Slack)', () => {
  let h: EscalationHarness;

  beforeAll(async () => {
    h = await createEscalationHarness({ timeScale: 0.002, configYaml: CONFIG });
  });

  afterAll(async () => {
    await h.close();
  });

  const count = (msgs: string[], step: number) => msgs.filter((m) => m.includes(`Escalation step ${step} of 3`)).length;

  async function sleepUntil(createdAt: string, offsetMs: number): Promise<void> {
    await sleep(Math.max(0, new Date(createdAt).getTime() + offsetMs - Date.now()));
  }

  /** Waits until the first step fired (its reply is queued; Slack shows it up to a second later). */
  const firstStepFired = (id: string) => eventually(async () => (await h.firedSteps(id)).length >= 1, 10_000);

  async function expectEachStepOnce(id: string): Promise<void> {
    await eventually(async () => (await h.escalations(id)).length >= 3, 15_000);
    await sleep(800);
    await h.settle();
    const msgs = await h.escalations(id);
    expect([1, 2, 3].map((s) => count(msgs, s))).toEqual([1, 1, 1]);
    expect((await h.firedSteps(id)).map((e) => e.step).sort()).toEqual(['r0-s0', 'r0-s1', 'r0-s2']);
    expect(await h.breaches(id)).toEqual(['⏱️ SLA breached: P1 response time 15m exceeded']);
  }

  it('a bot restart: the step that came due while it was down fires once, late, and later ones still fire', async () => {
    const first = h.engine();
    await first.start();
    const id = await h.openIncident('P1');
    await first.opened(id);
    await firstStepFired(id);
    await first.stop();

    const { createdAt } = (await h.store.get(id))!;
    await sleepUntil(createdAt, 2300); // past step 2 (1.2 s) and the SLA deadline (1.8 s)
    expect((await h.firedSteps(id)).map((e) => e.step)).toEqual(['r0-s0']);
    await h.settle();
    expect(await h.escalations(id)).toHaveLength(1);
    expect(await h.breaches(id)).toEqual([]);

    const second = h.engine();
    await second.start();
    await expectEachStepOnce(id);
    const steps = (await h.store.timeline(id)).filter((e) => e.type === 'escalation_step');
    const late = steps.find((e) => e.step === 'r0-s1')!;
    expect(Number(late.lagMs)).toBeGreaterThanOrEqual(1000);
    expect(steps.find((e) => e.step === 'r0-s2')!.firedAt! >= steps.find((e) => e.step === 'r0-s2')!.dueAt!).toBe(true);
    await second.stop();
  });

  it('jobs lost with Redis (no AOF tail): start() re-creates them from the plan; the overdue step fires once', async () => {
    const first = h.engine();
    await first.start();
    const id = await h.openIncident('P1');
    await first.opened(id);
    await firstStepFired(id);
    await first.stop();
    const lost = await h.queuedJobs(id);
    expect(lost.length).toBeGreaterThanOrEqual(3); // steps 2 and 3, and the SLA clock
    for (const job of lost) await job.remove();
    expect(await h.queuedJobs(id)).toHaveLength(0);

    await sleepUntil((await h.store.get(id))!.createdAt, 2300);
    const second = h.engine();
    await second.start();
    await expectEachStepOnce(id);
    await second.stop();
  });

  it('two replicas: both start, both hear "opened", every step still fires once', async () => {
    const [a, b] = [h.engine(), h.engine()];
    await Promise.all([a.start(), b.start()]);
    const id = await h.openIncident('P1');
    await Promise.all([a.opened(id), b.opened(id)]);
    await expectEachStepOnce(id);
    await Promise.all([a.stop(), b.stop()]);
  });

  it('a duplicated or retried job cannot notify twice, and a job of an old plan does nothing', async () => {
    const engine = h.engine();
    await engine.start();
    const id = await h.openIncident('P1');
    await engine.opened(id);
    await firstStepFired(id);
    const { gen } = await engine.inspect(id);
    const queue = new Queue<EscalationJob>(QueueName.Escalations, { connection: h.redis, prefix: h.prefix });
    const step = (stepId: string, dueAt: string): EscalationJob => ({ kind: 'step', incidentId: id, generation: gen, stepId, dueAt });
    const plan = await engine.pending(id);
    const second = plan.find((p) => p.id === 'r0-s1')!;

    // Step 1 again (already fired), and step 2 three times over, delivered at once: all before step 2 is due.
    await queue.add('step', step('r0-s0', new Date((await h.store.get(id))!.createdAt).toISOString()), { jobId: 'dup-a' });
    await queue.addBulk(['dup-b', 'dup-c', 'dup-d'].map((jobId) => ({ name: 'step', data: step('r0-s1', second.dueAt), opts: { jobId } })));
    const timesFired = async (stepId: string) => (await h.firedSteps(id)).filter((e) => e.step === stepId).length;
    await eventually(async () => (await timesFired('r0-s1')) >= 1, 10_000);
    // Not early either: the copies waited for the due time.
    const fired = (await h.firedSteps(id)).filter((e) => e.step === 'r0-s1');
    expect(fired).toHaveLength(1);
    expect(new Date(fired[0]!.firedAt!).getTime()).toBeGreaterThanOrEqual(new Date(second.dueAt).getTime());
    await sleep(600); // the copies that found the step claimed retry once more, and find it done

    // The same job id again after it completed (removeOnComplete): the fired marker still stops it.
    await queue.add('step', step('r0-s1', second.dueAt), { jobId: `${id}-g${gen}-r0-s1` });
    await sleep(500);
    expect([await timesFired('r0-s0'), await timesFired('r0-s1')]).toEqual([1, 1]);
    await h.setState(id, 'acknowledged', { acknowledgedAt: new Date().toISOString() });
    await engine.acknowledged(id);
    // A job of the plan the ack ended, delivered late: stale generation, nothing posted.
    await queue.add('step', step('r0-s2', new Date().toISOString()), { jobId: 'old-plan' });
    await sleep(1500);
    expect((await h.firedSteps(id)).map((e) => e.step)).toEqual(['r0-s0', 'r0-s1']);
    await h.settle();
    const after = await h.escalations(id);
    expect(after.map((m) => [1, 2, 3].find((n) => m.includes(`Escalation step ${n} of 3`)))).toEqual([1, 2]);
    await queue.close();
    await engine.stop();
  });

  it('a job whose payload does not parse fails without retries and posts nothing', async () => {
    const engine = h.engine();
    await engine.start();
    const queue = new Queue(QueueName.Escalations, { connection: h.redis, prefix: h.prefix });
    const job = await queue.add('step', { kind: 'step', incidentId: 'nope' }, { jobId: 'bad-payload', attempts: 5 });
    await eventually(async () => (await job.getState()) === 'failed', 5000);
    const failed = await queue.getJob('bad-payload');
    expect(failed?.attemptsMade).toBe(1);
    expect(failed?.failedReason).toMatch(/bad escalation job/);
    await queue.close();
    await engine.stop();
  });
});
