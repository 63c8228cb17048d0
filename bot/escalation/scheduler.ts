import type { JobsOptions, Queue } from 'bullmq';
import type { EscalationJob } from '../../lib/contracts';
import type { Logger } from '../../lib/logger';
import type { OpsConfig, Priority } from '../../lib/ops-config';
import { planEscalation, type PlannedStep } from './escalation-policy';
import { CHAIN, SLA, type Clock, type EscalationStateStore } from './state';

/**
 * Turns plans into BullMQ delayed jobs and removes the jobs of plans that are
 * over. Job ids are deterministic (incident, generation, step), so scheduling
 * the same plan twice (a reconcile, a second replica) adds nothing.
 */

/** BullMQ job ids cannot contain ':'; incident ids never do, but be strict. */
const safe = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, '_');

export const jobIds = {
  step: (incidentId: string, gen: number, stepId: string) => safe(`${incidentId}-g${gen}-${stepId}`),
  resume: (incidentId: string, gen: number) => safe(`${incidentId}-g${gen}-resume`),
  sla: (incidentId: string, gen: number) => safe(`${incidentId}-sla${gen}`),
};

/** The name of the custom backoff the worker implements (see engine.ts). */
export const BACKOFF_TYPE = 'escalation';

/**
 * Retried fast at first (the usual reason is a root message still on its way
 * to Slack), then every few seconds; the job is removed either way: a reconcile
 * re-creates what is still due, and the fired marker stops any double.
 */
const JOB_OPTIONS: JobsOptions = {
  // About 3.5 minutes of retries: longer than a storm keeps a root message queued.
  attempts: 60,
  backoff: { type: BACKOFF_TYPE },
  removeOnComplete: true,
  removeOnFail: true,
};

/**
 * Waiting for a thread (RetryLaterError) polls every 250 ms for 5 s, then every
 * 5 s; anything else (Slack, Redis) backs off linearly to 5 s.
 */
export function escalationBackoff(attemptsMade: number, err?: Error): number {
  if (err?.name === 'RetryLaterError') return attemptsMade <= 20 ? 250 : 5000;
  return Math.min(250 * attemptsMade, 5000);
}

export interface ChainPlan {
  priority: Priority;
  policy: string;
  /** Round 0 starts here. */
  anchor: Date;
}

export interface SchedulerOptions {
  queue: Queue<EscalationJob>;
  state: EscalationStateStore;
  config: OpsConfig;
  timeScale: number;
  now: () => Date;
  logger: Logger;
}

export function createScheduler({ queue, state, config, timeScale, now, logger }: SchedulerOptions) {
  function plan(p: ChainPlan): PlannedStep[] {
    return planEscalation({ priority: p.priority, policy: p.policy, openedAt: p.anchor }, config, { timeScale, now: now() });
  }

  /** Steps of generation `gen` that have not fired yet, with their delays from now. */
  async function unfired(incidentId: string, gen: number, p: ChainPlan): Promise<PlannedStep[]> {
    const steps = plan(p);
    const fired = await state.firedSet(incidentId, gen, steps.map((s) => s.id));
    return steps.filter((s) => !fired.has(s.id));
  }

  /** Adds a job for every unfired step; a step already due gets delay 0 and fires at once (late). */
  async function scheduleChain(incidentId: string, gen: number, p: ChainPlan): Promise<PlannedStep[]> {
    const steps = await unfired(incidentId, gen, p);
    const jobs = steps.map((s) => ({
      name: 'step',
      data: { kind: 'step' as const, incidentId, generation: gen, stepId: s.id, dueAt: s.dueAt.toISOString() },
      opts: { ...JOB_OPTIONS, jobId: jobIds.step(incidentId, gen, s.id), delay: s.delayMs },
    }));
    await state.rememberJobs(incidentId, CHAIN, gen, jobs.map((j) => j.opts.jobId));
    if (jobs.length) await queue.addBulk(jobs);
    return steps;
  }

  async function scheduleResume(incidentId: string, gen: number, at: Date): Promise<void> {
    const jobId = jobIds.resume(incidentId, gen);
    await state.rememberJobs(incidentId, CHAIN, gen, [jobId]);
    const data: EscalationJob = { kind: 'resume', incidentId, generation: gen, dueAt: at.toISOString() };
    await queue.add('resume', data, { ...JOB_OPTIONS, jobId, delay: Math.max(0, at.getTime() - now().getTime()) });
  }

  async function scheduleSla(incidentId: string, gen: number, dueAt: Date): Promise<void> {
    const jobId = jobIds.sla(incidentId, gen);
    await state.rememberJobs(incidentId, SLA, gen, [jobId]);
    const data: EscalationJob = { kind: 'sla', incidentId, generation: gen, dueAt: dueAt.toISOString() };
    await queue.add('sla', data, { ...JOB_OPTIONS, jobId, delay: Math.max(0, dueAt.getTime() - now().getTime()) });
  }

  /**
   * Removes the delayed jobs of plans older than `current`. Best effort: a job
   * already running cannot be removed, and its generation check stops it.
   */
  async function cancelStale(incidentId: string, clock: Clock, current: number): Promise<number> {
    let removed = 0;
    for (const jobId of await state.takeStaleJobs(incidentId, clock, current)) {
      try {
        removed += await queue.remove(jobId);
      } catch (err) {
        logger.debug({ err, jobId }, 'escalation job not removable (running); its generation check stops it');
      }
    }
    return removed;
  }

  return { plan, unfired, scheduleChain, scheduleResume, scheduleSla, cancelStale };
}

export type Scheduler = ReturnType<typeof createScheduler>;
