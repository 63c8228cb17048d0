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

/**
 * The memory limit this process runs under: the tightest cgroup limit on the
 * path of its own cgroup (read from /proc/self/cgroup, so it works with a
 * private cgroup namespace, where that path is "/", and without one, e.g. a
 * systemd unit or a container sharing the host's namespace), capped at the
 * host's memory. cgroup v2 `memory.max` and v1 `memory.limit_in_bytes`; "max"
 * and v1's ~2^63 mean no limit; no cgroup limit at all means the host total.
 */
export function memoryLimitBytes(cgroupRoot: string, selfCgroupFile = '/proc/self/cgroup'): number {
  let limit = os.totalmem();
  for (const file of cgroupLimitFiles(cgroupRoot, selfCgroupFile)) {
    try {
      const raw = fs.readFileSync(file, 'utf8').trim();
      const value = Number(raw);
      if (raw !== 'max' && Number.isFinite(value) && value > 0 && value < 2 ** 60) limit = Math.min(limit, value);
    } catch {
      // not this cgroup version, or no such level
    }
  }
  return limit;
}

/** Limit files of the process's cgroup and of every ancestor up to the root, for v2 and v1. */
function cgroupLimitFiles(root: string, selfCgroupFile: string): string[] {
  const files = [`${root}/memory.max`, `${root}/memory/memory.limit_in_bytes`];
  let lines: string[];
  try {
    lines = fs.readFileSync(selfCgroupFile, 'utf8').split('\n');
  } catch {
    return files;
  }
  const ancestors = (base: string, cgroupPath: string, file: string) => {
    const parts = cgroupPath.split('/').filter(Boolean);
    for (let i = parts.length; i > 0; i -= 1) files.push(`${base}/${parts.slice(0, i).join('/')}/${file}`);
  };
  for (const line of lines) {
    // "hierarchy-id:controllers:path"; v2 is "0::/path", v1 lists its controllers, e.g. "4:memory:/path".
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    if (m[1] === '0' && m[2] === '') ancestors(root, m[3]!, 'memory.max');
    else if (m[2]!.split(',').includes('memory')) ancestors(`${root}/memory`, m[3]!, 'memory.limit_in_bytes');
  }
  return files;
}

/** Express handler serving a registry in the Prometheus text format. */
export function metricsHandler(registry: Registry) {
  return async (_req: Request, res: Response): Promise<void> => {
    res.setHeader('Content-Type', registry.contentType);
    res.end(await registry.metrics());
  };
}
