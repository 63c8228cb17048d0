import { Counter, Histogram, type Registry } from 'prom-client';

export function createWorkerMetrics(registry: Registry) {
  return {
    jobs: new Counter({
      name: 'runbook_jobs_total',
      help: 'Runbook action jobs processed, by action and outcome (success, failure, error, invalid).',
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
  };
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;
