/**
 * The importers' pure parts: rate-limit headers, names and durations, and
 * Grafana OnCall mapping edge cases that the fixture set-up does not cover.
 */
import fs from 'node:fs';
import { mapGrafanaOnCall, type GrafanaSnapshot } from '../../lib/importers/grafana-oncall';
import { blockingUsers, buildFragment, emptyPlan, importRoles, secondsToDuration, slug, uniqueName, type ImportPlan } from '../../lib/importers/import-plan';
import { UserMapSchema } from '../../lib/importers/slack-users';
import { parseOpsConfig } from '../../lib/ops-config';
import { retryDelayMs } from '../../lib/importers/source-client';

describe('retryDelayMs', () => {
  const now = Date.parse('2026-03-01T12:00:00Z');
  it.each([
    [{ 'Retry-After': '3' }, 3000],
    [{ 'Retry-After': 'Sun, 01 Mar 2026 12:00:05 GMT' }, 5000],
    [{ 'ratelimit-reset': '2' }, 2000],
    [{ 'X-RateLimit-Reset': String(now / 1000 + 7) }, 7000],
    [{ 'X-RateLimit-Period-In-Sec': '10' }, 10_000],
  ])('%j → %i ms', (headers, ms) => expect(retryDelayMs(new Headers(headers), now)).toBe(ms));
  it('is undefined without a hint', () => expect(retryDelayMs(new Headers({}), now)).toBeUndefined());
});

describe('names and durations', () => {
  it('slugs display names and keeps them unique', () => {
    expect(slug('Primary On-Call ✓', 'x')).toBe('primary-on-call');
    expect(slug('✓✓', 'fallback')).toBe('fallback');
    const taken = new Set<string>();
    expect([uniqueName('a', taken), uniqueName('a', taken), uniqueName('a', taken)]).toEqual(['a', 'a-2', 'a-3']);
  });
  it('writes seconds as a duration', () => {
    expect([0, 59, 300, 5400, 90_061].map(secondsToDuration)).toEqual(['0m', '59s', '5m', '1h30m', '1d1h1m1s']);
  });
});

describe('mapGrafanaOnCall edge cases', () => {
  const users = { matched: [{ sourceId: 'U1', email: 'a@x', name: 'alice', slackId: 'U0ALICE' }, { sourceId: 'U2', email: 'b@x', name: 'bob', slackId: 'U0BOB' }], unmatched: [] };
  const base: GrafanaSnapshot = { users: [], schedules: [], shifts: [], chains: [{ id: 'C1', name: 'Chain' }], policies: [], integrations: [], routes: [] };
  const step = (position: number, type: string, extra: Record<string, unknown> = {}) => ({ id: `E${position}`, escalation_chain_id: 'C1', position, type, ...extra });

  it('a repeat with no wait after the last page is listed, not guessed', () => {
    const plan = mapGrafanaOnCall({ ...base, policies: [step(0, 'notify_persons', { persons_to_notify: ['U1', 'U2'] }), step(1, 'repeat_escalation')] }, users);
    expect(plan.policies.chain).toEqual({ description: 'Imported from Grafana OnCall: Chain', steps: [{ after: '0m', notify: 'user:alice' }, { after: '0m', notify: 'user:bob' }] });
    expect(plan.unmapped.map((u) => u.why).join()).toMatch(/repeats with no wait/);
  });

  it('a schedule with shifts of several people, or with gaps, does not map', () => {
    const shift = { id: 'O1', type: 'rolling_users' as const, start: '2026-03-02T09:00:00', duration: 604_800, frequency: 'weekly' as const, interval: 1, rolling_users: [['U1', 'U2']] };
    const schedules = [{ id: 'S1', name: 'Pairs', type: 'web' as const, time_zone: 'UTC', shifts: ['O1'] }];
    const pairs = mapGrafanaOnCall({ ...base, schedules, shifts: [shift] }, users);
    expect(pairs.rotations).toEqual({});
    expect(pairs.unmapped[0]).toMatchObject({ what: 'schedule', name: 'Pairs', why: expect.stringContaining('several people') });
    const gaps = mapGrafanaOnCall({ ...base, schedules, shifts: [{ ...shift, rolling_users: [['U1'], ['U2']], duration: 28_800 }] }, users);
    expect(gaps.unmapped[0]!.why).toMatch(/last 8h every 7d/);
  });
});

describe('who is on call can acknowledge; who is unknown to Slack blocks', () => {
  const base = parseOpsConfig(fs.readFileSync('config/ops.example.yaml', 'utf8'), 'ops.example.yaml');
  const plan = (): ImportPlan => ({
    ...emptyPlan('Test'),
    rotations: { day: { members: ['carol', 'erin'], start: '2026-03-02', length: '1w', handoff: '09:00', timezone: 'UTC' } },
    policies: { p: { steps: [{ after: '0m', notify: 'user:zoe' }] } },
    users: [
      { sourceId: '1', email: 'carol@x', name: 'carol', slackId: 'U0CAROL' },
      { sourceId: '2', email: 'erin@x', name: 'erin', slackId: 'U0ERIN', via: 'map' },
      { sourceId: '3', email: 'zed@x', name: 'zed', slackId: 'U0ZED' },
    ],
    unmatchedUsers: [
      { sourceId: '4', email: 'zoe@x', name: 'zoe' },
      { sourceId: '5', email: 'yan@x', name: 'yan' },
    ],
  });

  it('raises a viewer on call to responder, even with --role viewer; people not on call get --role', () => {
    const { roles, raised } = importRoles(plan(), base, 'viewer');
    expect(roles).toEqual({ carol: 'responder', erin: 'responder', zed: 'viewer' });
    expect(raised).toEqual([{ name: 'carol', from: 'viewer', to: 'responder', where: ['day'] }]);
    expect(importRoles(plan(), base, 'admin').roles).toEqual({ carol: 'admin', erin: 'admin', zed: 'admin' });
  });

  it('lists only the unmatched people who are on call as blocking, with where', () => {
    expect(blockingUsers(plan()).map((b) => [b.user.email, b.where])).toEqual([['zoe@x', ['escalation policy p']]]);
  });

  it('refuses a --map id that another person in the config already has', () => {
    const p = plan();
    p.users[1]!.slackId = 'U0ALICE';
    expect(() => buildFragment(p, { rbac: { users: { alice: { role: 'admin', slack_id: 'U0ALICE' } } } }, base)).toThrow(/erin and alice would both be Slack user U0ALICE/);
  });

  it('--map takes <email>=<Slack user id> only', () => {
    expect(UserMapSchema.parse(['Dave@X.example=U0DAVE', 'e@x=W123'])).toEqual({ 'dave@x.example': 'U0DAVE', 'e@x': 'W123' });
    for (const bad of ['dave@x=dave', 'dave@x=u0dave', 'dave=U0DAVE', 'dave@x=U0DAVE=U1']) expect(UserMapSchema.safeParse([bad]).success).toBe(false);
  });
});
