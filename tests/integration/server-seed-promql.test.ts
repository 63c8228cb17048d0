import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { startBackendSimulators, type RunningSimulators } from '../../sandbox/backends';
import { guidePromql } from '../helpers/seed';
import { callBody, postMcp, startTestServer, type TestServer } from './server-harness';

const ROOT = path.join(__dirname, '..', '..');

interface Matcher {
  label: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}
interface Selector {
  name: string;
  matchers: Matcher[];
  text: string;
}

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset']);

/** The instant/range vector selectors of an expression: metric names with their label matchers (functions and keywords left out). */
function selectorsIn(expr: string): Selector[] {
  const out: Selector[] = [];
  const re = /([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?(\s*\()?/g;
  // Range durations and grouping label lists are not names: blank them out of the scan.
  const scan = expr
    .replace(/\[[^\]]*\]/g, (m) => ' '.repeat(m.length))
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, (m) => ' '.repeat(m.length));
  for (const m of scan.matchAll(re)) {
    const [text, name, braces, call] = m;
    if (call || KEYWORDS.has(name!)) continue;
    if (/[0-9.]/.test(scan[m.index! - 1] ?? '')) continue; // the "5m" of a duration, the "e" of 1e3
    const matchers = [...(braces ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"/g)].map((x) => ({
      label: x[1]!,
      op: x[2] as Matcher['op'],
      value: x[3]!,
    }));
    out.push({ name: name!, matchers, text: text.trim() });
  }
  return out;
}

interface Sample {
  name: string;
  labels: Record<string, string>;
}

function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels });
  }
  return samples;
}

function selects(s: Selector, sample: Sample): boolean {
  if (sample.name !== s.name) return false;
  return s.matchers.every((m) => {
    const v = sample.labels[m.label] ?? '';
    if (m.op === '=') return v === m.value;
    if (m.op === '!=') return v !== m.value;
    const full = new RegExp(`^(?:${m.value})$`);
    return m.op === '=~' ? full.test(v) : !full.test(v);
  });
}

/**
 * The issue: "Every PromQL expression in the seed must select series from what
 * the project exports". Not only names: after real traffic (successes, tool
 * errors, 401s, 403s, a bad JWT), every selector of every seed expression,
 * label matchers included, must match at least one sample the running server
 * exposes on /metrics; `up{job=...}` must name a job of monitoring/prometheus.yml
 * whose target serves /metrics (so `up` is 1 while it runs).
 */
describe('the seed’s PromQL selects series the running server exports', () => {
  let sims: RunningSimulators;
  let t: TestServer;

  beforeAll(async () => {
    sims = await startBackendSimulators();
    t = await startTestServer({ ACCOUNT_SERVICE_URL: sims.accountUrl, TRANSACTION_SERVICE_URL: sims.transactionUrl }, { production: true });
    const reader = await t.client(await t.token('accounts:read ops:read'));
    const id = ((await reader.callTool({ name: 'list_accounts', arguments: { limit: 1 } })).structuredContent as { accounts: Array<{ id: string }> }).accounts[0]!.id;
    await reader.callTool({ name: 'get_account_balance', arguments: { accountId: id } }); // success
    await reader.callTool({ name: 'get_account', arguments: { accountId: 'acc_missing' } }); // tool error
    await postMcp(t.mcpUrl, callBody('ops_health_check')); // 401, missing token
    await postMcp(t.mcpUrl, callBody('ops_health_check'), { authorization: 'Bearer not.a.jwt' }); // 401, bad JWT
    await postMcp(t.mcpUrl, callBody('create_transfer', {}), { authorization: `Bearer ${await t.token('accounts:read')}` }); // 403, scope
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await sims?.stop();
  });

  test('the selector parser reads names and matchers, not functions, durations or keywords', () => {
    expect(selectorsIn('sum by (job) (rate(a_total{status!="success",job=~"x|y"}[5m])) / on (job) b > bool 2e3')).toEqual([
      { name: 'a_total', matchers: [{ label: 'status', op: '!=', value: 'success' }, { label: 'job', op: '=~', value: 'x|y' }], text: 'a_total{status!="success",job=~"x|y"}' },
      { name: 'b', matchers: [], text: 'b' },
    ]);
    expect(selectorsIn('max_over_time(rate(mcp_requests_total[5m])[24h])').map((s) => s.name)).toEqual(['mcp_requests_total']);
  });

  test('every selector of every seed expression matches a live series', async () => {
    const exprs = guidePromql();
    expect(exprs.length).toBeGreaterThanOrEqual(19);
    const samples = parseExposition(await (await fetch(`${t.url}/metrics`)).text());
    const misses: string[] = [];
    for (const expr of exprs) {
      for (const s of selectorsIn(expr)) {
        if (s.name === 'up') continue; // written by Prometheus itself: checked below
        if (!samples.some((x) => selects(s, x))) misses.push(`${s.text}   (in: ${expr})`);
      }
    }
    expect(misses).toEqual([]);
  });

  test('up{job=...}: each job the seed names is scraped by monitoring/prometheus.yml, and its target serves /metrics', async () => {
    const jobs = new Set(
      guidePromql()
        .flatMap(selectorsIn)
        .filter((s) => s.name === 'up')
        .flatMap((s) => s.matchers.filter((m) => m.label === 'job').flatMap((m) => m.value.split('|'))),
    );
    expect([...jobs].sort()).toEqual(['account-service', 'mcp-financial-server', 'transaction-service']);
    const config = parse(fs.readFileSync(path.join(ROOT, 'monitoring', 'prometheus.yml'), 'utf8')) as { scrape_configs: Array<{ job_name: string; metrics_path?: string }> };
    const configured = new Map(config.scrape_configs.map((c) => [c.job_name, c.metrics_path ?? '/metrics']));
    const targets: Record<string, string> = { 'mcp-financial-server': t.url, 'account-service': sims.accountUrl, 'transaction-service': sims.transactionUrl };
    for (const job of jobs) {
      expect(configured.get(job)).toBe('/metrics');
      const res = await fetch(`${targets[job]}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await res.text()).toMatch(/^# HELP process_memory_usage_bytes /m);
    }
  });

  test('a simulator made "down" for a drill fails its scrape, so its up goes to 0', async () => {
    await fetch(`${sims.accountUrl}/_sandbox/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"down":true}' });
    try {
      expect((await fetch(`${sims.accountUrl}/metrics`)).status).toBe(503);
    } finally {
      await fetch(`${sims.accountUrl}/_sandbox/faults`, { method: 'DELETE' });
    }
    expect((await fetch(`${sims.accountUrl}/metrics`)).status).toBe(200);
  });
});
