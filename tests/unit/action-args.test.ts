import { ActionArgsError, parseAddress, parseRunArgs } from '../../bot/actions/action-args';
import { runbookButtons } from '../../bot/actions/runbook-buttons';
import { diagnosticJob } from '../../bot/actions/diagnostics';
import type { Incident } from '../../bot/incidents/incident-store';
import { parseSince } from '../../lib/audit-window';
import { loadOpsConfig } from '../../lib/ops-config';
import { loadRunbooks } from '../../lib/runbook';

const config = loadOpsConfig();
const runbooks = loadRunbooks();
const parse = (text: string) => parseRunArgs(text.split(' ').filter(Boolean), { config, runbookQuery: async () => 'up == 0' });

describe('/ops run arguments', () => {
  it('parses addresses and CIDRs with ipaddr.js, normalised, and nothing else', () => {
    expect(parseAddress('203.0.113.7')).toBe('203.0.113.7');
    expect(parseAddress('10.1.2.0/24')).toBe('10.1.2.0/24');
    expect(parseAddress('2001:DB8::1')).toBe('2001:db8::1');
    expect(parseAddress('2001:db8::/32')).toBe('2001:db8::/32');
    for (const bad of ['0x7f.1', '10.0.0', '10.0.0.256', '10.0.0.1/33', '10.0.0.1/', 'example.com', '10.0.0.1;id', '$(id)', '']) expect(parseAddress(bad)).toBeUndefined();
  });

  it('takes an incident id at the end, a runbook query when none is typed, and catalog-checked params', async () => {
    await expect(parse('restart mcp-server inc-7')).resolves.toEqual({ action: 'restart', params: { service: 'mcp-server' }, incidentId: 'INC-7' });
    await expect(parse('query_prometheus INC-3')).resolves.toEqual({ action: 'query_prometheus', params: { query: 'up == 0' }, incidentId: 'INC-3' });
    await expect(parse('health_check')).resolves.toMatchObject({ params: { mode: 'full' } });
    await expect(parse('maintenance off')).resolves.toMatchObject({ params: { mode: 'off' } });
    await expect(parse('block_ip 10.0.0.9 90m too many 401s')).resolves.toMatchObject({ params: { address: '10.0.0.9', ttlSeconds: 5400, reason: 'too many 401s' } });
  });

  it.each([
    ['restart', 'expected 1 argument, got 0'],
    ['restart postgres', 'service: expected one of mcp-server'],
    ['deploy mcp-server 1.2', 'version: expected a version like v1.2.3'],
    ['block_ip 10.0.0.9 30s abuse', 'ttlSeconds'],
    ['maintenance on 10d', 'durationSeconds'],
    ['reset_circuit_breaker account', 'service'],
  ])('refuses "%s" with the reason and the usage line', async (text, reason) => {
    const err = await parse(text).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ActionArgsError);
    expect((err as ActionArgsError).reason).toContain(reason);
    expect((err as ActionArgsError).usage).toMatch(/^\/ops run /);
  });
});

describe('runbook buttons', () => {
  const incident = (alertname: string, labels: Record<string, string> = {}) => ({ id: 'INC-1', labels: { alertname, ...labels } }) as unknown as Incident;

  it('fixes params from the runbook, the alert and the config; actions that need a person\'s words get a usage line', () => {
    const serviceDown = runbookButtons(incident('ServiceDown'), runbooks.get('ServiceDown'), config);
    expect(serviceDown.map((b) => [b.actionId, b.params])).toEqual([
      ['runbook_collect_evidence', {}],
      ['runbook_restart', { service: 'mcp-server' }],
      ['runbook_rollback', { service: 'mcp-server' }],
    ]);
    const breaker = runbookButtons(incident('CircuitBreakerOpen', { service: 'account-service' }), runbooks.get('CircuitBreakerOpen'), config);
    expect(breaker.find((b) => b.action === 'reset_circuit_breaker')?.params).toEqual({ service: 'account-service' });
    const usage = breaker.find((b) => b.offered === 'maintenance_on');
    expect(usage?.usage).toContain('/ops run maintenance on <duration');
    expect(usage?.params).toBeUndefined();
    expect(breaker.find((b) => b.offered === 'maintenance_off')?.params).toEqual({ mode: 'off' });
    expect(runbookButtons(incident('NoSuchAlert'), undefined, config)).toEqual([]);
  });

  it('maps diagnostics to catalog actions (PromQL becomes query_prometheus), every diagnostic a runbook may name included', () => {
    expect(diagnosticJob({ name: 'q', description: 'd', promql: 'up' })).toEqual({ action: 'query_prometheus', params: { query: 'up' } });
    expect(diagnosticJob({ name: 'h', description: 'd', action: 'health_check' })).toEqual({ action: 'health_check', params: { mode: 'full' } });
    expect(diagnosticJob({ name: 'l', description: 'd', action: 'list_blocked_ips' })).toEqual({ action: 'list_blocked_ips', params: {} });
  });
});

describe('audit --since', () => {
  const now = new Date('2026-12-02T12:00:00Z');
  it('takes a duration back from now or an ISO time, nothing else', () => {
    expect(parseSince('90m', now).toISOString()).toBe('2026-12-02T10:30:00.000Z');
    expect(parseSince('2026-12-01', now).toISOString()).toBe('2026-12-01T00:00:00.000Z');
    expect(parseSince('2026-12-01T08:00:00+01:00', now).toISOString()).toBe('2026-12-01T07:00:00.000Z');
    for (const bad of ['yesterday', '1 hour', '2026-13-01', '2026-12-01T08:00', '-1h']) expect(() => parseSince(bad, now)).toThrow('--since');
  });
});

describe('runbooks offer only what runs', () => {
  it('every diagnostic of every runbook maps to a catalog action a worker runs', () => {
    const unmapped = [...loadRunbooks().values()].flatMap((r) => r.diagnostics.filter((d) => !diagnosticJob(d)).map((d) => `${r.alert}: ${d.name}`));
    expect(unmapped).toEqual([]);
  });
});
