/**
 * The committed runbooks against the committed alert rules and ops config:
 * one runbook per alert and no other, the same severity, a priority the
 * severity map agrees with, and content that follows the operations guide.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { decidePriority } from '../../bot/incidents/priority';
import { loadOpsConfig, type Priority } from '../../lib/ops-config';
import { loadRunbooks, RULE_FREE_ALERTS, runbookConfigProblems, RUNBOOKS_DIR, type Runbook } from '../../lib/runbook';

const ROOT = path.join(__dirname, '..', '..');
const RULES_FILE = path.join(ROOT, 'monitoring', 'rules', 'mcp-financial-server.yml');

interface AlertRule {
  alert: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

function alertRules(): AlertRule[] {
  const doc = parse(fs.readFileSync(RULES_FILE, 'utf8')) as { groups: Array<{ rules: Array<Partial<AlertRule> & { record?: string }> }> };
  return doc.groups.flatMap((g) => g.rules).filter((r): r is AlertRule => typeof r.alert === 'string');
}

const rules = alertRules();
const runbooks = loadRunbooks();
const config = loadOpsConfig();
const runbookFor = (alert: string): Runbook => {
  const r = runbooks.get(alert);
  if (!r) throw new Error(`no runbook for ${alert}`);
  return r;
};

/** The operations guide's response times, by priority. */
const SEED_RESPONSE: Record<Priority, string> = {
  P1: 'Immediate (< 15 minutes)',
  P2: 'Within 1 hour',
  P3: 'Within 4 hours',
  P4: 'Next business day',
};

describe('runbooks and alert rules', () => {
  it('finds the rules (the seed’s 14 alerts)', () => {
    expect(rules.map((r) => r.alert).sort()).toEqual(
      [
        'BackendServiceDown', 'CircuitBreakerOpen', 'HighAuthFailureRate', 'HighCPUUsage', 'HighErrorRate', 'HighMemoryUsage',
        'HighResponseTime', 'JWTValidationFailures', 'MemoryExhaustionForecast', 'OpsComponentDown', 'RequestRateAboveBaseline',
        'ResponseTimeScalingThreshold', 'ServiceDown', 'SuspiciousRequestPatterns',
        // The alert path's own.
        'SlackPostsRefused', 'SlackWritesFailing', 'SlackWritesBehind', 'IncidentOpeningsBehind', 'Watchdog',
      ].sort(),
    );
  });

  it('every alert has a runbook, and every runbook names an alert of the rules (or one the product raises itself)', () => {
    const alerts = new Set(rules.map((r) => r.alert));
    const ruleFree = Object.keys(RULE_FREE_ALERTS);
    expect([...alerts].filter((a) => !runbooks.has(a))).toEqual([]);
    expect([...runbooks.keys()].filter((name) => !alerts.has(name) && !ruleFree.includes(name))).toEqual([]);
    // A rule-free alert really has no rule, and really has a runbook.
    expect(ruleFree.filter((name) => alerts.has(name) || !runbooks.has(name))).toEqual([]);
    expect(fs.readdirSync(RUNBOOKS_DIR).filter((f) => f.endsWith('.yaml')).length).toBe(alerts.size + ruleFree.length);
  });

  it('each rule’s runbook_url names its runbook file', () => {
    for (const rule of rules) {
      expect(rule.annotations.runbook_url).toMatch(new RegExp(`/runbooks/${rule.alert}\\.yaml$`));
      expect(fs.existsSync(path.join(RUNBOOKS_DIR, `${rule.alert}.yaml`))).toBe(true);
    }
  });

  it('a runbook carries the severity its rule sets', () => {
    for (const rule of rules) expect({ alert: rule.alert, severity: runbookFor(rule.alert).severity }).toEqual({ alert: rule.alert, severity: rule.labels.severity });
  });

  it('severity and priority agree: the rule’s labels and the runbook default decide the same priority', () => {
    for (const rule of rules) {
      const runbook = runbookFor(rule.alert);
      expect(config.priority.severity_map[runbook.severity]).toBe(runbook.priority);
      // With the severity label, the map decides; without it, the runbook does: the same answer both ways.
      expect(decidePriority(rule.labels, runbook.priority, config)).toEqual({ priority: runbook.priority, rule: `severity:${runbook.severity}` });
      const { severity: _dropped, ...unlabelled } = rule.labels;
      expect(decidePriority(unlabelled, runbook.priority, config)).toEqual({ priority: runbook.priority, rule: 'runbook' });
    }
  });

  it('the seed’s classification: service down P1; error rate, latency, breaker P2; resources P3; capacity P4', () => {
    const priorities = Object.fromEntries([...runbooks].map(([name, r]) => [name, r.priority]));
    expect(priorities).toMatchObject({
      ServiceDown: 'P1',
      HighErrorRate: 'P2',
      HighResponseTime: 'P2',
      CircuitBreakerOpen: 'P2',
      HighMemoryUsage: 'P3',
      HighCPUUsage: 'P3',
      ResponseTimeScalingThreshold: 'P4',
      RequestRateAboveBaseline: 'P4',
      MemoryExhaustionForecast: 'P4',
    });
  });

  it('response_time states the seed’s response time for the priority', () => {
    for (const r of runbooks.values()) expect({ alert: r.alert, starts: r.response_time.startsWith(SEED_RESPONSE[r.priority]) }).toEqual({ alert: r.alert, starts: true });
  });

  it('names only escalation policies the ops config has', () => {
    expect(runbookConfigProblems(runbooks, config)).toEqual([]);
    const withoutSecurity = { ...config, escalation: { ...config.escalation, policies: { critical: config.escalation.policies.critical! } } };
    expect(runbookConfigProblems(runbooks, withoutSecurity)).toContain('HighAuthFailureRate: escalation: no policy named "security" in the ops config');
  });
});

describe('runbook content follows the operations guide', () => {
  it('security alerts preserve evidence at once and offer to block addresses (the guide’s immediate response)', () => {
    const security = rules.filter((r) => r.labels.category === 'security').map((r) => runbookFor(r.alert));
    expect(security.map((r) => r.alert).sort()).toEqual(['HighAuthFailureRate', 'JWTValidationFailures', 'SuspiciousRequestPatterns']);
    for (const r of security) {
      const actions = r.actions.map((a) => a.action);
      expect(actions).toEqual(expect.arrayContaining(['collect_evidence', 'block_ip', 'unblock_ip']));
      expect(r.diagnostics.some((d) => d.action === 'security_report')).toBe(true);
      expect(r.escalation).toBe('security');
    }
  });

  it('each rule’s own metric is queried at open, so the thread shows the number that fired', () => {
    const metricsOf = (expr: string) => [...expr.matchAll(/\b(mcp_[a-z_]+|circuit_breaker_state|jwt_[a-z_]+|process_[a-z_]+|up)\b/g)].map((m) => m[1]!);
    const rulesDoc = parse(fs.readFileSync(RULES_FILE, 'utf8')) as { groups: Array<{ rules: Array<{ alert?: string; expr: string }> }> };
    for (const rule of rulesDoc.groups.flatMap((g) => g.rules).filter((r) => r.alert)) {
      const queried = runbookFor(rule.alert!).diagnostics.flatMap((d) => (d.promql ? metricsOf(d.promql) : []));
      for (const metric of new Set(metricsOf(rule.expr))) expect({ alert: rule.alert, metric, queried: queried.includes(metric) }).toEqual({ alert: rule.alert, metric, queried: true });
    }
  });

  it('quotes the guide’s numbers where they apply', () => {
    const all = (name: string) => JSON.stringify(runbookFor(name));
    expect(all('HighErrorRate')).toMatch(/5%/);
    expect(all('CircuitBreakerOpen')).toMatch(/CIRCUIT_BREAKER_FAILURE_THRESHOLD \(3\)/);
    expect(all('CircuitBreakerOpen')).toMatch(/CIRCUIT_BREAKER_RECOVERY_TIMEOUT \(30 s\)/);
    expect(all('HighResponseTime')).toMatch(/HTTP_TIMEOUT \(5000 ms/);
    expect(all('HighCPUUsage')).toMatch(/70%/);
    expect(all('HighMemoryUsage')).toMatch(/80%/);
    expect(all('RequestRateAboveBaseline')).toMatch(/100-500/);
    expect(all('ServiceDown')).toMatch(/docker logs mcp-financial-server > incident-logs-\$\(date \+%Y%m%d-%H%M%S\)\.log/);
    expect(all('MemoryExhaustionForecast')).toMatch(/Sundays 02:00-04:00 UTC/);
  });

  it('links point at files that exist in this repository', () => {
    for (const r of runbooks.values()) {
      for (const link of r.links ?? []) {
        if (/^https?:/.test(link.url)) continue;
        expect({ alert: r.alert, url: link.url, exists: fs.existsSync(path.join(ROOT, link.url.split('#')[0]!)) }).toMatchObject({ exists: true });
      }
    }
  });
});
