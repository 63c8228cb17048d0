import { whoIsOnCall } from '../../bot/oncall/oncall';
import type { EscalationEngine } from '../../bot/escalation/engine';
import { eventually } from '../helpers/ports';
import { createEscalationHarness, sleep, type EscalationHarness } from './escalation-harness';

// ESCALATION_TIME_SCALE 0.002: 5 minutes are 0.6 s, P1's 15-minute SLA is 1.8 s.
// The default `critical` policy: 0m primary, 5m secondary, 10m @ops-leads, 15m channel; repeat 2, every 20m.
const SLACK_IDS: Record<string, string> = { alice: 'U0ALICE', bob: 'U0BOB', carol: 'U0CAROL' };

describe('escalation engine (real Redis, BullMQ, sandbox Slack)', () => {
  let h: EscalationHarness;
  let engine: EscalationEngine;

  beforeAll(async () => {
    h = await createEscalationHarness({ timeScale: 0.002 });
    engine = h.engine();
    await engine.start();
  });

  afterAll(async () => {
    await h.close();
  });

  /** Escalation steps on the timeline, in firing order (there as soon as the reply is queued). */
  const firedSteps = (id: string) => h.firedSteps(id);

  /** Waits until `n` steps fired. Slack shows them later, at the outbox's pace of one post a second per channel. */
  const stepsFired = (id: string, n: number) => eventually(async () => (await firedSteps(id)).length >= n, 10_000);

  /** After a state change at `t`: how many steps were claimed later (a post in flight at `t` may still land). */
  async function firedAfter(id: string, t: number): Promise<number> {
    return (await firedSteps(id)).filter((e) => new Date(e.firedAt!).getTime() > t).length;
  }

  async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    const m = (await h.registry.getSingleMetric(name)?.get())?.values ?? [];
    return m
      .filter((v) => Object.entries(labels).every(([k, x]) => (v.labels as Record<string, unknown>)[k] === x))
      .reduce((sum, v) => sum + v.value, 0);
  }

  it('fires every step of every round in order, mentions the right people, and posts the SLA breach once', async () => {
    const id = await h.openIncident('P1');
    await engine.opened(id);
    // Opening twice (a retry, a second replica) plans nothing new.
    await engine.opened(id);

    await eventually(async () => (await h.escalations(id)).length >= 12, 30_000);
    await sleep(800);
    await h.settle();
    const fired = await h.escalations(id);
    expect(fired).toHaveLength(12);

    // Slack shows them all, in firing order: the outbox keeps an incident's replies in the order they were queued.
    const oncall = whoIsOnCall(new Date(), h.config);
    const mentions = [`<@${SLACK_IDS[oncall.primary]}>`, `<@${SLACK_IDS[oncall.secondary!]}>`, '<!subteam^S0OPSLEADS|@ops-leads>', '<!channel>'];
    const wanted = [1, 2, 3].flatMap((round) =>
      [1, 2, 3, 4].map(
        (step) => `🔔 ${mentions[step - 1]}: ${id} is not acknowledged. Escalation step ${step} of 4, round ${round} of 3 (policy \`critical\``,
      ),
    );
    expect(fired.map((text, i) => text.startsWith(wanted[i]!))).toEqual(wanted.map(() => true));

    // Every step is on the timeline; by firing time they are in order, and none fired before it was due.
    const steps = await firedSteps(id);
    expect(steps.map((e) => `${e.round}:${e.step}`)).toEqual(
      [1, 2, 3].flatMap((r) => [0, 1, 2, 3].map((s) => `${r}:r${r - 1}-s${s}`)),
    );
    for (const e of steps) expect(new Date(e.firedAt!).getTime()).toBeGreaterThanOrEqual(new Date(e.dueAt!).getTime());
    const lags = steps.map((e) => Number(e.lagMs));
    console.log(`escalation step lag (ms) over 12 steps: max ${Math.max(...lags)}, mean ${Math.round(lags.reduce((a, b) => a + b, 0) / lags.length)}`);

    expect(await h.breaches(id)).toEqual(['⏱️ SLA breached: P1 response time 15m exceeded']);
    expect((await h.store.timeline(id)).filter((e) => e.type === 'sla_breached')).toHaveLength(1);
    expect(await engine.pending(id)).toEqual([]);
    expect(await h.queuedJobs(id)).toHaveLength(0);

    expect(await metric('escalation_steps_fired_total', { policy: 'critical', notify: 'oncall_primary' })).toBe(3);
    expect(await metric('escalation_steps_fired_total', { policy: 'critical', notify: 'usergroup:ops-leads' })).toBe(3);
    expect(await metric('sla_breaches_total', { priority: 'P1' })).toBe(1);
    const histogram = (await h.registry.getSingleMetric('escalation_step_lag_seconds')!.get()).values as Array<{ metricName?: string; value: number }>;
    expect(histogram.find((v) => v.metricName === 'escalation_step_lag_seconds_count')!.value).toBeGreaterThanOrEqual(12);
    // One root, 13 replies, one channel: the outbox paced them, so Slack never had to refuse one.
    expect(await h.ratelimited()).toEqual({});
  }, 50_000);

  it('a step due before the root message is in Slack fires at once: its reply is queued behind the root, and goes out once', async () => {
    const id = await h.openIncident('P1', 'critical', false);
    await engine.opened(id);
    // Step 1 is due at once and fires at once (it does not wait for a thread): queueing its reply requests the root.
    await stepsFired(id, 1);
    const [first] = await firedSteps(id);
    expect(first!.step).toBe('r0-s0');
    const rootTs = await eventually(async () => (await h.store.get(id))?.rootTs, 10_000);
    expect(new Date(first!.firedAt!).getTime()).toBeLessThanOrEqual(Number(rootTs) * 1000);
    // The intake's own root sync, arriving late, edits that root: it posts no second one.
    await h.notifier.sync(id);
    await h.setState(id, 'resolved');
    await engine.resolved(id);
    await h.settle();
    const channel = (await h.store.get(id))!.channel!;
    expect((await h.sandbox.history(channel)).map((m) => m.ts)).toEqual([rootTs]);
    const msgs = await h.escalations(id);
    expect(msgs[0]).toContain('step 1 of 4, round 1 of 3');
    expect(msgs.filter((m) => m.includes('step 1 of 4, round 1 of 3'))).toHaveLength(1);
    expect(msgs).toHaveLength((await firedSteps(id)).length);
  });

  it('lists the pending steps with due times, and acknowledging cancels the rest and stops the SLA clock as met', async () => {
    const id = await h.openIncident('P1');
    await engine.opened(id);
    const pending = await engine.pending(id);
    expect(pending.map((p) => p.notify).slice(-3)).toEqual(['oncall_secondary', 'usergroup:ops-leads', 'channel']);
    expect(pending.length).toBeGreaterThanOrEqual(11);
    const created = new Date((await h.store.get(id))!.createdAt).getTime();
    expect(new Date(pending.at(-1)!.dueAt).getTime() - created).toBe(Math.round(55 * 60_000 * 0.002));

    await stepsFired(id, 2);
    const ackAt = Date.now();
    await h.setState(id, 'acknowledged', { acknowledgedAt: new Date(ackAt).toISOString() });
    await engine.acknowledged(id);

    expect(await engine.pending(id)).toEqual([]);
    expect(await h.queuedJobs(id)).toHaveLength(0);
    expect((await engine.inspect(id)).slaStatus).toBe('met');
    await sleep(3000); // past three more due times and the 1.8 s SLA deadline
    expect(await firedAfter(id, ackAt)).toBe(0);
    await h.settle();
    expect(await h.escalations(id)).toHaveLength((await firedSteps(id)).length);
    expect(await h.breaches(id)).toEqual([]);
  });

  it('unacknowledging starts the policy over from then', async () => {
    const id = await h.openIncident('P1');
    await engine.opened(id);
    await stepsFired(id, 1);
    await h.setState(id, 'acknowledged', { acknowledgedAt: new Date().toISOString() });
    await engine.acknowledged(id);
    await h.setState(id, 'triggered', { acknowledgedAt: '' });
    const before = Date.now();
    await engine.unacknowledged(id);
    const pending = await engine.pending(id);
    expect(new Date(pending[0]!.dueAt).getTime()).toBeGreaterThanOrEqual(before - 5);
    // Whatever fired before the ack, the chain then starts again at step 1, due no earlier than the unack.
    const again = await eventually(async () => {
      const after = (await firedSteps(id)).filter((e) => new Date(e.dueAt!).getTime() >= before - 5);
      return after.length >= 2 ? after : undefined;
    }, 10_000);
    expect(again.slice(0, 2).map((e) => e.step)).toEqual(['r0-s0', 'r0-s1']);
    await h.setState(id, 'resolved');
    await engine.resolved(id);
  });

  it('resolving stops everything, the SLA clock too', async () => {
    const id = await h.openIncident('P1');
    await engine.opened(id);
    await stepsFired(id, 1);
    const resolvedAt = Date.now();
    await h.setState(id, 'resolved');
    await engine.resolved(id);
    expect(await h.queuedJobs(id)).toHaveLength(0);
    expect(await engine.pending(id)).toEqual([]);
    await sleep(2500);
    expect(await firedAfter(id, resolvedAt)).toBe(0);
    expect(await h.breaches(id)).toEqual([]);
    // A late duplicate "opened" does not bring it back.
    await engine.opened(id);
    expect(await engine.pending(id)).toEqual([]);
  });

  it('a resolve that lands without engine.resolved() is still respected: the job re-reads the incident', async () => {
    const id = await h.openIncident('P1');
    await engine.opened(id);
    await stepsFired(id, 1);
    const resolvedAt = Date.now();
    await h.setState(id, 'resolved');
    await sleep(2500);
    expect(await firedAfter(id, resolvedAt)).toBe(0);
    expect((await firedSteps(id)).length).toBeLessThan(4);
    expect(await h.breaches(id)).toEqual([]);
    await engine.resolved(id);
  });

  it('reclassifying re-plans with the new priority policy from the reclassification time', async () => {
    // P3 `medium`: first page after 30m (3.6 s here).
    const id = await h.openIncident('P3');
    await engine.opened(id);
    expect((await engine.pending(id)).map((p) => p.notify)).toEqual(['oncall_primary', 'oncall_secondary']);
    await sleep(300);
    await h.store.transition(id, { from: ['triggered'], fields: { priority: 'P1' }, event: { type: 'reclassified', by: 'U0BOB' } });
    const at = Date.now();
    await engine.reclassified(id);

    const pending = await engine.pending(id);
    expect(pending.length).toBeGreaterThanOrEqual(11);
    expect(pending.at(-1)!.notify).toBe('channel');
    expect(new Date(pending.at(-1)!.dueAt).getTime()).toBeGreaterThanOrEqual(at + Math.round(55 * 60_000 * 0.002) - 5);
    const msgs = await eventually(async () => {
      const m = await h.escalations(id);
      return m.length >= 2 ? m : undefined;
    }, 10_000);
    expect(msgs[0]).toContain('step 1 of 4, round 1 of 3 (policy `critical`');
    expect(msgs[1]).toContain('step 2 of 4, round 1 of 3 (policy `critical`');
    // The SLA clock restarted with P1's 15 minutes from the reclassification.
    const breach = await eventually(async () => (await h.breaches(id))[0], 10_000);
    expect(breach).toBe('⏱️ SLA breached: P1 response time 15m exceeded');
    const state = await engine.inspect(id);
    expect(new Date(state.slaDueAt!).getTime()).toBeGreaterThanOrEqual(at + 1800 - 5);
    await h.setState(id, 'acknowledged', { acknowledgedAt: new Date().toISOString() });
    await engine.acknowledged(id);
    expect((await h.escalations(id)).some((m) => m.includes('`medium`'))).toBe(false);
  });

  it('snooze pauses the steps (the SLA clock keeps running) and the chain starts over when the snooze ends', async () => {
    const id = await h.openIncident('P1');
    await engine.opened(id);
    await stepsFired(id, 1);
    const snoozedAt = Date.now();
    const until = new Date(snoozedAt + 2500);
    await h.setState(id, 'snoozed', { snoozedUntil: until.toISOString() });
    await engine.snoozed(id, until);
    expect(await engine.pending(id)).toEqual([]);
    expect((await engine.inspect(id)).status).toBe('paused');

    // Unacknowledged while snoozed: the breach is still posted, at 1.8 s; no step while the snooze runs.
    expect(await eventually(async () => (await h.breaches(id))[0], 10_000)).toContain('SLA breached');
    expect(await firedAfter(id, snoozedAt)).toBe(0);

    // The snooze ends (the state stays "snoozed" until someone changes it): the policy starts over from `until`.
    const resumed = await eventually(async () => {
      const after = (await firedSteps(id)).filter((e) => new Date(e.firedAt!).getTime() > snoozedAt);
      return after.length >= 2 ? after : undefined;
    }, 10_000);
    expect(resumed.slice(0, 2).map((e) => e.step)).toEqual(['r0-s0', 'r0-s1']);
    expect(new Date(resumed[0]!.dueAt!).getTime()).toBe(until.getTime());
    expect(new Date(resumed[0]!.firedAt!).getTime()).toBeGreaterThanOrEqual(until.getTime());
    await h.setState(id, 'resolved');
    await engine.resolved(id);
  });

  it('unsnoozing resumes at once; acknowledging a snoozed incident keeps it quiet', async () => {
    const a = await h.openIncident('P2');
    await engine.opened(a);
    await stepsFired(a, 1);
    const until = new Date(Date.now() + 60_000);
    await h.setState(a, 'snoozed', { snoozedUntil: until.toISOString() });
    await engine.snoozed(a, until);
    await h.setState(a, 'triggered', { snoozedUntil: '' });
    await engine.unsnoozed(a);
    await engine.unsnoozed(a); // twice: still one re-plan
    await eventually(async () => (await firedSteps(a)).filter((e) => e.step === 'r0-s0').length >= 2, 10_000);
    await sleep(300);
    const steps = await firedSteps(a);
    // Step 1 of `high` again right after the unsnooze, once (not twice for the two calls).
    expect(steps.filter((e) => e.step === 'r0-s0')).toHaveLength(2);
    expect(new Date(steps.filter((e) => e.step === 'r0-s0')[1]!.dueAt!).getTime()).toBeLessThan(until.getTime());
    await h.settle();
    expect((await h.escalations(a)).filter((m) => m.includes('step 1 of 3, round 1 of 2 (policy `high`'))).toHaveLength(2);

    const b = await h.openIncident('P1');
    await engine.opened(b);
    await stepsFired(b, 1);
    const soon = new Date(Date.now() + 500);
    await h.setState(b, 'snoozed', { snoozedUntil: soon.toISOString() });
    await engine.snoozed(b, soon);
    await h.setState(b, 'acknowledged', { acknowledgedAt: new Date().toISOString() });
    const ackAt = Date.now();
    await engine.acknowledged(b);
    await sleep(1500);
    expect(await firedAfter(b, ackAt)).toBe(0);
    expect((await firedSteps(b)).filter((e) => e.step === 'r0-s0')).toHaveLength(1);
    for (const id of [a, b]) {
      await h.setState(id, 'resolved');
      await engine.resolved(id);
    }
  });

  it('an acknowledged incident that is snoozed (it is no longer acknowledged) starts over when the snooze ends', async () => {
    const id = await h.openIncident('P1');
    await engine.opened(id);
    await stepsFired(id, 1);
    await h.setState(id, 'acknowledged', { acknowledgedAt: new Date().toISOString() });
    await engine.acknowledged(id);
    const until = new Date(Date.now() + 800);
    await h.setState(id, 'snoozed', { snoozedUntil: until.toISOString() });
    await engine.snoozed(id, until);
    const again = await eventually(async () => {
      const after = (await firedSteps(id)).filter((e) => new Date(e.dueAt!).getTime() >= until.getTime());
      return after.length >= 1 ? after : undefined;
    }, 10_000);
    expect(again[0]!.step).toBe('r0-s0');
    // The SLA clock stopped as met at the ack and stays so.
    expect((await engine.inspect(id)).slaStatus).toBe('met');
    await h.setState(id, 'resolved');
    await engine.resolved(id);
  });
});
