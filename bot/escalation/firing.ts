import crypto from 'node:crypto';
import { formatDuration } from '../../lib/duration';
import { code, escapeMrkdwn } from '../../lib/slack-text';
import type { Logger } from '../../lib/logger';
import { NEXT_BUSINESS_DAY, type OpsConfig } from '../../lib/ops-config';
import { formatNotifyTarget } from './escalation-policy';
import type { Incident, IncidentStore } from '../incidents/incident-store';
import type { IncidentNotifier } from '../incidents/incident-notifier';
import type { EscalationMetrics } from './metrics';
import type { OverrideStore } from '../oncall/oncall-overrides';
import type { Scheduler } from './scheduler';
import { CHAIN, SLA, type EscalationStateStore } from './state';
import { resolveTarget, type UserResolver, type UsergroupResolver } from './targets';

/**
 * What happens when a step or an SLA job comes due. Each one re-reads the
 * incident and claims its fired marker in one atomic check (plan still
 * current, incident still in a state that calls for it), then posts. So an
 * ack that lands first stops it, and a retried or duplicated job cannot post
 * twice.
 */

/**
 * A claim is held this long while posting (scaled by ESCALATION_TIME_SCALE, at
 * least 5 s): the backstop for a holder that died. The usual way out of a
 * crash is quicker: BullMQ notices the dead run's job stalled (lock 5 s, check
 * every 2 s) and runs it again, and that run takes the dead run's claim over.
 */
const LEASE_MS = 120_000;
const MIN_LEASE_MS = 5_000;

export const claimLeaseMs = (timeScale: number): number => Math.max(MIN_LEASE_MS, Math.round(LEASE_MS * timeScale));

/** Which run of which BullMQ job is firing: the job id and that run's lock token. */
export interface JobRun {
  jobId: string;
  lockToken: string;
}
/** Past this lag a step says it is late and why. */
const LATE_NOTE_MS = 2_000;

/** Thrown to make BullMQ retry the job (see the backoff in scheduler.ts). */
export class RetryLaterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RetryLaterError';
  }
}

export interface FiringDeps {
  config: OpsConfig;
  store: IncidentStore;
  notifier: Pick<IncidentNotifier, 'postReply'>;
  state: EscalationStateStore;
  scheduler: Scheduler;
  overrides: OverrideStore;
  resolveUser: UserResolver;
  resolveUsergroup: UsergroupResolver;
  metrics: EscalationMetrics;
  logger: Logger;
  now: () => Date;
  /** How long a claim holds (see claimLeaseMs). @defaultValue 120000 */
  leaseMs?: number;
}

export function createFiring(deps: FiringDeps) {
  const { config, store, state, logger, metrics } = deps;
  const leaseMs = deps.leaseMs ?? LEASE_MS;

  /** A claim token that names the run holding it: `<job id>|<lock token>|<random>`. */
  const tokenFor = (run: JobRun | undefined) => (run?.jobId ? `${run.jobId}|${run.lockToken}|${crypto.randomUUID()}` : crypto.randomUUID());

  /**
   * Posts `text` once: claims the marker, hands the reply to the notifier under a stable `dedupeId` (so a retry
   * after a crash between queueing and `done` is skipped by the outbox), then marks it done together with its
   * timeline entry; gives the claim back on failure. The outbox queues the reply behind the root message (or the
   * storm digest), so the root need not exist yet.
   */
  async function postOnce(
    incident: Incident,
    dedupeId: string,
    claim: (token: string) => Promise<string>,
    done: () => Promise<boolean>,
    release: (token: string) => Promise<void>,
    text: () => Promise<string>,
    run?: JobRun,
  ): Promise<boolean> {
    const token = tokenFor(run);
    const outcome = await claim(token);
    if (outcome === 'reclaimed') logger.warn({ incidentId: incident.id, dedupeId }, 'escalation: took over the claim of a run that stalled (its process died)');
    if (outcome === 'busy') throw new RetryLaterError(`${incident.id}: another worker is posting this`);
    if (outcome !== 'ok' && outcome !== 'reclaimed') {
      logger.debug({ incidentId: incident.id, outcome }, 'escalation job no longer called for');
      return false;
    }
    try {
      await deps.notifier.postReply(incident, await text(), dedupeId);
    } catch (err) {
      await release(token);
      throw err;
    }
    return done();
  }

  /** States in which an escalation step still notifies: nobody has it, and no snooze is running. */
  function stepStates(incident: Incident, at: Date): string[] {
    const snoozeOver = incident.snoozedUntil !== undefined && new Date(incident.snoozedUntil).getTime() <= at.getTime();
    return snoozeOver ? ['triggered', 'snoozed'] : ['triggered'];
  }

  async function fireStep(incidentId: string, gen: number, stepId: string, run?: JobRun): Promise<void> {
    // Both reads at once (one round trip): a stale job wastes the incident read, a rare case.
    const [current, incident] = await Promise.all([state.read(incidentId), store.get(incidentId)]);
    if (current.gen !== gen || current.status !== 'running' || !current.anchor || !current.policy) return;
    if (!incident) return;
    const plan = { priority: (current.priority ?? incident.priority) as Incident['priority'], policy: current.policy, anchor: new Date(current.anchor) };
    const step = deps.scheduler.plan(plan).find((s) => s.id === stepId);
    if (!step) {
      logger.warn({ incidentId, stepId, policy: plan.policy }, 'escalation step not in the policy any more (config changed); skipped');
      return;
    }
    const now = deps.now();
    const incidentKey = store.keys.incident(incidentId);
    const expect = { gen, status: 'running', incidentKey, incidentStates: stepStates(incident, now) };
    let target = { mention: '', describe: '' };
    const lagMs = Math.max(0, now.getTime() - step.dueAt.getTime());
    const notify = formatNotifyTarget(step.notify);
    const timelineEntry = () => ({
      at: new Date().toISOString(),
      type: 'escalation_step',
      by: 'escalation',
      step: stepId,
      round: String(step.repeatRound + 1),
      policy: step.policy,
      notify,
      target: target.describe,
      dueAt: step.dueAt.toISOString(),
      // When it was claimed: the firing order (entries land in the order their posts finish).
      firedAt: now.toISOString(),
      lagMs: String(lagMs),
    });
    const posted = await postOnce(
      incident,
      `${incidentId}-g${gen}-${stepId}`,
      (token) => state.claim(incidentId, CHAIN, expect, stepId, token, leaseMs, run ? `${run.jobId}|` : ''),
      () => state.markDone(incidentId, gen, stepId, { key: store.keys.timeline(incidentId), entry: timelineEntry() }),
      (token) => state.release(incidentId, gen, stepId, token),
      async () => {
        const overrides = await deps.overrides.live(now);
        target = await resolveTarget(step.notify, { ...deps, now, overrides });
        return stepText(incident, step, target.mention, target.describe, lagMs);
      },
      run,
    );
    if (!posted) return;
    metrics.stepsFired.inc({ policy: step.policy, notify });
    metrics.stepLag.observe(lagMs / 1000);
    logger.info({ incidentId, step: stepId, policy: step.policy, notify, target: target.describe, lagMs }, 'escalation step fired');
  }

  function stepText(incident: Incident, step: { stepIndex: number; repeatRound: number; policy: string }, mention: string, who: string, lagMs: number): string {
    const policy = config.escalation.policies[step.policy];
    const steps = policy?.steps.length ?? step.stepIndex + 1;
    const rounds = (policy?.repeat ?? step.repeatRound) + 1;
    const late = lagMs > LATE_NOTE_MS ? ` Late by ${formatDuration(Math.round(lagMs / 1000) * 1000)} (it came due while the engine was not running, or Slack was slow).` : '';
    return (
      `🔔 ${mention}: ${incident.id} is not acknowledged. Escalation step ${step.stepIndex + 1} of ${steps}, ` +
      `round ${step.repeatRound + 1} of ${rounds} (policy ${code(step.policy)}, notifying ${escapeMrkdwn(who)}).${late}`
    );
  }

  async function fireSla(incidentId: string, gen: number, run?: JobRun): Promise<void> {
    const current = await state.read(incidentId);
    if (current.slaGen !== gen || current.slaStatus !== 'pending' || !current.slaDueAt) return;
    const incident = await store.get(incidentId);
    if (!incident) return;
    const dueAt = new Date(current.slaDueAt);
    // Acknowledged after the deadline but before this job ran: still a breach.
    const lateAck = incident.acknowledgedAt !== undefined && new Date(incident.acknowledgedAt).getTime() > dueAt.getTime();
    const incidentStates = lateAck ? ['triggered', 'snoozed', 'acknowledged'] : ['triggered', 'snoozed'];
    const expect = { gen, status: 'pending', incidentKey: store.keys.incident(incidentId), incidentStates };
    const priority = incident.priority;
    const spec = config.priority.response_times[priority];
    const responseTime = spec === NEXT_BUSINESS_DAY ? 'next business day' : spec;
    const entry = { type: 'sla_breached', by: 'escalation', priority, responseTime, dueAt: current.slaDueAt };
    const posted = await postOnce(
      incident,
      `${incidentId}-sla${gen}`,
      (token) => state.claim(incidentId, SLA, expect, 'sla', token, leaseMs, run ? `${run.jobId}|` : ''),
      () => state.markDone(incidentId, gen, 'sla', { key: store.keys.timeline(incidentId), entry: { at: new Date().toISOString(), ...entry } }),
      (token) => state.release(incidentId, gen, 'sla', token),
      async () => `⏱️ SLA breached: ${priority} response time ${responseTime} exceeded`,
      run,
    );
    if (!posted) return;
    await state.transition(incidentId, SLA, { from: ['pending'], expectGen: gen, fields: { slaStatus: 'breached' }, bump: false });
    metrics.slaBreaches.inc({ priority });
    logger.warn({ incidentId, priority, dueAt: current.slaDueAt }, 'SLA breached');
  }

  return { fireStep, fireSla };
}
