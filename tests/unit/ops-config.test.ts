import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { ConfigError, ErrorCode } from '../../lib/errors';
import {
  DEFAULT_OPS_CONFIG_PATH,
  formatKeyPath,
  loadOpsConfig,
  OpsConfigSchema,
  parseInstant,
  parseOpsConfig,
} from '../../lib/ops-config';
import { allowedCommands, describeRoles, findRbacMember, mayRunAction, mayRunCommand, roleOf, rolesAllowingAction, rolesOf } from '../../lib/ops-config-rbac';
import { routeIncident } from '../../lib/ops-config-routing';

const EXAMPLE = path.join(__dirname, '..', '..', 'config', 'ops.example.yaml');

function configError(yamlText: string): ConfigError {
  try {
    parseOpsConfig(yamlText, 'test.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('the built-in default', () => {
  it('is config/ops.example.yaml', () => {
    expect(path.resolve(DEFAULT_OPS_CONFIG_PATH)).toBe(path.resolve(EXAMPLE));
    const fromFile = OpsConfigSchema.parse(parse(fs.readFileSync(EXAMPLE, 'utf8')));
    expect(loadOpsConfig()).toEqual(fromFile);
    expect(loadOpsConfig(EXAMPLE)).toEqual(fromFile);
  });

  it('has the design defaults: channels, severity map, response times, local users', () => {
    const c = loadOpsConfig();
    expect(c.channels).toEqual({ P1: 'ops-critical', P2: 'ops-critical', P3: 'ops-alerts', P4: 'ops-alerts', reports: 'ops-reports', fallback: 'ops-critical' });
    expect(c.priority.severity_map).toEqual({ critical: 'P1', high: 'P2', warning: 'P3', info: 'P4' });
    expect(c.priority.response_times).toEqual({ P1: '15m', P2: '1h', P3: '4h', P4: 'next_business_day' });
    expect(roleOf(c, { id: 'U0ALICE' })).toBe('admin');
    expect(roleOf(c, { id: 'U0BOB' })).toBe('responder');
    expect(roleOf(c, { id: 'U0CAROL' })).toBe('viewer');
    for (const p of ['P1', 'P2', 'P3', 'P4'] as const) expect(c.escalation.policies[c.escalation.by_priority[p]]).toBeDefined();
    expect(c.storm.threshold_per_minute).toBeGreaterThan(0);
  });
});

describe('errors name the key path', () => {
  it('a bad step delay, as in the docs', () => {
    const err = configError(`
escalation:
  policies:
    p1:
      steps:
        - { after: 0m, notify: oncall_primary }
        - { after: 5m, notify: oncall_secondary }
        - { after: soon, notify: channel }
  by_priority: { P1: p1, P2: p1, P3: p1, P4: p1 }
`);
    expect(err.code).toBe(ErrorCode.ConfigInvalid);
    expect(err.message).toContain('escalation.policies.p1.steps[2].after: expected a duration like 5m');
    expect(err.message).toContain('test.yaml');
    expect(err.details).toEqual([expect.stringMatching(/^escalation\.policies\.p1\.steps\[2\]\.after: /)]);
  });

  it.each([
    ['a number where a duration goes', 'priority:\n  severity_map: {critical: P1}\n  default: P3\n  response_times: {P1: 15, P2: 1h, P3: 4h, P4: 1d}\n', 'priority.response_times.P1: expected a duration like 5m'],
    ['an unknown notify target', 'escalation:\n  policies:\n    x: { steps: [ { after: 1m, notify: pager } ] }\n  by_priority: { P1: x, P2: x, P3: x, P4: x }\n', 'escalation.policies.x.steps[0].notify: expected oncall_primary'],
    ['a bad priority in the map', 'priority:\n  severity_map: {critical: P0}\n  default: P3\n  response_times: {P1: 15m, P2: 1h, P3: 4h, P4: 1d}\n', 'priority.severity_map.critical: expected one of P1, P2, P3, P4'],
    ['a bad time zone', 'business_hours: { timezone: Mars/Olympus, days: [mon], start: "09:00", end: "17:00" }\n', 'business_hours.timezone: expected an IANA time zone'],
    ['a bad holiday', 'business_hours: { timezone: UTC, days: [mon], start: "09:00", end: "17:00", holidays: [2025-02-30] }\n', 'business_hours.holidays[0]: expected a date like 2025-12-25'],
    ['end before start', 'business_hours: { timezone: UTC, days: [mon], start: "17:00", end: "09:00" }\n', 'business_hours.end: end must be later than start'],
    ['a bad handoff', 'oncall:\n  rotation: { members: [alice], start: 2025-01-06, handoff: "9am", timezone: UTC }\n', 'oncall.rotation.handoff: expected a time like 09:00'],
    ['a zero shift', 'oncall:\n  rotation: { members: [alice], start: 2025-01-06, length: 0d, timezone: UTC }\n', 'oncall.rotation.length: must be longer than 0'],
    ['duplicate members', 'oncall:\n  rotation: { members: [alice, alice], start: 2025-01-06, timezone: UTC }\n', 'oncall.rotation.members: members must be unique'],
    ['a missing key', 'channels: { P1: ops-critical }\n', 'channels.P2: required'],
    ['a misspelt key', 'oncall:\n  rotaton: {}\n', 'oncall.rotaton: unknown key'],
    ['an unknown section', 'pager: {}\n', 'pager: unknown key'],
    ['a rule that sets nothing', 'routing:\n  rules: [ { match: { a: b } } ]\n', 'routing.rules[0]: a rule sets a channel, a policy, or both'],
    ['a bad regex', 'routing:\n  rules: [ { match_re: { a: "(" }, channel: x } ]\n', 'routing.rules[0].match_re.a: expected a valid regular expression'],
    ['a negative repeat', 'escalation:\n  policies:\n    x: { steps: [ { after: 1m, notify: channel } ], repeat: -1 }\n  by_priority: { P1: x, P2: x, P3: x, P4: x }\n', 'escalation.policies.x.repeat'],
    ['a storm of zero', 'storm: { threshold_per_minute: 0 }\n', 'storm.threshold_per_minute: expected a whole number > 0'],
    ['broken YAML', 'channels: [\n', 'YAML:'],
    ['a list at the top', '- a\n', '(root): expected a mapping of sections'],
  ])('%s', (_what, text, expected) => {
    expect(configError(text).message).toContain(expected);
  });

  it.each([
    ['an unknown policy for a priority', 'escalation:\n  policies:\n    x: { steps: [ { after: 1m, notify: channel } ] }\n  by_priority: { P1: x, P2: x, P3: x, P4: nope }\n', 'escalation.by_priority.P4: no policy named "nope"'],
    ['a rule naming an unknown policy', 'routing:\n  rules: [ { match: { a: b }, policy: nope } ]\n', 'routing.rules[0].policy: no policy named "nope"'],
    ['an unknown user to notify', 'escalation:\n  policies:\n    x: { steps: [ { after: 1m, notify: "user:mallory" } ] }\n  by_priority: { P1: x, P2: x, P3: x, P4: x }\n', 'escalation.policies.x.steps[0].notify: unknown user "mallory"'],
    ['steps out of order', 'escalation:\n  policies:\n    x: { steps: [ { after: 10m, notify: channel }, { after: 5m, notify: channel } ] }\n  by_priority: { P1: x, P2: x, P3: x, P4: x }\n', 'escalation.policies.x.steps[1].after: must not be earlier than the previous step (10m)'],
    ['repeat without an interval', 'escalation:\n  policies:\n    x: { steps: [ { after: 1m, notify: channel } ], repeat: 2 }\n  by_priority: { P1: x, P2: x, P3: x, P4: x }\n', 'escalation.policies.x.repeat_interval: required when repeat > 0'],
    ['rounds that overlap', 'escalation:\n  policies:\n    x: { steps: [ { after: 10m, notify: channel } ], repeat: 1, repeat_interval: 10m }\n  by_priority: { P1: x, P2: x, P3: x, P4: x }\n', 'escalation.policies.x.repeat_interval: must be longer'],
    ['an override for a stranger', 'oncall:\n  rotation: { members: [alice], start: 2025-01-06, timezone: UTC }\n  overrides: [ { user: mallory, from: "2025-01-01T00:00:00Z", to: "2025-01-02T00:00:00Z" } ]\n', 'oncall.overrides[0].user: unknown user "mallory"'],
    ['an override that ends before it starts', 'oncall:\n  rotation: { members: [alice], start: 2025-01-06, timezone: UTC }\n  overrides: [ { user: alice, from: "2025-01-02T00:00:00Z", to: "2025-01-01T00:00:00Z" } ]\n', 'oncall.overrides[0].to: must be later than from'],
    ['a user with an unknown role', 'rbac:\n  roles: { admin: { commands: ["*"] } }\n  users: { alice: boss }\n', 'rbac.users.alice: no role named "boss"'],
  ])('cross-checks: %s', (_what, text, expected) => {
    expect(configError(text).message).toContain(expected);
  });

  it('reports every problem at once', () => {
    const err = configError('storm: { threshold_per_minute: 0 }\nchannels: { P1: ops-critical }\n');
    expect((err.details as string[]).length).toBeGreaterThanOrEqual(5);
  });

  it('formats key paths with indexes', () => {
    expect(formatKeyPath(['escalation', 'policies', 'p1', 'steps', 2, 'after'])).toBe('escalation.policies.p1.steps[2].after');
    expect(formatKeyPath([])).toBe('(root)');
  });
});

describe('partial files', () => {
  it('take missing sections whole from the default and keep what they set', () => {
    const c = parseOpsConfig('storm: { threshold_per_minute: 50 }\nchannels: { P1: "#war-room", P2: war-room, P3: alerts, P4: alerts, reports: reports }\n');
    expect(c.storm.threshold_per_minute).toBe(50);
    expect(c.channels.P1).toBe('war-room');
    expect(c.oncall).toEqual(loadOpsConfig().oncall);
  });

  it('says when a clash comes from a default section', () => {
    const err = configError('escalation:\n  policies:\n    x: { steps: [ { after: 1m, notify: channel } ] }\n  by_priority: { P1: x, P2: x, P3: x, P4: x }\n');
    expect(err.message).toContain('routing.rules[0].policy: no policy named "security" (this section is the built-in default; set routing in your file)');
  });

  it('accepts the long RBAC user form with a Slack id', () => {
    const c = parseOpsConfig('rbac:\n  roles: { admin: { commands: ["*"], actions: ["*"] } }\n  users: { alice: { role: admin, slack_id: U0ALICE } }\n');
    expect(findRbacMember(c, { id: 'U0ALICE' })).toEqual({ name: 'alice', role: 'admin', slackId: 'U0ALICE' });
    expect(mayRunAction(c, { id: 'U0ALICE' }, 'restart')).toBe(true);
  });

  it('refuses a short-form RBAC user (it could only be matched by name), an unknown group role, and a viewer on call', () => {
    const nameOnly = () => parseOpsConfig('rbac:\n  roles: { admin: { commands: ["*"], actions: ["*"] } }\n  users: { alice: admin }\n');
    expect(nameOnly).toThrow('rbac.users.alice: needs a slack_id: people are matched by Slack user id, never by name');
    expect(() => parseOpsConfig('rbac:\n  roles: { admin: { commands: ["*"] } }\n  users: { alice: { role: admin, slack_id: U0ALICE } }\n  groups: { ops-leads: boss }\n')).toThrow(
      'rbac.groups.ops-leads: no role named "boss"',
    );
    expect(() => parseOpsConfig('oncall:\n  rotation: { members: [alice, carol], start: 2025-01-06, timezone: Europe/London }\n')).toThrow(
      'oncall.rotation.members[1]: carol is a viewer, who cannot acknowledge: only admin or responder can be on call',
    );
    expect(() =>
      parseOpsConfig('oncall:\n  rotation: { members: [alice, bob], start: 2025-01-06, timezone: Europe/London }\n  overrides: [{ user: carol, from: 2025-12-24T09:00:00Z, to: 2025-12-25T09:00:00Z }]\n'),
    ).toThrow('oncall.overrides[0].user: carol is a viewer');
  });
});

describe('loadOpsConfig', () => {
  it('reads OPS_CONFIG files and names an unreadable one', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ops-config-'));
    try {
      const file = path.join(dir, 'ops.yaml');
      fs.writeFileSync(file, 'storm: { threshold_per_minute: 3 }\n');
      expect(loadOpsConfig(file).storm.threshold_per_minute).toBe(3);
      fs.writeFileSync(file, 'storm: { threshold_per_minute: many }\n');
      expect(() => loadOpsConfig(file)).toThrow(`invalid ops config (${file}): storm.threshold_per_minute`);
      expect(() => loadOpsConfig(path.join(dir, 'missing.yaml'))).toThrow(expect.objectContaining({ code: ErrorCode.ConfigInvalid }));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('routing', () => {
  const base = loadOpsConfig();

  it('defaults by priority when no rule matches', () => {
    expect(routeIncident({ alertname: 'HighErrorRate' }, 'P2', base)).toEqual({ channel: 'ops-critical', policy: 'high' });
    expect(routeIncident({}, 'P3', base)).toEqual({ channel: 'ops-alerts', policy: 'medium' });
    expect(routeIncident({}, 'P4', base)).toEqual({ channel: 'ops-alerts', policy: 'low' });
  });

  it('first match wins; unset fields fall back to the priority defaults', () => {
    const c = parseOpsConfig(`
routing:
  rules:
    - name: staging
      match: { environment: staging }
      channel: ops-staging
    - match_re: { alertname: "JWT.*|HighAuth.*" }
      priorities: [P1, P2]
      policy: security
    - match_re: { severity: warn }
      channel: never
    - name: catch-all security
      match: { category: security }
      policy: critical
`);
    expect(routeIncident({ environment: 'staging', alertname: 'JWTValidationFailures' }, 'P2', c)).toEqual({ channel: 'ops-staging', policy: 'high', rule: 'staging' });
    expect(routeIncident({ alertname: 'JWTValidationFailures' }, 'P2', c)).toEqual({ channel: 'ops-critical', policy: 'security', rule: 'rules[1]' });
    // priorities filter: a P3 JWT alert skips rule 1
    expect(routeIncident({ alertname: 'JWTValidationFailures', category: 'security' }, 'P3', c)).toEqual({ channel: 'ops-alerts', policy: 'critical', rule: 'catch-all security' });
    // regexes are anchored: "warn" does not match "warning"
    expect(routeIncident({ severity: 'warning' }, 'P3', c).rule).toBeUndefined();
  });
});

describe('rbac', () => {
  const c = loadOpsConfig();

  it('lets each role run its verbs and actions, and strangers nothing', () => {
    const alice = { id: 'U0ALICE' };
    const bob = { id: 'U0BOB' };
    const carol = { id: 'U0CAROL' };
    expect(mayRunCommand(c, alice, 'anything')).toBe(true);
    expect(mayRunCommand(c, bob, 'ack')).toBe(true);
    expect(mayRunCommand(c, bob, 'oncall override')).toBe(true);
    expect(mayRunCommand(c, carol, 'oncall')).toBe(true);
    expect(mayRunCommand(c, carol, 'oncall override')).toBe(false);
    expect(mayRunCommand(c, carol, 'ack')).toBe(false);
    expect(mayRunAction(c, bob, 'restart')).toBe(true);
    expect(mayRunAction(c, bob, 'restore')).toBe(false);
    expect(mayRunAction(c, carol, 'health_check')).toBe(false);
    expect(mayRunCommand(c, { id: 'U0MALLORY' }, 'help')).toBe(false);
    expect(mayRunCommand(c, {}, 'help')).toBe(false);
    expect(allowedCommands(c, carol, ['help', 'ack', 'incidents'])).toEqual(['help', 'incidents']);
  });

  it('matches people by Slack user id and user group only, never by name or a key equal to the id', () => {
    // The config names them alice/bob; a name (or an id that happens to equal a config key) is not an identity.
    expect(findRbacMember(c, { id: 'bob' })).toBeUndefined();
    expect(rolesOf(c, { id: 'U0MALLORY', name: 'bob' })).toEqual([]);
    expect(rolesOf(c, { name: 'alice' })).toEqual([]);
    expect(rolesOf(c, { id: 'alice' })).toEqual([]);
    expect(rolesOf(c, { id: 'U0DAVE', groups: ['ops-leads'] })).toEqual(['responder']);
    expect(rolesOf(c, { id: 'U0DAVE', groups: ['security'] })).toEqual([]);
    expect(rolesOf(c, { id: 'U0CAROL', groups: ['ops-leads'] }).sort()).toEqual(['responder', 'viewer']);
  });

  it('limits a role\'s actions to its channels', () => {
    expect(mayRunAction(c, { id: 'U0BOB' }, 'restart', ['C0OPSCRIT', 'ops-critical'])).toBe(true);
    expect(mayRunAction(c, { id: 'U0BOB' }, 'restart', ['C0GENERAL', 'general'])).toBe(false);
    expect(mayRunAction(c, { id: 'U0ALICE' }, 'restart', ['C0GENERAL', 'general'])).toBe(true);
    expect(rolesAllowingAction(c, 'restore')).toEqual(['admin']);
    expect(describeRoles(rolesAllowingAction(c, 'restart'))).toBe('the role admin or responder');
  });
});

describe('parseInstant', () => {
  it('reads offsets as given and bare times in the zone', () => {
    expect(parseInstant('2025-07-01T09:00:00Z', 'Europe/London').toISOString()).toBe('2025-07-01T09:00:00.000Z');
    expect(parseInstant('2025-07-01T09:00', 'Europe/London').toISOString()).toBe('2025-07-01T08:00:00.000Z');
    expect(parseInstant('2025-01-01', 'America/New_York').toISOString()).toBe('2025-01-01T05:00:00.000Z');
    expect(() => parseInstant('tomorrow', 'UTC')).toThrow(ConfigError);
  });
});
