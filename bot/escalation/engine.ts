import type { WebClient } from '@slack/web-api';
import { PROMPT_TAKEOVER } from '../../lib/worker-takeover';
import { DelayedError, Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import { EscalationJobSchema, QueueName, type EscalationJob } from '../../lib/contracts';
import type { Logger } from '../../lib/logger';
import type { OpsConfig, Priority } from '../../lib/ops-config';
import { formatNotifyTarget } from './escalation-policy';
import type { Incident, IncidentStore } from '../incidents/incident-store';
import type { IncidentNotifier } from '../incidents/incident-notifier';
import { assertTimeScale, responseDeadline } from '../incidents/priority';
import { claimLeaseMs, createFiring } from './firing';
import { createEscalationMetrics } from './metrics';
import { createOverrideStore } from '../oncall/oncall-overrides';
import { BACKOFF_TYPE, createScheduler, escalationBackoff, type ChainPlan } from './scheduler';
import { CHAIN, createEscalationState, SLA, type EscalationState } from './state';
import { createUserResolver, createUsergroupResolver, type UserResolver, type UsergroupResolver } from './targets';

export interface EscalationEngineOptions {
  /** ioredis with `maxRetriesPerRequest: null` (lib/redis.ts createRedis); BullMQ duplicates it for blocking. */
  connection: Redis;
  /** REDIS_PREFIX: the BullMQ prefix and the namespace of the engine's keys. */
  prefix: string;
  config: OpsConfig;
  /** ESCALATION_TIME_SCALE (> 0): multiplies every step delay and the SLA clock. */
  timeScale: number;
  store: IncidentStore;
  notifier: Pick<IncidentNotifier, 'postReply' | 'sync'>;
  /** Slack user id for a config user name. @defaultValue RBAC `slack_id`, then `users.list` through `client` */
  resolveUser?: UserResolver;
  /** Slack subteam id for a user-group handle. @defaultValue `usergroups.list` through `client`, else plain `@handle` */
  resolveUsergroup?: UsergroupResolver;
  /** Used by the default resolvers only. */
  client?: WebClient;
  logger: Logger;
  registry: Registry;
  /** @defaultValue () => new Date() */
  now?: () => Date;
  /**
   * Jobs run at once per process. A step is a dozen Redis round trips and little CPU, so steps that come due
   * together (a storm's incidents opened in the same minute) need many in flight to fire on time. @defaultValue 16
   */
  concurrency?: number;
  /**
   * Asked when a snooze runs out, before the incident is triggered again: Alertmanager sends no resolved
   * notification for alerts that resolved while silenced, so only its API knows. 'resolved' means the check
   * closed the incident (nothing to re-trigger); anything else re-triggers it. Without it, a snooze end re-triggers.
   */
  checkSnoozeEnd?: (incidentId: string) => Promise<'resolved' | 'firing' | 'unknown'>;
}

/** BullMQ promotes delayed jobs a few ms early at most; more than this is a job that must wait. */
const EARLY_TOLERANCE_MS = 50;

/**
 * See EscalationEngineOptions.concurrency. Measured on 2 shared cores (docs/performance.md): 8 left a backlog of
 * due steps; 32 fired them on time but starved the webhook of a storm (new incidents/s fell by half); 16 is between.
 */
const DEFAULT_CONCURRENCY = 16;


export interface PendingStep {
  /** planEscalation's step id ("r0-s1": round 0, step 1). */
  id: string;
  dueAt: string;
  /** The notify target as configured: oncall_primary, usergroup:ops-leads, ... */
  notify: string;
}

/**
 * Escalation for every open incident on BullMQ delayed jobs (queue
 * `escalations`): the policy's steps, a snooze's end and the SLA clock. The
 * incident service tells it what happened (opened, acknowledged, ...); each
 * job re-checks the incident when it fires, so a race with a person's click
 * is settled in Redis, not by timing. Unstarted until `start()`.
 */
export function createEscalationEngine(options: EscalationEngineOptions) {
  assertTimeScale(options.timeScale);
  const { connection, prefix, config, timeScale, store, logger } = options;
  const now = options.now ?? (() => new Date());
  const state = createEscalationState({ redis: connection, prefix });
  const queue = new Queue<EscalationJob>(QueueName.Escalations, { connection, prefix });
  queue.on('error', (err) => logger.warn({ err }, 'escalation queue error'));
  const scheduler = createScheduler({ queue, state, config, timeScale, now, logger });
  const overrides = createOverrideStore({ redis: connection, prefix });
  const firing = createFiring({
    config,
    store,
    notifier: options.notifier,
    state,
    scheduler,
    overrides,
    resolveUser: options.resolveUser ?? createUserResolver(config, options.client, logger),
    resolveUsergroup: options.resolveUsergroup ?? createUsergroupResolver(options.client, logger),
    metrics: createEscalationMetrics(options.registry),
    logger,
    now,
    leaseMs: claimLeaseMs(timeScale),
  });
  let worker: Worker<EscalationJob> | undefined;

  /** The routed policy, else the priority's; a name the config lost falls back too. */
  function policyFor(incident: Incident): string {
    const routed = incident.policy;
    return routed && routed in config.escalation.policies ? routed : config.escalation.by_priority[incident.priority];
  }

  function chainOf(s: EscalationState): ChainPlan | undefined {
    if (!s.anchor || !s.policy || !s.priority) return undefined;
    return { anchor: new Date(s.anchor), policy: s.policy, priority: s.priority as Priority };
  }

  async function startChain(id: string, from: string[], plan: ChainPlan): Promise<boolean> {
    const fields = { status: 'running', anchor: plan.anchor.toISOString(), policy: plan.policy, priority: plan.priority, resumeAt: '' };
    const t = await state.transition(id, CHAIN, { from, fields, bump: true });
    if (!t.ok) return false;
    await scheduler.cancelStale(id, CHAIN, t.gen);
    await scheduler.scheduleChain(id, t.gen, plan);
    return true;
  }

  async function startSla(id: string, from: string[], dueAt: Date): Promise<void> {
    const t = await state.transition(id, SLA, { from, fields: { slaStatus: 'pending', slaDueAt: dueAt.toISOString() }, bump: true });
    if (!t.ok) return;
    await scheduler.cancelStale(id, SLA, t.gen);
    await scheduler.scheduleSla(id, t.gen, dueAt);
  }

  async function stopChain(id: string, from: string[], fields: Record<string, string>): Promise<void> {
    const t = await state.transition(id, CHAIN, { from, fields: { resumeAt: '', ...fields }, bump: true });
    if (t.ok) await scheduler.cancelStale(id, CHAIN, t.gen);
  }

  async function stopSla(id: string, slaStatus: 'met' | 'cancelled', expectGen?: number): Promise<void> {
    const t = await state.transition(id, SLA, { from: ['pending', 'none'], expectGen, fields: { slaStatus }, bump: true });
    if (t.ok) await scheduler.cancelStale(id, SLA, t.gen);
  }

  /**
   * Plans the policy chain from the incident's creation and starts the SLA clock. Idempotent.
   * `known`: the incident as the caller just read it (the alert intake's ingest returns it): saves a read.
   */
  async function opened(id: string, known?: Incident): Promise<void> {
    const incident = known?.id === id ? known : await store.get(id);
    if (!incident || incident.state === 'resolved') return;
    const openedAt = new Date(incident.createdAt);
    const plan = { anchor: openedAt, policy: policyFor(incident), priority: incident.priority };
    if (incident.state !== 'triggered' && incident.state !== 'snoozed') return;
    // The chain and the SLA clock are separate clocks of the state (own status and generation, own jobs):
    // started together, so opening costs the round trips of one of them, not both.
    await Promise.all([
      // Already opened (a retry, a second replica): make sure its jobs exist, plan nothing new.
      startChain(id, ['none'], plan).then(async (started) => {
        if (!started) await reconcileOne(id);
      }),
      startSla(id, ['none'], responseDeadline(incident.priority, openedAt, config, timeScale)),
    ]);
    if (incident.state === 'snoozed' && incident.snoozedUntil && (await state.read(id)).status === 'running') {
      await snoozed(id, new Date(incident.snoozedUntil));
    }
  }

  /** Cancels the remaining steps; the SLA clock stops as met when the ack came in time. */
  async function acknowledged(id: string): Promise<void> {
    await stopChain(id, ['none', 'running', 'paused', 'stopped'], { status: 'stopped' });
    const s = await state.read(id);
    // A late ack leaves the breach job to say so (it sees acknowledgedAt > due).
    if (s.slaStatus === 'pending' && s.slaDueAt && now().getTime() < new Date(s.slaDueAt).getTime()) {
      await stopSla(id, 'met', s.slaGen);
    }
  }

  /** Nobody has it any more: the policy starts over from now. */
  async function unacknowledged(id: string): Promise<void> {
    const incident = await store.get(id);
    if (!incident || incident.state !== 'triggered') return;
    const s = await state.read(id);
    const policy = s.policy && s.priority === incident.priority ? s.policy : policyFor(incident);
    await startChain(id, ['none', 'stopped'], { anchor: now(), policy, priority: incident.priority });
  }

  async function resolved(id: string): Promise<void> {
    await stopChain(id, ['none', 'running', 'paused', 'stopped'], { status: 'stopped' });
    await stopSla(id, 'cancelled');
    await state.expire(id);
  }

  /**
   * Pauses the chain; at `until` it starts over unless acknowledged or resolved by then. An acknowledged incident
   * that is snoozed is no longer acknowledged (the store moves it to "snoozed"), so it too starts over at `until`.
   * The SLA clock keeps running.
   */
  async function snoozed(id: string, until: Date): Promise<void> {
    const incident = await store.get(id);
    if (!incident || incident.state === 'resolved') return;
    const fields = { status: 'paused', resumeAt: until.toISOString() };
    const t = await state.transition(id, CHAIN, { from: ['running', 'paused', 'stopped'], fields, bump: true });
    if (!t.ok) return;
    await scheduler.cancelStale(id, CHAIN, t.gen);
    await scheduler.scheduleResume(id, t.gen, until);
  }

  /** Ends a pause: from the resume job (`expectGen`, anchored at the snooze's end) or from a person (now). */
  async function resume(id: string, anchor: Date, expectGen?: number): Promise<void> {
    const incident = await store.get(id);
    if (!incident || incident.state === 'acknowledged' || incident.state === 'resolved') return;
    const s = await state.read(id);
    if (s.status !== 'paused' || (expectGen !== undefined && s.gen !== expectGen)) return;
    const plan = chainOf(s) ?? { anchor, policy: policyFor(incident), priority: incident.priority };
    const t = await state.transition(id, CHAIN, {
      from: ['paused'],
      expectGen: s.gen,
      fields: { status: 'running', anchor: anchor.toISOString(), resumeAt: '' },
      bump: true,
    });
    if (!t.ok) return;
    await scheduler.cancelStale(id, CHAIN, t.gen);
    await scheduler.scheduleChain(id, t.gen, { ...plan, anchor });
  }

  async function unsnoozed(id: string): Promise<void> {
    await resume(id, now());
  }

  /**
   * New priority: the chain starts over from now with the new policy (the
   * routed one if the incident service re-routed it, else the priority's
   * default), and a running SLA clock restarts with the new response time.
   */
  async function reclassified(id: string): Promise<void> {
    const incident = await store.get(id);
    if (!incident || incident.state === 'resolved') return;
    const s = await state.read(id);
    const oldDefault = s.priority ? config.escalation.by_priority[s.priority as Priority] : undefined;
    // A policy equal to the old priority's default was the default, not a routing decision: it follows the priority.
    const keepRouted = incident.policy && incident.policy !== oldDefault && incident.policy in config.escalation.policies;
    const policy = keepRouted ? incident.policy : config.escalation.by_priority[incident.priority];
    const at = now();
    if (s.status === 'running') {
      await startChain(id, ['running'], { anchor: at, policy, priority: incident.priority });
    } else if (s.status !== 'none') {
      await state.transition(id, CHAIN, { from: [s.status], fields: { policy, priority: incident.priority }, bump: false });
    }
    if (s.slaStatus === 'pending') await startSla(id, ['pending'], responseDeadline(incident.priority, at, config, timeScale));
  }

  /** Steps of the current plan that have not fired, in firing order; empty unless the chain is running. */
  async function pending(id: string): Promise<PendingStep[]> {
    const s = await state.read(id);
    const plan = chainOf(s);
    if (s.status !== 'running' || !plan) return [];
    const steps = await scheduler.unfired(id, s.gen, plan);
    return steps.map((step) => ({ id: step.id, dueAt: step.dueAt.toISOString(), notify: formatNotifyTarget(step.notify) }));
  }

  /**
   * Makes Redis match what should be scheduled for one incident: a chain with
   * no engine state is opened, a running chain gets a job for every unfired
   * step (past due: delay 0, so it fires now, late), a pause its resume job,
   * a running SLA clock its job. Deterministic job ids make this a no-op when
   * nothing was lost.
   */
  async function reconcileOne(id: string): Promise<number> {
    const incident = await store.get(id);
    if (!incident || incident.state === 'resolved') return 0;
    const s = await state.read(id);
    if (s.status === 'none' && s.slaStatus === 'none') {
      await opened(id);
      return 0;
    }
    let late = 0;
    const plan = chainOf(s);
    if (s.status === 'running' && plan) {
      late = (await scheduler.scheduleChain(id, s.gen, plan)).filter((step) => step.pastDue).length;
    }
    if (s.status === 'paused' && s.resumeAt) await scheduler.scheduleResume(id, s.gen, new Date(s.resumeAt));
    if (s.slaStatus === 'pending' && s.slaDueAt) await scheduler.scheduleSla(id, s.slaGen, new Date(s.slaDueAt));
    return late;
  }

  async function process(job: Job<EscalationJob>, token?: string): Promise<void> {
    const parsed = EscalationJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`bad escalation job ${job.id}: ${parsed.error.message}`);
    const data = parsed.data;
    const dueMs = Date.parse(data.dueAt);
    // Never early: a duplicate added without its delay, or a replica whose clock runs behind, waits for the due time.
    if (token && dueMs - now().getTime() > EARLY_TOLERANCE_MS) {
      await job.moveToDelayed(dueMs, token);
      throw new DelayedError();
    }
    // The claim names this run of the job: a later run of the same job (after a stall) may take it over.
    const run = { jobId: String(job.id ?? ''), lockToken: token ?? '' };
    if (data.kind === 'step') await firing.fireStep(data.incidentId, data.generation, data.stepId, run);
    else if (data.kind === 'sla') await firing.fireSla(data.incidentId, data.generation, run);
    else await snoozeOver(data.incidentId, new Date(data.dueAt), data.generation);
  }

  /**
   * The snooze ran out: if Alertmanager says its alerts stopped firing meanwhile, the incident is resolved;
   * otherwise it is triggered again (shown in its thread), and the chain starts over.
   */
  async function snoozeOver(id: string, until: Date, gen: number): Promise<void> {
    // A stale job (of an earlier snooze, or of a plan a person has since changed) must change nothing,
    // so the generation is checked before the store is touched.
    const s = await state.read(id);
    if (s.status !== 'paused' || s.gen !== gen) {
      logger.debug({ incidentId: id, gen, current: s.gen, status: s.status }, 'stale snooze-end job: nothing to do');
      return;
    }
    if (options.checkSnoozeEnd && (await options.checkSnoozeEnd(id)) === 'resolved') return;
    const ended = await store.transition(id, {
      from: ['snoozed'],
      to: 'triggered',
      // The Alertmanager silence ends by itself at the same moment.
      fields: { snoozedUntil: '', silenceId: '' },
      event: { type: 'snooze_ended', by: 'escalation' },
    });
    await resume(id, until, gen);
    if (ended.ok) await options.notifier.sync(id, '⏰ The snooze is over and nobody has acknowledged: escalation starts again.');
  }

  /** Starts the worker, then reconciles every open incident. */
  async function start(): Promise<void> {
    if (worker) return;
    worker = new Worker<EscalationJob>(QueueName.Escalations, process, {
      connection,
      prefix,
      concurrency: options.concurrency ?? DEFAULT_CONCURRENCY,
      // A dead process's step is taken over within seconds, not after BullMQ's default minute (lib/worker-takeover.ts).
      ...PROMPT_TAKEOVER,
      settings: { backoffStrategy: (attemptsMade, type, err) => (type === BACKOFF_TYPE ? escalationBackoff(attemptsMade, err) : 1000) },
    });
    worker.on('error', (err) => logger.error({ err }, 'escalation worker error'));
    worker.on('failed', (job, err) => {
      const final = job && job.attemptsMade >= (job.opts.attempts ?? 1);
      if (final || err.name !== 'RetryLaterError') logger.warn({ err, jobId: job?.id, final }, 'escalation job failed');
    });
    let late = 0;
    const ids = await store.openIds();
    for (const id of ids) {
      try {
        late += await reconcileOne(id);
      } catch (err) {
        logger.error({ err, incidentId: id }, 'escalation reconcile failed for an incident');
      }
    }
    logger.info({ incidents: ids.length, lateSteps: late }, 'escalation engine started');
  }

  async function stop(): Promise<void> {
    await worker?.close();
    worker = undefined;
    await queue.close();
  }

  return {
    start,
    stop,
    opened,
    acknowledged,
    unacknowledged,
    resolved,
    snoozed,
    unsnoozed,
    reclassified,
    pending,
    /** For `/ops status` and tests: the engine's own state of one incident. */
    inspect: (id: string) => state.read(id),
  };
}

export type EscalationEngine = ReturnType<typeof createEscalationEngine>;
