import { type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { QueueName, routineSchedulerId, RoutineJobSchema, type RoutineJob, type RoutineReportName } from '../../lib/contracts';
import { ROUTINE_REPORTS } from '../../lib/ops-config-routine';
import type { WorkerMetrics } from '../metrics';
import { backupJob } from './backup';
import { capacityReportJob } from './capacity-report';
import { certificatesJob } from './certificates';
import type { RoutineContext } from './context';
import { dailyChecklistJob } from './daily-checklist';
import { maintenancePhaseJob, planMaintenance } from './maintenance';
import { morningHealthJob } from './morning-health';
import { securityReportJob } from './security-report';

/**
 * The routine queue: one BullMQ job scheduler per report (cron and time zone
 * from `routine.schedules`; Redis holds one next job per scheduler, so every
 * slot runs once however many workers replicas there are), the maintenance
 * planner, the planned maintenance phases, and on-demand runs the bot queues
 * for `/ops report <name>`.
 */
const REPORTS: Record<RoutineReportName, (ctx: RoutineContext, onDemand: boolean) => Promise<string>> = {
  'morning-health': (ctx) => morningHealthJob(ctx),
  'daily-checklist': (ctx) => dailyChecklistJob(ctx),
  backup: (ctx) => backupJob(ctx),
  certificates: (ctx, onDemand) => certificatesJob(ctx, onDemand),
  'security-report': (ctx) => securityReportJob(ctx),
  'capacity-report': (ctx) => capacityReportJob(ctx),
};

export const scheduleKey = (report: RoutineReportName) => report.replace(/-/g, '_') as keyof RoutineContext['config']['routine']['schedules'];
const JOB_OPTIONS = { attempts: 3, backoff: { type: 'exponential' as const, delay: 5000 }, removeOnComplete: 200, removeOnFail: 500 };

export interface RoutineWorkerOptions {
  connection: Redis;
  prefix: string;
  ctx: RoutineContext;
  metrics: WorkerMetrics;
}

export function createRoutineWorker(options: RoutineWorkerOptions) {
  const { ctx, metrics } = options;
  const queue = new Queue<RoutineJob>(QueueName.Routine, { connection: options.connection, prefix: options.prefix });
  queue.on('error', (err) => ctx.logger.warn({ err }, 'routine queue error'));
  let worker: Worker | undefined;

  const label = (job: RoutineJob) => (job.kind === 'report' ? job.report : job.kind === 'maintenance' ? `maintenance-${job.phase}` : job.kind);

  async function process(job: Job<unknown>): Promise<string> {
    const parsed = RoutineJobSchema.safeParse(job.data);
    if (!parsed.success) {
      metrics.routine.inc({ job: 'invalid', outcome: 'invalid' });
      throw new UnrecoverableError(`invalid routine job: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    }
    const data = parsed.data;
    const stop = metrics.routineDuration.startTimer({ job: label(data) });
    try {
      let result: string;
      if (data.kind === 'report') result = await REPORTS[data.report](ctx, data.requestedBy !== undefined || !job.repeatJobKey);
      else if (data.kind === 'maintenance-plan') result = await planMaintenance(ctx, queue);
      else result = await maintenancePhaseJob(ctx, data);
      metrics.routine.inc({ job: label(data), outcome: 'success' });
      ctx.logger.info({ job: label(data), jobId: job.id, result }, 'routine job done');
      return result;
    } catch (err) {
      metrics.routine.inc({ job: label(data), outcome: 'error' });
      throw err;
    } finally {
      stop();
    }
  }

  /** Creates or updates every scheduler from the ops config (idempotent: replicas and restarts agree). */
  async function schedule(): Promise<void> {
    const { schedules, timezone } = ctx.config.routine;
    for (const report of ROUTINE_REPORTS) {
      await queue.upsertJobScheduler(routineSchedulerId(report), { pattern: schedules[scheduleKey(report)], tz: timezone }, {
        name: report,
        data: { kind: 'report', report },
        opts: JOB_OPTIONS,
      });
    }
    await queue.upsertJobScheduler(routineSchedulerId('maintenance-plan'), { pattern: schedules.maintenance_plan, tz: timezone }, {
      name: 'maintenance-plan',
      data: { kind: 'maintenance-plan' },
      opts: JOB_OPTIONS,
    });
    // Plan now as well: a new window (or a fresh install) must not wait for the planner's next slot.
    await queue.add('maintenance-plan', { kind: 'maintenance-plan' }, JOB_OPTIONS);
  }

  async function start(): Promise<void> {
    if (worker) return;
    worker = new Worker(QueueName.Routine, process, { connection: options.connection, prefix: options.prefix, concurrency: 2 });
    worker.on('failed', (job, err) => ctx.logger.error({ err, jobId: job?.id, attempts: job?.attemptsMade }, 'routine job failed'));
    worker.on('error', (err) => ctx.logger.error({ err }, 'routine worker error'));
    await schedule();
  }

  async function close(): Promise<void> {
    await worker?.close();
    worker = undefined;
    await queue.close();
  }

  return { start, close, queue, schedule, isRunning: () => worker?.isRunning() ?? false };
}

export type RoutineWorker = ReturnType<typeof createRoutineWorker>;
