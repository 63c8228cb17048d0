import { Registry } from 'prom-client';
import { parseNotifyTarget } from '../../bot/escalation/escalation-policy';
import { createEscalationMetrics } from '../../bot/escalation/metrics';
import { escalationBackoff, jobIds } from '../../bot/escalation/scheduler';
import { createUserResolver, resolveTarget, type TargetContext } from '../../bot/escalation/targets';
import { EscalationJobSchema } from '../../lib/contracts';
import { silentLogger } from '../../lib/logger';
import { loadOpsConfig, parseOpsConfig } from '../../lib/ops-config';

const config = loadOpsConfig();
// Week of 2025-01-06: alice primary, bob secondary.
const WED = new Date('2025-01-08T12:00:00Z');

function ctx(overrides: Partial<TargetContext> = {}): TargetContext {
  return {
    config,
    now: WED,
    overrides: [],
    resolveUser: async (name) => ({ alice: 'U0ALICE', bob: 'U0BOB' })[name],
    resolveUsergroup: async (handle) => (handle === 'ops-leads' ? 'S0LEADS' : undefined),
    ...overrides,
  };
}

describe('escalation targets', () => {
  it('mentions the on-call primary and secondary by Slack id', async () => {
    expect(await resolveTarget(parseNotifyTarget('oncall_primary'), ctx())).toEqual({ mention: '<@U0ALICE>', describe: 'alice (on-call primary)' });
    expect(await resolveTarget(parseNotifyTarget('oncall_secondary'), ctx())).toEqual({ mention: '<@U0BOB>', describe: 'bob (on-call secondary)' });
  });

  it('follows an override, and the one covered becomes the secondary', async () => {
    const overrides = [{ user: 'bob', from: '2025-01-08T11:00:00Z', to: '2025-01-08T13:00:00Z' }];
    expect((await resolveTarget(parseNotifyTarget('oncall_primary'), ctx({ overrides }))).mention).toBe('<@U0BOB>');
    expect((await resolveTarget(parseNotifyTarget('oncall_secondary'), ctx({ overrides }))).mention).toBe('<@U0ALICE>');
  });

  it('falls back to @name text for a user Slack does not know, and to @handle for a group without an id', async () => {
    expect(await resolveTarget(parseNotifyTarget('user:carol'), ctx())).toEqual({ mention: '@carol', describe: 'carol' });
    expect((await resolveTarget(parseNotifyTarget('usergroup:ops-leads'), ctx())).mention).toBe('<!subteam^S0LEADS|@ops-leads>');
    expect((await resolveTarget(parseNotifyTarget('usergroup:security'), ctx())).mention).toBe('@security');
    expect((await resolveTarget(parseNotifyTarget('channel'), ctx())).mention).toBe('<!channel>');
  });

  it('a rotation of one pages its only member as the secondary too', async () => {
    const solo = parseOpsConfig('oncall:\n  rotation: { members: [alice], start: 2025-01-06, timezone: Europe/London }\n');
    expect((await resolveTarget(parseNotifyTarget('oncall_secondary'), ctx({ config: solo }))).mention).toBe('<@U0ALICE>');
  });

  it('the default user resolver takes a configured slack_id without asking Slack', async () => {
    const withIds = parseOpsConfig(
      'rbac:\n  roles: { admin: { commands: ["*"], actions: ["*"] } }\n  users:\n    alice: { role: admin, slack_id: U0A11CE }\n',
    );
    // bob is a rotation member without an RBAC entry (so without an id): without a client he stays unresolved.
    const resolve = createUserResolver(withIds, undefined, silentLogger());
    expect(await resolve('alice')).toBe('U0A11CE');
    expect(await resolve('bob')).toBeUndefined();
  });
});

describe('escalation jobs', () => {
  it('job ids are deterministic and free of ":" (BullMQ refuses them)', () => {
    expect(jobIds.step('INC-7', 3, 'r1-s2')).toBe('INC-7-g3-r1-s2');
    expect(jobIds.sla('INC-7', 2)).toBe('INC-7-sla2');
    expect(jobIds.resume('INC-7', 4)).toBe('INC-7-g4-resume');
    expect(jobIds.step('INC:7', 1, 'r0-s0')).not.toContain(':');
  });

  it('retries fast first, then every 5 s at most; waiting for a thread polls every 250 ms for a while', () => {
    expect([1, 2, 4, 30].map((n) => escalationBackoff(n))).toEqual([250, 500, 1000, 5000]);
    const waiting = Object.assign(new Error('no thread'), { name: 'RetryLaterError' });
    expect([1, 5, 20, 21].map((n) => escalationBackoff(n, waiting))).toEqual([250, 250, 250, 5000]);
  });

  it('the payload schema refuses what is not a job of ours', () => {
    const ok = { kind: 'step', incidentId: 'INC-1', generation: 1, stepId: 'r0-s0', dueAt: '2025-01-08T12:00:00.000Z' };
    expect(EscalationJobSchema.safeParse(ok).success).toBe(true);
    expect(EscalationJobSchema.safeParse({ ...ok, stepId: 'r0:s0' }).success).toBe(false);
    expect(EscalationJobSchema.safeParse({ ...ok, kind: 'page' }).success).toBe(false);
    expect(EscalationJobSchema.safeParse({ ...ok, generation: 0 }).success).toBe(false);
  });

  it('metrics can be created twice on one registry (an engine restarted in the same process)', async () => {
    const registry = new Registry();
    const a = createEscalationMetrics(registry);
    const b = createEscalationMetrics(registry);
    a.slaBreaches.inc({ priority: 'P1' });
    b.slaBreaches.inc({ priority: 'P1' });
    expect(await registry.getSingleMetricAsString('sla_breaches_total')).toContain('sla_breaches_total{priority="P1"} 2');
  });
});
