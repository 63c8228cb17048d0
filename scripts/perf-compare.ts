/**
 * The comparison behind `npm run perf:regress` (the operations guide's
 * performance-regression-test.py): a run's p95 and throughput against a saved
 * baseline, failing past a threshold. Pure functions; scripts/perf-regress.ts
 * reads the files.
 */

/** What a load run is judged by. */
export interface PerfSummary {
  /** Name of the load test (weekly-load-test, ...). */
  test?: string;
  /** 95th percentile response time in ms. */
  p95Ms: number;
  /** Responses per second over the run. */
  throughputRps: number;
  requests: number;
  errors: number;
}

export interface Thresholds {
  /** Largest allowed p95 growth, as a fraction of the baseline (0.2 = 20 % slower). @defaultValue 0.2 */
  maxP95Increase: number;
  /** Largest allowed throughput drop, as a fraction of the baseline. @defaultValue 0.1 */
  maxThroughputDrop: number;
  /** Largest allowed error share of requests. @defaultValue 0.01 (the guide's < 1 %) */
  maxErrorRate: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = { maxP95Increase: 0.2, maxThroughputDrop: 0.1, maxErrorRate: 0.01 };

export interface Verdict {
  ok: boolean;
  lines: string[];
  failures: string[];
}

/** Artillery's JSON report (`artillery run --output`), or an already summarised file. */
export function summarise(report: unknown): PerfSummary {
  const r = report as Record<string, unknown>;
  if (typeof r.p95Ms === 'number' && typeof r.throughputRps === 'number') return r as unknown as PerfSummary;
  const agg = r.aggregate as
    | { counters?: Record<string, number>; summaries?: Record<string, { p95?: number }>; firstMetricAt?: number; lastMetricAt?: number }
    | undefined;
  if (!agg?.counters) throw new Error('not an artillery report (no aggregate.counters) nor a summary (p95Ms, throughputRps)');
  const c = agg.counters;
  const responses = c['http.responses'] ?? 0;
  const codes = Object.entries(c).filter(([k]) => k.startsWith('http.codes.'));
  const bad = codes.filter(([k]) => !k.startsWith('http.codes.2')).reduce((s, [, v]) => s + v, 0);
  const errors = bad + Object.entries(c).filter(([k]) => k.startsWith('errors.')).reduce((s, [, v]) => s + v, 0);
  const p95 = agg.summaries?.['http.response_time']?.p95;
  if (p95 === undefined) throw new Error('the report has no http.response_time summary (did any request complete?)');
  const seconds = agg.firstMetricAt && agg.lastMetricAt ? Math.max(1, (agg.lastMetricAt - agg.firstMetricAt) / 1000) : NaN;
  return { p95Ms: p95, throughputRps: responses / seconds, requests: c['http.requests'] ?? responses, errors };
}

const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %`;

export function compare(baseline: PerfSummary, current: PerfSummary, t: Thresholds = DEFAULT_THRESHOLDS): Verdict {
  const failures: string[] = [];
  const p95Change = (current.p95Ms - baseline.p95Ms) / baseline.p95Ms;
  const tputChange = (current.throughputRps - baseline.throughputRps) / baseline.throughputRps;
  const errorRate = current.requests ? current.errors / current.requests : 1;
  if (!(p95Change <= t.maxP95Increase)) failures.push(`p95 ${current.p95Ms.toFixed(1)} ms is ${pct(p95Change)} on the baseline's ${baseline.p95Ms.toFixed(1)} ms (allowed ${pct(t.maxP95Increase)})`);
  if (!(-tputChange <= t.maxThroughputDrop))
    failures.push(`throughput ${current.throughputRps.toFixed(1)}/s is ${pct(tputChange)} on the baseline's ${baseline.throughputRps.toFixed(1)}/s (allowed ${pct(-t.maxThroughputDrop)})`);
  if (!(errorRate <= t.maxErrorRate)) failures.push(`errors ${current.errors} of ${current.requests} requests (${pct(errorRate)}, allowed ${pct(t.maxErrorRate)})`);
  const lines = [
    `            baseline     current      change`,
    `p95         ${baseline.p95Ms.toFixed(1).padStart(8)} ms  ${current.p95Ms.toFixed(1).padStart(8)} ms  ${pct(p95Change)}`,
    `throughput  ${baseline.throughputRps.toFixed(1).padStart(8)} /s  ${current.throughputRps.toFixed(1).padStart(8)} /s  ${pct(tputChange)}`,
    `errors      ${String(baseline.errors).padStart(8)}     ${String(current.errors).padStart(8)}     ${pct(errorRate)} of requests`,
  ];
  return { ok: failures.length === 0, lines, failures };
}
