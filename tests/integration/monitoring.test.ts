import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { createMetricsRegistry } from '../../lib/metrics';
import { MONITORING_DIR, renderMonitoring } from '../../monitoring/render';
import { guidePromql } from '../helpers/seed';

/**
 * monitoring/ checked by the real tools (Debian's prometheus and
 * prometheus-alertmanager packages: promtool, amtool), and the seed's PromQL
 * checked against the metric names the project exports.
 */

const ROOT = path.join(__dirname, '..', '..');

function run(tool: string, args: string[]): { status: number; output: string } {
  const result = spawnSync(tool, args, { encoding: 'utf8', timeout: 60_000 });
  if (result.error) throw new Error(`${tool} could not run (${result.error.message}); install Debian's prometheus and prometheus-alertmanager`);
  return { status: result.status ?? -1, output: `${result.stdout}${result.stderr}` };
}

function expectOk(tool: string, args: string[]): string {
  const { status, output } = run(tool, args);
  if (status !== 0) throw new Error(`${tool} ${args.join(' ')} failed:\n${output}`);
  return output;
}

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'monitoring-test-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

const rulesFiles = () =>
  fs
    .readdirSync(path.join(MONITORING_DIR, 'rules'))
    .filter((f) => f.endsWith('.yml'))
    .map((f) => path.join(MONITORING_DIR, 'rules', f));

describe('the committed files pass the real tools', () => {
  it('promtool check config (which also checks the rule files it names)', () => {
    const out = expectOk('promtool', ['check', 'config', path.join(MONITORING_DIR, 'prometheus.yml')]);
    expect(out).toMatch(/SUCCESS: 1 rule files found/);
  });

  it('promtool check rules', () => {
    expect(expectOk('promtool', ['check', 'rules', ...rulesFiles()])).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('amtool check-config', () => {
    expect(expectOk('amtool', ['check-config', path.join(MONITORING_DIR, 'alertmanager.yml')])).toContain('SUCCESS');
  });

  it('promtool test rules: each alert fires on synthetic series with our metric names', () => {
    const tests = fs.readdirSync(path.join(MONITORING_DIR, 'tests')).filter((f) => f.endsWith('.yml'));
    expect(tests.length).toBeGreaterThan(0);
    expect(expectOk('promtool', ['test', 'rules', ...tests.map((f) => path.join(MONITORING_DIR, 'tests', f))])).toContain('SUCCESS');
  });

  it('promtool test rules fails when an alert does not behave (the harness can fail)', () => {
    const broken = path.join(tmp, 'broken.test.yml');
    const doc = parse(fs.readFileSync(path.join(MONITORING_DIR, 'tests', 'mcp-financial-server.test.yml'), 'utf8'));
    doc.rule_files = [path.join(MONITORING_DIR, 'rules', 'mcp-financial-server.yml')];
    // Expect ServiceDown while the server is up.
    doc.tests = [
      {
        interval: '1m',
        input_series: [{ series: 'up{job="mcp-financial-server",instance="127.0.0.1:3000"}', values: '1x10' }],
        alert_rule_test: [{ eval_time: '5m', alertname: 'ServiceDown', exp_alerts: [{ exp_labels: { severity: 'critical' } }] }],
      },
    ];
    fs.writeFileSync(broken, stringify(doc));
    expect(run('promtool', ['test', 'rules', broken]).status).not.toBe(0);
  });
});

describe('the rules follow the conventions the bot relies on', () => {
  type Rule = { alert?: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  const rules: Rule[] = rulesFiles().flatMap((f) => (parse(fs.readFileSync(f, 'utf8')).groups as Array<{ rules: Rule[] }>).flatMap((g) => g.rules));
  const alerts = rules.filter((r) => r.alert);
  const byName = new Map(alerts.map((a) => [a.alert!, a]));

  it('has the seed’s five critical and three security alerts, with its thresholds and durations', () => {
    expect(byName.get('HighErrorRate')).toMatchObject({ for: '5m', labels: { severity: 'high' } });
    expect(byName.get('HighErrorRate')!.expr).toMatch(/mcp_requests_total\{status!="success"\}\[5m\].*\/.*mcp_requests_total\[5m\].*> 0\.05/s);
    expect(byName.get('HighResponseTime')).toMatchObject({ expr: 'histogram_quantile(0.95, rate(mcp_request_duration_seconds_bucket[5m])) > 2', for: '5m', labels: { severity: 'high' } });
    expect(byName.get('ServiceDown')).toMatchObject({ expr: 'absent(up{job="mcp-financial-server"}) or up{job="mcp-financial-server"} == 0', for: '2m', labels: { severity: 'critical' } });
    expect(byName.get('HighMemoryUsage')).toMatchObject({ expr: 'process_memory_usage_bytes / process_memory_limit_bytes > 0.8', for: '10m', labels: { severity: 'warning' } });
    expect(byName.get('CircuitBreakerOpen')).toMatchObject({ expr: 'circuit_breaker_state > 0', labels: { severity: 'high' } });
    expect(byName.get('HighAuthFailureRate')).toMatchObject({ expr: 'rate(mcp_auth_failures_total[5m]) > 10', labels: { category: 'security' } });
    expect(byName.get('SuspiciousRequestPatterns')).toMatchObject({ expr: 'rate(mcp_requests_total{status="403"}[5m]) > 5', labels: { category: 'security' } });
    expect(byName.get('JWTValidationFailures')).toMatchObject({ expr: 'rate(jwt_validation_failures_total[5m]) > 1', labels: { category: 'security' } });
    expect(byName.get('HighCPUUsage')).toMatchObject({ for: '15m', labels: { severity: 'warning' } });
    expect(byName.get('HighCPUUsage')!.expr).toContain('> 70');
    expect(byName.get('ResponseTimeScalingThreshold')).toMatchObject({ for: '5m', labels: { severity: 'info' } });
  });

  it('every alert has a known severity, a category, and summary/description/runbook_url pointing at runbooks/<alertname>.yaml', () => {
    expect(alerts.length).toBeGreaterThanOrEqual(11);
    for (const a of alerts) {
      expect([a.alert, a.labels?.severity]).toEqual([a.alert, expect.stringMatching(/^(critical|high|warning|info)$/)]);
      expect([a.alert, a.labels?.category]).toEqual([a.alert, expect.stringMatching(/^(availability|performance|security|resource|capacity)$/)]);
      expect(a.annotations?.summary).toBeTruthy();
      expect(a.annotations?.description).toBeTruthy();
      expect(a.annotations?.runbook_url).toMatch(new RegExp(`^https?://[^ ]+/runbooks/${a.alert}\\.yaml$`));
    }
  });
});

describe('renderMonitoring writes a runnable copy for tests and drills', () => {
  it('substitutes addresses, the token, intervals, alert timings and the runbook base, and the copy passes the tools', () => {
    const out = renderMonitoring({
      outDir: path.join(tmp, 'rendered'),
      webhookToken: 'test-token-0123456789abcdef',
      botWebhookUrl: 'http://127.0.0.1:45678/alertmanager/webhook',
      targets: { server: '127.0.0.1:41000', bot: '127.0.0.1:45678', accountService: '127.0.0.1:41001' },
      alertmanagers: ['127.0.0.1:49093'],
      scrapeInterval: '1s',
      evaluationInterval: '1s',
      alertFor: '0s',
      rangeWindow: '15s',
      groupWait: '1s',
      groupInterval: '2s',
      repeatInterval: '1m',
      runbookBaseUrl: 'https://git.example.test/ops/blob/main/',
    });

    expectOk('promtool', ['check', 'config', out.prometheusConfig]);
    expectOk('amtool', ['check-config', out.alertmanagerConfig]);

    expect(fs.readFileSync(out.tokenFile, 'utf8')).toBe('test-token-0123456789abcdef');
    expect(fs.statSync(out.tokenFile).mode & 0o777).toBe(0o600);

    const prom = parse(fs.readFileSync(out.prometheusConfig, 'utf8'));
    expect(prom.global).toMatchObject({ scrape_interval: '1s', evaluation_interval: '1s' });
    expect(prom.alerting.alertmanagers[0].static_configs[0].targets).toEqual(['127.0.0.1:49093']);
    const target = (job: string) => prom.scrape_configs.find((j: { job_name: string }) => j.job_name === job).static_configs[0].targets[0];
    expect(target('mcp-financial-server')).toBe('127.0.0.1:41000');
    expect(target('mcp-ops-bot')).toBe('127.0.0.1:45678');
    expect(target('account-service')).toBe('127.0.0.1:41001');
    expect(target('transaction-service')).toBe('127.0.0.1:4002'); // untouched

    const am = parse(fs.readFileSync(out.alertmanagerConfig, 'utf8'));
    expect(am.route).toMatchObject({ group_by: ['alertname', 'service'], group_wait: '1s', group_interval: '2s', repeat_interval: '1m' });
    const hook = am.receivers[0].webhook_configs[0];
    expect(hook).toMatchObject({ url: 'http://127.0.0.1:45678/alertmanager/webhook', send_resolved: true });
    expect(hook.http_config.authorization.credentials_file).toBe('alertmanager-webhook.token');

    const rules = parse(fs.readFileSync(path.join(out.rulesDir, 'mcp-financial-server.yml'), 'utf8'));
    const all = rules.groups.flatMap((g: { rules: Array<Record<string, unknown>> }) => g.rules);
    for (const r of all) {
      expect(r.for).toBe('0s');
      expect(String(r.expr)).not.toMatch(/\[(?!15s\])[^\]]*\]/);
      expect((r.annotations as Record<string, string>).runbook_url).toBe(`https://git.example.test/ops/blob/main/runbooks/${r.alert}.yaml`);
    }

    // The committed files are unchanged by rendering.
    expect(fs.readFileSync(path.join(MONITORING_DIR, 'alertmanager.yml'), 'utf8')).toContain('url: http://127.0.0.1:3001/alertmanager/webhook');
  });

  it('Alertmanager reads the token from the rendered file (credentials_file resolves next to the config)', () => {
    // amtool does not open credentials files; Alertmanager resolves the relative path against the config's directory.
    const out = renderMonitoring({ outDir: path.join(tmp, 'rendered-2'), webhookToken: 'x'.repeat(32) });
    expect(path.dirname(out.tokenFile)).toBe(path.dirname(out.alertmanagerConfig));
  });

  it('keeps only the alerts asked for, and drops groups left empty', () => {
    const out = renderMonitoring({ outDir: path.join(tmp, 'rendered-4'), webhookToken: 'y'.repeat(32), alerts: ['ServiceDown', 'JWTValidationFailures'] });
    const rules = parse(fs.readFileSync(path.join(out.rulesDir, 'mcp-financial-server.yml'), 'utf8'));
    expect(rules.groups.map((g: { name: string }) => g.name)).toEqual(['mcp-financial-server.critical', 'mcp-financial-server.security']);
    expect(rules.groups.flatMap((g: { rules: Array<{ alert: string }> }) => g.rules.map((r) => r.alert))).toEqual(['ServiceDown', 'JWTValidationFailures']);
    expectOk('promtool', ['check', 'config', out.prometheusConfig]);
  });

  it('refuses to render without a token', () => {
    expect(() => renderMonitoring({ outDir: path.join(tmp, 'rendered-3'), webhookToken: '' })).toThrow('webhookToken');
  });
});

// ---- The seed's PromQL ----------------------------------------------------


/**
 * The one seed line that is not valid PromQL: `max_over_time(rate(x[5m])[24h])`
 * applies a range to a function call, which only a subquery (`[24h:]`) may do.
 */
function withSubquerySyntax(expr: string): string {
  return expr.replace(/\)\[(\d+[smhdwy])\]/g, ')[$1:]');
}

function checkAsRules(exprs: string[], file: string): { status: number; output: string } {
  const doc = { groups: [{ name: 'seed', rules: exprs.map((expr, i) => ({ record: `seed:expr_${i}`, expr })) }] };
  fs.writeFileSync(file, stringify(doc));
  return run('promtool', ['check', 'rules', file]);
}

const PROMQL_FUNCTIONS_AND_KEYWORDS = new Set([
  'and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'inf', 'nan',
]);

/** Metric names an expression reads: identifiers outside matchers, ranges, strings and grouping clauses that are not function calls. */
function metricNamesIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?/g)) {
    if (m[2]) continue; // a function call
    if (PROMQL_FUNCTIONS_AND_KEYWORDS.has(m[1]!.toLowerCase())) continue;
    names.add(m[1]!);
  }
  return [...names];
}

/** Metric names our processes register: `name: '...'` in server/, bot/, workers/, lib/ (histograms add their series). */
function exportedMetricNames(): Set<string> {
  const names = new Set<string>(['up']); // written by Prometheus for every target
  // Every process's registry: prom-client's default process metrics and our process gauges.
  for (const m of createMetricsRegistry({ service: 'test' }).getMetricsAsArray()) names.add(m.name);
  const walk = (dir: string): string[] =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
  for (const dir of ['server', 'bot', 'workers', 'lib']) {
    if (!fs.existsSync(path.join(ROOT, dir))) continue;
    for (const file of walk(path.join(ROOT, dir))) {
      const text = fs.readFileSync(file, 'utf8');
      for (const m of text.matchAll(/new (Counter|Gauge|Histogram|Summary)\(\{\s*name:\s*'([a-zA-Z_:][a-zA-Z0-9_:]*)'/g)) {
        names.add(m[2]!);
        if (m[1] === 'Histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(m[2]! + s);
        if (m[1] === 'Summary') for (const s of ['_sum', '_count']) names.add(m[2]! + s);
      }
    }
  }
  return names;
}

describe('the seed’s PromQL', () => {
  const exprs = guidePromql();

  it('finds the seed’s queries', () => {
    expect(exprs.length).toBeGreaterThanOrEqual(19);
    expect(exprs).toContain('circuit_breaker_state > 0');
  });

  it('every expression parses (the one range-on-a-function line once written as a subquery)', () => {
    const fixed = exprs.map(withSubquerySyntax);
    const { status, output } = checkAsRules(fixed, path.join(tmp, 'seed-rules.yml'));
    if (status !== 0) throw new Error(`seed PromQL does not parse:\n${output}`);
    // Exactly the lines the rewrite touched fail as written: the seed has a typo there, nothing else.
    const changed = exprs.filter((e) => withSubquerySyntax(e) !== e);
    expect(changed).toEqual(['max_over_time(rate(mcp_requests_total[5m])[24h])']);
    expect(checkAsRules(changed, path.join(tmp, 'seed-raw.yml')).status).not.toBe(0);
  });

  it('every metric it reads is one the project exports, and so is every metric our rules read', () => {
    const exported = exportedMetricNames();
    const referenced = new Set(exprs.flatMap(metricNamesIn));
    const ruleExprs = rulesFiles().flatMap((f) =>
      (parse(fs.readFileSync(f, 'utf8')).groups as Array<{ rules: Array<{ expr: string }> }>).flatMap((g) => g.rules.map((r) => r.expr)),
    );
    for (const name of ruleExprs.flatMap(metricNamesIn)) referenced.add(name);
    expect(referenced).toEqual(
      new Set([
        'mcp_requests_total',
        'mcp_request_duration_seconds_bucket',
        'mcp_request_duration_seconds_sum',
        'mcp_request_duration_seconds_count',
        'up',
        'process_memory_usage_bytes',
        'process_memory_limit_bytes',
        'circuit_breaker_state',
        'mcp_active_connections',
        'mcp_auth_failures_total',
        'jwt_validation_failures_total',
        'process_cpu_usage_percent',
        'process_cpu_seconds_total',
        'slack_outbox_refused_total',
        'slack_api_calls_total',
        'slack_outbox_depth',
        'incident_openings_waiting',
      ]),
    );
    const missing = [...referenced].filter((n) => !exported.has(n)).sort();
    expect(missing).toEqual([]);
  });

  it('extracts metric names, not functions, labels or keywords', () => {
    expect(metricNamesIn('sum by (job, le) (rate(a_total{status!="x"}[5m])) / on (job) b_count > bool 2')).toEqual(['a_total', 'b_count']);
    expect(metricNamesIn('absent(up{job="x"}) or up == 0')).toEqual(['up']);
    expect(metricNamesIn('max_over_time(rate(m[5m])[24h:]) unless n offset 5m')).toEqual(['m', 'n']);
  });

  it('the seed’s error-rate line, as written, fires on 1% errors (why our rule sums both sides)', () => {
    const seedLine = exprs.find((e) => e.startsWith('rate(mcp_requests_total{status!="success"}'))!;
    expect(seedLine).toBeDefined();
    const rules = path.join(tmp, 'seed-error-rate.yml');
    fs.writeFileSync(rules, stringify({ groups: [{ name: 'seed', rules: [{ alert: 'SeedHighErrorRate', expr: seedLine }] }] }));
    const test = path.join(tmp, 'seed-error-rate.test.yml');
    const series = (status: string, perMinute: number) => ({
      series: `mcp_requests_total{job="mcp-financial-server",tool="get_account_balance",status="${status}"}`,
      values: `0+${perMinute}x10`,
    });
    fs.writeFileSync(
      test,
      stringify({
        rule_files: [rules],
        evaluation_interval: '1m',
        tests: [
          {
            interval: '1m',
            input_series: [series('success', 99), series('error', 1)],
            alert_rule_test: [{ eval_time: '5m', alertname: 'SeedHighErrorRate', exp_alerts: [] }],
          },
        ],
      }),
    );
    // "Expect no alert at 1% errors" fails for the seed's line: it fires.
    const { status, output } = run('promtool', ['test', 'rules', test]);
    expect(status).not.toBe(0);
    expect(output).toContain('SeedHighErrorRate');
  });
});
