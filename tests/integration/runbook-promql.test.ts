/**
 * Every PromQL query a runbook runs at open parses (checked by the real
 * promtool, as monitoring/ is) and reads only series our processes export,
 * taken from their real prom-client registries, not from a list.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { createIncidentOpener } from '../../bot/alerts/incident-opener';
import type { IncidentNotifier } from '../../bot/incidents/incident-notifier';
import { createIncidentStore } from '../../bot/incidents/incident-store';
import { createBotMetrics } from '../../bot/metrics';
import { createOutboxMetrics } from '../../bot/slack-outbox/metrics';
import { silentLogger } from '../../lib/logger';
import { createMetricsRegistry, type Registry } from '../../lib/metrics';
import type { Redis } from '../../lib/redis';
import { loadRunbooks } from '../../lib/runbook';
import { createServerMetrics } from '../../server/metrics';
import { createWorkerMetrics } from '../../workers/metrics';
import { testPrefix, testRedis } from '../helpers/redis';

const runbooks = loadRunbooks();
const queries = [...runbooks.values()].flatMap((r) => r.diagnostics.flatMap((d) => (d.promql ? [{ alert: r.alert, name: d.name, promql: d.promql }] : [])));

function promtoolCheck(exprs: Array<{ record: string; expr: string }>, file: string): { status: number; output: string } {
  fs.writeFileSync(file, stringify({ groups: [{ name: 'runbooks', rules: exprs }] }));
  const result = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8', timeout: 60_000 });
  if (result.error) throw new Error(`promtool could not run (${result.error.message}); install Debian's prometheus package`);
  return { status: result.status ?? -1, output: `${result.stdout}${result.stderr}` };
}

const KEYWORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'inf', 'nan']);

/** Series names an expression reads: identifiers outside strings, matchers, ranges, numbers, durations and grouping clauses that are not function calls. */
function metricNamesIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b\d+(?:\.\d+)?(?:ms|[smhdwy])?\b/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?/g)) {
    if (!m[2] && !KEYWORDS.has(m[1]!.toLowerCase())) names.add(m[1]!);
  }
  return [...names];
}

/**
 * What the server, bot (its outbox and incident opener included) and workers registries expose, histogram series
 * included, plus Prometheus's own series. The opener's gauge reads its Redis set (empty under a fresh prefix) at scrape
 * time; the opener is never started, so it opens nothing and never calls its notifier.
 */
async function exportedSeries(redis: Redis): Promise<Set<string>> {
  const registries: Registry[] = [];
  const server = createMetricsRegistry({ service: 'mcp-financial-server' });
  createServerMetrics(server, { breakers: () => [] });
  const bot = createMetricsRegistry({ service: 'bot' });
  const botMetrics = createBotMetrics(bot);
  createOutboxMetrics(bot, async () => 0);
  createIncidentOpener({
    redis,
    store: createIncidentStore({ redis, prefix: testPrefix('runbook-promql') }),
    notifier: {} as IncidentNotifier,
    logger: silentLogger(),
    metrics: botMetrics,
    registry: bot,
    open: async () => undefined,
  });
  const workers = createMetricsRegistry({ service: 'workers' });
  createWorkerMetrics(workers);
  registries.push(server, bot, workers);
  // Written by Prometheus itself: `up` for every target, `ALERTS` for every pending or firing alert.
  const names = new Set(['up', 'ALERTS']);
  for (const registry of registries) {
    for (const metric of await registry.getMetricsAsJSON()) {
      names.add(metric.name);
      if (String(metric.type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(`${metric.name}${s}`);
    }
  }
  return names;
}

describe('runbook PromQL', () => {
  let tmp: string;
  let redis: Redis;
  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'runbook-promql-'));
    redis = testRedis();
  });
  afterAll(async () => {
    fs.rmSync(tmp, { recursive: true, force: true });
    await redis.quit();
  });

  it('finds the queries (most diagnostics are PromQL)', () => {
    expect(queries.length).toBeGreaterThanOrEqual(40);
  });

  it('every query parses (promtool check rules)', () => {
    const rules = queries.map((q) => ({ record: `runbook:${q.alert}:${q.name}`, expr: q.promql }));
    const { status, output } = promtoolCheck(rules, path.join(tmp, 'runbooks.yml'));
    if (status !== 0) throw new Error(`runbook PromQL does not parse:\n${output}`);
    expect(output).toMatch(new RegExp(`SUCCESS: ${rules.length} rules found`));
  });

  it('the check can fail: a query that balances its brackets but is not PromQL is refused', () => {
    const { status, output } = promtoolCheck([{ record: 'runbook:bad', expr: 'rate(mcp_requests_total)' }], path.join(tmp, 'bad.yml'));
    expect(status).not.toBe(0);
    expect(output).toMatch(/range vector/i);
  });

  it('every series a query reads is one our processes export', async () => {
    const exported = await exportedSeries(redis);
    expect(exported.has('mcp_request_duration_seconds_bucket')).toBe(true);
    expect(exported.has('incident_openings_waiting')).toBe(true);
    const missing = queries.flatMap((q) => metricNamesIn(q.promql).filter((n) => !exported.has(n)).map((n) => `${q.alert}.${q.name}: ${n}`));
    expect(missing).toEqual([]);
  });

  it('extracts series names, not functions, labels or keywords', () => {
    expect(metricNamesIn('topk(10, sum by (tool, status) (rate(mcp_requests_total{status!="x"}[5m])))')).toEqual(['mcp_requests_total']);
    expect(metricNamesIn('(time() - process_start_time_seconds) / 3600')).toEqual(['process_start_time_seconds']);
    expect(metricNamesIn('max_over_time(sum(rate(a_total[5m]))[24h:5m]) unless b offset 5m')).toEqual(['a_total', 'b']);
  });
});
