import fs from 'node:fs';
import os from 'node:os';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { Request, Response } from 'express';

export { Registry };

export interface MetricsRegistryOptions {
  /** Value of the `service` label on every series of this process. */
  service: string;
  /** Collect Node's default metrics (event loop lag, GC, heap). @defaultValue true */
  defaultMetrics?: boolean;
  /** Where to read the cgroup memory limit; tests point it at a fixture. */
  cgroupRoot?: string;
}

/**
 * A registry per process (never prom-client's global one, so tests never share
 * state), with the seed's process metrics that every PromQL rule relies on:
 * `process_memory_usage_bytes`, `process_memory_limit_bytes`, `process_cpu_usage_percent`.
 */
export function createMetricsRegistry(options: MetricsRegistryOptions): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service: options.service });
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });

  new Gauge({
    name: 'process_memory_usage_bytes',
    help: 'Resident set size of this process in bytes.',
    registers: [registry],
    collect() {
      this.set(process.memoryUsage().rss);
    },
  });

  const limit = memoryLimitBytes(options.cgroupRoot ?? '/sys/fs/cgroup');
  new Gauge({
    name: 'process_memory_limit_bytes',
    help: 'Memory this process may use: the cgroup limit when one is set, else the host total.',
    registers: [registry],
    collect() {
      this.set(limit);
    },
  });

  let lastCpu = process.cpuUsage();
  let lastAt = process.hrtime.bigint();
  new Gauge({
    name: 'process_cpu_usage_percent',
    help: 'CPU used by this process since the previous scrape, in percent of one core.',
    registers: [registry],
    collect() {
      const now = process.hrtime.bigint();
      const cpu = process.cpuUsage(lastCpu);
      const elapsedUs = Number(now - lastAt) / 1000;
      lastCpu = process.cpuUsage();
      lastAt = now;
      this.set(elapsedUs > 0 ? ((cpu.user + cpu.system) / elapsedUs) * 100 : 0);
    },
  });

  return registry;
}

/** cgroup v2 `memory.max`, then v1 `memory.limit_in_bytes`; "max" or absurd values mean no limit. */
export function memoryLimitBytes(cgroupRoot: string): number {
  const candidates = [`${cgroupRoot}/memory.max`, `${cgroupRoot}/memory/memory.limit_in_bytes`];
  for (const file of candidates) {
    try {
      const raw = fs.readFileSync(file, 'utf8').trim();
      if (raw === 'max') break;
      const value = Number(raw);
      // v1 reports ~2^63 when unlimited.
      if (Number.isFinite(value) && value > 0 && value < 2 ** 60) return value;
    } catch {
      // not this cgroup version
    }
  }
  return os.totalmem();
}

/** Express handler serving a registry in the Prometheus text format. */
export function metricsHandler(registry: Registry) {
  return async (_req: Request, res: Response): Promise<void> => {
    res.setHeader('Content-Type', registry.contentType);
    res.end(await registry.metrics());
  };
}
