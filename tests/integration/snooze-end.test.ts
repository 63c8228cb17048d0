import type { EscalationEngine } from '../../bot/escalation/engine';
import { eventually } from '../helpers/ports';
import { createEscalationHarness, type EscalationHarness } from './escalation-harness';

/** A snooze that runs out with nobody acknowledging: the incident is triggered again and its thread says so. */
describe('snooze end', () => {
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

  it('turns a snoozed incident back to triggered at the end of the snooze, once', async () => {
    const id = await h.openIncident('P2');
    await engine.opened(id);
    const until = new Date(Date.now() + 1500);
    await h.setState(id, 'snoozed', { snoozedUntil: until.toISOString(), silenceId: 'abc' });
    await engine.snoozed(id, until);

    // The store flips to triggered first, then the chain is re-planned: wait for both.
    const incident = await eventually(async () => {
      const i = await h.store.get(id);
      return i?.state === 'triggered' && (await engine.inspect(id)).status === 'running' ? i : undefined;
    }, 10_000);
    expect(incident.snoozedUntil).toBeUndefined();
    expect(incident.silenceId).toBeUndefined();
    const ended = (await h.store.timeline(id)).filter((e) => e.type === 'snooze_ended');
    expect(ended).toHaveLength(1);
    // BullMQ may promote a delayed job a few ms early; the engine accepts up to 50 ms.
    expect(new Date(ended[0]!.at!).getTime()).toBeGreaterThanOrEqual(until.getTime() - 50);
    expect((await engine.pending(id)).length).toBeGreaterThan(0);
  });

  it('a stale snooze-end job (of an earlier plan) leaves the current snooze alone', async () => {
    const id = await h.openIncident('P2');
    await engine.opened(id);
    const until = new Date(Date.now() + 3_600_000);
    await h.setState(id, 'snoozed', { snoozedUntil: until.toISOString(), silenceId: 'current' });
    await engine.snoozed(id, until);
    const { gen } = await engine.inspect(id);
    // A resume job of the plan before this one, due now: one still running when the plan changed, or a replica's late add.
    const jobId = `stale-resume-${id}`;
    await h.queue.add('resume', { kind: 'resume', incidentId: id, generation: gen - 1, dueAt: new Date().toISOString() }, { jobId });
    await eventually(async () => (await h.queue.getJobState(jobId)) === 'completed', 10_000);

    expect(await h.store.get(id)).toMatchObject({ state: 'snoozed', silenceId: 'current', snoozedUntil: until.toISOString() });
    expect((await h.store.timeline(id)).filter((e) => e.type === 'snooze_ended')).toHaveLength(0);
    expect((await engine.inspect(id)).status).toBe('paused');
  });
});
