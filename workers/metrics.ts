import { Counter, Histogram, type Registry } from 'prom-client';

export function createWorkerMetrics(registry: Registry) {
  return {
    jobs: new Counter({
      name: 'runbook_jobs_total',
      help: 'Runbook action jobs processed, by action and outcome (success, failure, skipped, error, invalid, refused: its target locked by another request).',
      labelNames: ['action', 'outcome'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'runbook_job_duration_seconds',
      help: 'Time to run a runbook action job, by action.',
      labelNames: ['action'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
    routine: new Counter({
      name: 'routine_jobs_total',
      help: 'Routine jobs (scheduled or on-demand reports, maintenance phases) processed, by job and outcome (success, error, invalid).',
      labelNames: ['job', 'outcome'],
      registers: [registry],
    }),
    routineDuration: new Histogram({
      name: 'routine_job_duration_seconds',
      help: 'Time to run a routine job, by job.',
      labelNames: ['job'],
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers: [registry],
    }),
  };
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;
