import { ErrorCode } from '../../lib/errors';
import { loadOpsConfig, parseOpsConfig } from '../../lib/ops-config';
import { formatNotifyTarget, parseNotifyTarget, planEscalation, type PlannedStep } from '../../bot/escalation/escalation-policy';

const config = loadOpsConfig();
const opened = new Date('2025-03-24T10:00:00Z'); // Monday 10:00 GMT
const offsets = (plan: PlannedStep[]) => plan.map((s) => (s.dueAt.getTime() - opened.getTime()) / 1000);
const ids = (plan: PlannedStep[]) => plan.map((s) => s.id);

describe('planEscalation', () => {
  it('P1 follows the critical policy: four steps, three rounds 20 minutes apart', () => {
    const plan = planEscalation({ priority: 'P1', openedAt: opened }, config);
    expect(plan).toHaveLength(12);
    expect(offsets(plan)).toEqual([0, 300, 600, 900, 1200, 1500, 1800, 2100, 2400, 2700, 3000, 3300]);
    expect(ids(plan).slice(0, 5)).toEqual(['r0-s0', 'r0-s1', 'r0-s2', 'r0-s3', 'r1-s0']);
    expect(plan[0]).toEqual({
      id: 'r0-s0',
      policy: 'critical',
      stepIndex: 0,
      repeatRound: 0,
      dueAt: opened,
      delayMs: 0,
      pastDue: false,
      notify: { kind: 'oncall_primary' },
    });
    expect(plan.map((s) => s.repeatRound)).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
    expect(plan.slice(0, 4).map((s) => formatNotifyTarget(s.notify))).toEqual(['oncall_primary', 'oncall_secondary', 'usergroup:ops-leads', 'channel']);
  });

  it('ESCALATION_TIME_SCALE 0.01 turns 5 minutes into 3 seconds', () => {
    const plan = planEscalation({ priority: 'P1', openedAt: opened }, config, { timeScale: 0.01 });
    expect(offsets(plan).slice(0, 5)).toEqual([0, 3, 6, 9, 12]);
    expect(plan[1]!.delayMs).toBe(3_000);
  });

  it('a policy chosen by routing beats the priority default', () => {
    const plan = planEscalation({ priority: 'P2', openedAt: opened, policy: 'security' }, config);
    expect(plan.map((s) => [s.id, formatNotifyTarget(s.notify)])).toEqual([
      ['r0-s0', 'oncall_primary'],
      ['r0-s1', 'usergroup:security'],
      ['r0-s2', 'oncall_secondary'],
      ['r1-s0', 'oncall_primary'],
      ['r1-s1', 'usergroup:security'],
      ['r1-s2', 'oncall_secondary'],
    ]);
    expect(offsets(plan)).toEqual([0, 0, 1800, 3600, 3600, 5400]);
  });

  it('counts delays from `now`, never below zero, and marks what is already due', () => {
    const now = new Date(opened.getTime() + 7 * 60_000);
    const plan = planEscalation({ priority: 'P1', openedAt: opened }, config, { now });
    expect(plan.slice(0, 4).map((s) => [s.delayMs, s.pastDue])).toEqual([
      [0, true],
      [0, true],
      [180_000, false],
      [480_000, false],
    ]);
  });

  it('P3 runs once (no repeat)', () => {
    const plan = planEscalation({ priority: 'P3', openedAt: opened }, config);
    expect(offsets(plan)).toEqual([1800, 7200]);
    expect(plan.every((s) => s.repeatRound === 0)).toBe(true);
  });

  it('P4 waits for the next business day, in the business-hours zone', () => {
    const monday = planEscalation({ priority: 'P4', openedAt: opened }, config);
    expect(monday.map((s) => s.dueAt.toISOString())).toEqual(['2025-03-25T09:00:00.000Z']);
    const friday = new Date('2025-03-28T18:00:00Z');
    expect(planEscalation({ priority: 'P4', openedAt: friday }, config)[0]!.dueAt.toISOString()).toBe('2025-03-31T08:00:00.000Z');
    // Scaled: the 23 h to Tuesday 09:00 become 13 min 48 s.
    expect(offsets(planEscalation({ priority: 'P4', openedAt: opened }, config, { timeScale: 0.01 }))).toEqual([828]);
  });

  it('repeat rounds of a business-day step each wait for their own next business day', () => {
    const c = parseOpsConfig(`
routing: { rules: [] }
escalation:
  policies:
    nbd:
      steps:
        - { after: 0m, notify: channel }
        - { after: next_business_day, notify: "user:alice" }
      repeat: 2
      repeat_interval: 1d
  by_priority: { P1: nbd, P2: nbd, P3: nbd, P4: nbd }
`);
    const friday = new Date('2025-03-28T12:00:00Z');
    const plan = planEscalation({ priority: 'P4', openedAt: friday }, c);
    expect(plan.map((s) => [s.id, s.dueAt.toISOString()])).toEqual([
      ['r0-s0', '2025-03-28T12:00:00.000Z'],
      ['r1-s0', '2025-03-29T12:00:00.000Z'],
      ['r2-s0', '2025-03-30T12:00:00.000Z'],
      ['r0-s1', '2025-03-31T08:00:00.000Z'],
      ['r1-s1', '2025-03-31T08:00:00.000Z'],
      ['r2-s1', '2025-03-31T08:00:00.000Z'],
    ]);
    expect(plan[3]!.notify).toEqual({ kind: 'user', name: 'alice' });
  });

  it('plans the same steps every time (job ids stay stable)', () => {
    const a = planEscalation({ priority: 'P2', openedAt: opened }, config, { timeScale: 0.5 });
    const b = planEscalation({ priority: 'P2', openedAt: opened }, config, { timeScale: 0.5 });
    expect(a).toEqual(b);
    expect(new Set(ids(a)).size).toBe(a.length);
  });

  it('rejects an unknown policy and a bad time scale', () => {
    expect(() => planEscalation({ priority: 'P1', openedAt: opened, policy: 'nope' }, config)).toThrow(expect.objectContaining({ code: ErrorCode.ValidationFailed }));
    expect(() => planEscalation({ priority: 'P1', openedAt: opened }, config, { timeScale: 0 })).toThrow(expect.objectContaining({ code: ErrorCode.ValidationFailed }));
  });
});

describe('notify targets', () => {
  it.each(['oncall_primary', 'oncall_secondary', 'channel', 'usergroup:ops-leads', 'user:bob'])('round-trips %s', (text) => {
    expect(formatNotifyTarget(parseNotifyTarget(text))).toBe(text);
  });

  it('rejects anything else', () => {
    expect(() => parseNotifyTarget('pager')).toThrow(expect.objectContaining({ code: ErrorCode.ValidationFailed }));
    expect(() => parseNotifyTarget('user:')).toThrow();
  });
});
