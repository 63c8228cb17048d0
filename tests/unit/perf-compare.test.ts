import { compare, DEFAULT_THRESHOLDS, summarise, type PerfSummary } from '../../scripts/perf-compare';

const base: PerfSummary = { p95Ms: 20, throughputRps: 25, requests: 1000, errors: 0 };

describe('perf:regress comparison', () => {
  it('passes a run within the thresholds, and says by how much it moved', () => {
    const v = compare(base, { p95Ms: 23, throughputRps: 24, requests: 1000, errors: 5 });
    expect(v.ok).toBe(true);
    expect(v.failures).toEqual([]);
    expect(v.lines.join('\n')).toMatch(/p95\s+20\.0 ms\s+23\.0 ms\s+\+15\.0 %/);
  });

  it('fails a slower p95, a throughput drop and too many errors, each with its reason', () => {
    const v = compare(base, { p95Ms: 25, throughputRps: 20, requests: 1000, errors: 20 });
    expect(v.ok).toBe(false);
    expect(v.failures).toHaveLength(3);
    expect(v.failures[0]).toMatch(/^p95 25\.0 ms is \+25\.0 % on the baseline's 20\.0 ms \(allowed \+20\.0 %\)/);
    expect(v.failures[1]).toMatch(/^throughput 20\.0\/s is -20\.0 %/);
    expect(v.failures[2]).toMatch(/^errors 20 of 1000 requests/);
  });

  it('honours custom thresholds and treats the boundary as allowed', () => {
    expect(compare(base, { ...base, p95Ms: 24 }, DEFAULT_THRESHOLDS).ok).toBe(true);
    expect(compare(base, { ...base, p95Ms: 24 }, { ...DEFAULT_THRESHOLDS, maxP95Increase: 0.1 }).ok).toBe(false);
    expect(compare(base, { ...base, p95Ms: NaN }).ok).toBe(false); // a broken run never passes
  });

  it("reads artillery's JSON report: p95, responses per second, non-2xx and errors", () => {
    const report = {
      aggregate: {
        firstMetricAt: 1_000_000,
        lastMetricAt: 1_040_000,
        counters: { 'http.requests': 1010, 'http.responses': 1000, 'http.codes.200': 990, 'http.codes.503': 10, 'errors.ETIMEDOUT': 10 },
        summaries: { 'http.response_time': { p95: 12.1, p50: 4 } },
      },
    };
    expect(summarise(report)).toEqual({ p95Ms: 12.1, throughputRps: 25, requests: 1010, errors: 20 });
    expect(summarise({ p95Ms: 1, throughputRps: 2, requests: 3, errors: 0 })).toEqual({ p95Ms: 1, throughputRps: 2, requests: 3, errors: 0 });
    expect(() => summarise({ something: 'else' })).toThrow(/not an artillery report/);
  });
});
