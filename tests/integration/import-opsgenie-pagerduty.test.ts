/**
 * `npm run import -- opsgenie | pagerduty`: against faithful local fakes of
 * their APIs, the sandbox Slack (users.lookupByEmail) and real Redis. The
 * imported config must page the same people in the same order as the source
 * would (its own on-call answers), across DST changes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createOverrideStore } from '../../bot/oncall/oncall-overrides';
import { planEscalation } from '../../bot/escalation/escalation-policy';
import { resolveTarget } from '../../bot/escalation/targets';
import { ErrorCode } from '../../lib/errors';
import { createSlackEmailLookup } from '../../lib/importers/slack-users';
import { createSourceClient, type SourceClient } from '../../lib/importers/source-client';
import { runImport, type ImportDeps, type SourceName } from '../../lib/importers/run-import';
import { loadOpsConfig, type OnCallOverride, type OpsConfig } from '../../lib/ops-config';
import { closeRedis, type Redis } from '../../lib/redis';
import { createSlackSandbox, DEFAULT_USERS, type SlackSandbox } from '../../sandbox/slack';
import { startOpsgenieFake } from '../fakes/opsgenie';
import { startPagerDutyFake } from '../fakes/pagerduty';
import { deletePrefix, testPrefix, testRedis } from '../helpers/redis';

const BOT_TOKEN = 'xoxb-import-test';
const IMPORT_NOW = new Date('2026-03-01T12:00:00Z');
/** erin and frank are in the sandbox Slack, but not under the emails the sources have: they are matched with --map. */
const MAP: Record<string, string> = { 'erin@contractor.example': 'U0ERIN', 'frank@vendor.example': 'U0FRANK' };

let og: Awaited<ReturnType<typeof startOpsgenieFake>>;
let pd: Awaited<ReturnType<typeof startPagerDutyFake>>;
let slack: SlackSandbox;
let slackApiUrl: string;
let redis: Redis;
let prefix: string;
let dir: string;

beforeAll(async () => {
  og = await startOpsgenieFake({ readOnlyKey: 'og-read-only' });
  pd = await startPagerDutyFake({ readOnlyToken: 'pd-read-only' });
  // Slack's per-method limits are tested with the sandbox elsewhere; here they would only slow the many imports.
  slack = createSlackSandbox({
    botToken: BOT_TOKEN,
    signingSecret: 'import-test-signing-secret',
    requestUrl: 'http://127.0.0.1:9/slack/events',
    rateLimits: false,
    users: [
      ...DEFAULT_USERS,
      { id: 'U0ERIN', name: 'erin', realName: 'Erin Contractor', email: 'erin@erin-own.example' },
      { id: 'U0FRANK', name: 'frank', realName: 'Frank Vendor', email: 'frank@frank-own.example' },
    ],
  });
  slackApiUrl = `${(await slack.start(0)).url}/api/`;
  redis = testRedis();
});
beforeEach(() => {
  prefix = testPrefix('import');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'import-'));
});
afterEach(async () => {
  await deletePrefix(redis, prefix);
  fs.rmSync(dir, { recursive: true, force: true });
});
afterAll(async () => {
  await og.close();
  await pd.close();
  await slack.stop();
  await closeRedis(redis);
});

const auth = { opsgenie: (k: string) => `GenieKey ${k}`, pagerduty: (k: string) => `Token token=${k}` };
function deps(source: 'opsgenie' | 'pagerduty', key?: string): ImportDeps & { client: SourceClient } {
  const store = createOverrideStore({ redis, prefix });
  const url = source === 'opsgenie' ? og.url : pd.url;
  return {
    client: createSourceClient({ source, baseUrl: url, authorization: auth[source](key ?? (source === 'opsgenie' ? og.key : pd.token)) }),
    lookupEmail: createSlackEmailLookup(BOT_TOKEN, slackApiUrl),
    putOverride: (id, o, now) => store.put(id, o, now),
    now: () => IMPORT_NOW,
  };
}

const mentions = new Map<string, string>();
/** The Slack mention of a person: the --map id, else Slack's answer by email. Every on-call person must have one. */
async function mentionOf(email: string): Promise<string> {
  if (!mentions.has(email)) {
    const id = MAP[email] ?? (await createSlackEmailLookup(BOT_TOKEN, slackApiUrl)(email))?.id;
    mentions.set(email, id ? `<@${id}>` : `(nobody in Slack: ${email})`);
  }
  return mentions.get(email)!;
}

async function ourPages(config: OpsConfig, overrides: OnCallOverride[], policy: string, at: Date): Promise<string[]> {
  const out: string[] = [];
  for (const step of planEscalation({ priority: 'P1', openedAt: at, policy }, config)) {
    const t = await resolveTarget(step.notify, { config, now: step.dueAt, overrides, resolveUser: async (n) => config.rbac.users[n]?.slack_id, resolveUsergroup: async () => undefined });
    out.push(`+${(step.dueAt.getTime() - at.getTime()) / 60_000}m ${t.mention}`);
  }
  return out;
}

/** Opsgenie's escalation semantics: each rule's delay from the alert, rounds repeat `waitInterval` after the last rule. */
async function opsgeniePages(escalationName: string, at: Date): Promise<string[]> {
  const e = og.fixtures.escalations.find((x) => x.name === escalationName)!;
  const rules = [...e.rules].sort((a, b) => a.delay.timeAmount - b.delay.timeAmount);
  const last = Math.max(...rules.map((r) => r.delay.timeAmount));
  const out: string[] = [];
  for (let round = 0; round <= (e.repeat?.count ?? 0); round++) {
    for (const r of rules) {
      const m = round * (last + (e.repeat?.waitInterval ?? 0)) + r.delay.timeAmount;
      let email: string = r.recipient.username;
      if (r.recipient.type === 'schedule') {
        const res = await fetch(`${og.url}/v2/schedules/${r.recipient.id}/on-calls?flat=true&date=${new Date(at.getTime() + m * 60_000).toISOString()}`, { headers: { Authorization: `GenieKey ${og.key}` } });
        email = ((await res.json()) as { data: { onCallRecipients: string[] } }).data.onCallRecipients[0]!;
      }
      out.push(`+${m}m ${await mentionOf(email)}`);
    }
  }
  return out;
}

/** PagerDuty's semantics: rule k fires after the delays of the rules before it; the policy loops `num_loops` more times. */
async function pagerdutyPages(policyName: string, at: Date): Promise<string[]> {
  const p = pd.fixtures.escalation_policies.find((x) => x.name === policyName)!;
  const total = p.escalation_rules.reduce((s: number, r: { escalation_delay_in_minutes: number }) => s + r.escalation_delay_in_minutes, 0);
  const email = (id: string) => pd.fixtures.users.find((u) => u.id === id)!.email as string;
  const out: string[] = [];
  for (let round = 0; round <= p.num_loops; round++) {
    let m = round * total;
    for (const rule of p.escalation_rules) {
      for (const target of rule.targets) {
        let who = target.id as string;
        if (target.type === 'schedule_reference') {
          const t = new Date(at.getTime() + m * 60_000);
          const res = await fetch(`${pd.url}/schedules/${target.id}?since=${t.toISOString()}&until=${new Date(t.getTime() + 60_000).toISOString()}`, { headers: { Authorization: `Token token=${pd.token}` } });
          who = ((await res.json()) as { schedule: { final_schedule: { rendered_schedule_entries: Array<{ user: { id: string } }> } } }).schedule.final_schedule.rendered_schedule_entries[0]!.user.id;
        }
        out.push(`+${m}m ${await mentionOf(email(who))}`);
      }
      m += rule.escalation_delay_in_minutes;
    }
  }
  return out;
}

interface Case {
  source: Extract<SourceName, 'opsgenie' | 'pagerduty'>;
  rotation: string;
  members: string[];
  unmatched: string;
  unmapped: RegExp[];
  policy: [sourceName: string, ours: string];
  alertTimes: string[];
  sourcePages: (name: string, at: Date) => Promise<string[]>;
  throttlePath: string;
  fake: () => { throttled: number; throttle(p: string, n: number): void };
  errors: { 401: string; 403: string };
}

const cases: Case[] = [
  {
    source: 'opsgenie',
    rotation: 'platform_schedule',
    members: ['alice', 'bob', 'erin'],
    unmatched: 'erin@contractor.example',
    unmapped: [/schedule Night_shift: .*time restriction/, /Legacy_escalation #1: "if not closed"/, /Legacy_escalation #2: notifies the next on-call/, /Legacy_escalation #3: a team recipient/],
    policy: ['Platform_escalation', 'platform_escalation'],
    alertTimes: ['2026-03-02T13:55:00Z', '2026-03-08T06:50:00Z', '2026-03-09T12:55:00Z', '2026-03-10T12:55:00Z', '2026-03-10T19:50:00Z', '2026-11-01T05:50:00Z', '2026-11-02T13:55:00Z'],
    sourcePages: opsgeniePages,
    throttlePath: '/v2/escalations',
    fake: () => og,
    errors: { 401: 'Could not authenticate', 403: 'You are not authorized' },
  },
  {
    source: 'pagerduty',
    rotation: 'ops-primary',
    members: ['alice', 'frank', 'bob'],
    unmatched: 'frank@vendor.example',
    unmapped: [/schedule Business hours: .*restricted/, /escalation rule target Vendors #1 Business hours: its schedule did not map/, /service integrations/],
    policy: ['Ops Default', 'ops-default'],
    alertTimes: ['2026-03-23T08:50:00Z', '2026-03-29T00:45:00Z', '2026-03-30T07:50:00Z', '2026-03-30T13:50:00Z', '2026-04-06T07:50:00Z', '2026-10-25T00:45:00Z', '2026-10-26T08:50:00Z'],
    sourcePages: pagerdutyPages,
    throttlePath: '/services',
    fake: () => pd,
    errors: { 401: 'Invalid Credentials', 403: 'Access Denied' },
  },
];

describe.each(cases)('$source import', (c) => {
  it('--plan lists what it would create, what cannot map and why, and the unmatched users as blocking, and writes nothing', async () => {
    const out = path.join(dir, 'imported.yaml');
    const { plan, report } = await runImport({ source: c.source, mode: 'plan', out }, deps(c.source));
    expect(Object.keys(plan.rotations)).toEqual([c.rotation]);
    expect(plan.rotations[c.rotation]!.members).toEqual(c.members);
    expect(plan.unmatchedUsers.map((u) => u.email)).toEqual([c.unmatched]);
    const why = plan.unmapped.map((u) => `${u.what} ${u.name}: ${u.why}`).join('\n');
    for (const re of c.unmapped) expect(why).toMatch(re);
    expect(report).toContain('BLOCKING: on call but not found in Slack (1)');
    expect(report).toMatch(new RegExp(`  ! ${c.unmatched.replace(/\./g, '\\.')} \\(as "\\w+"\\), on call in ${c.rotation}.*: invite them to Slack with that email, or pass --map ${c.unmatched.replace(/\./g, '\\.')}=<SlackUserId>`));
    expect(fs.existsSync(out)).toBe(false);
    expect(await redis.exists(createOverrideStore({ redis, prefix }).key)).toBe(0);
  });

  it('--apply refuses while someone on call is not in Slack and writes nothing; with --map it writes a valid config and the overrides, and a second run changes nothing', async () => {
    const out = path.join(dir, 'imported.yaml');
    const key = createOverrideStore({ redis, prefix }).key;
    await expect(runImport({ source: c.source, mode: 'apply', out }, deps(c.source))).rejects.toMatchObject({
      code: ErrorCode.ValidationFailed,
      message: expect.stringMatching(new RegExp(`^--apply refused, nothing was written: 1 person on call .*${c.unmatched.replace(/\./g, '\\.')}.*on call in ${c.rotation}`)),
    });
    expect(fs.existsSync(out)).toBe(false);
    expect(await redis.exists(key)).toBe(0);

    const map = { [c.unmatched]: MAP[c.unmatched]! };
    const first = await runImport({ source: c.source, mode: 'apply', out, map }, deps(c.source));
    expect(first.file).toBe('written');
    expect(first.overrides.added).toBe(1);
    const config = loadOpsConfig(out);
    expect(config.oncall.rotations[c.rotation]!.members).toEqual(c.members);
    for (const name of c.members) expect(config.rbac.users[name]?.role).toMatch(/^(admin|responder)$/);
    expect(Object.values(config.rbac.users)).toContainEqual({ role: 'responder', slack_id: MAP[c.unmatched] });
    const text = fs.readFileSync(out, 'utf8');
    const second = await runImport({ source: c.source, mode: 'apply', out, map }, deps(c.source));
    expect(second).toMatchObject({ file: 'unchanged', overrides: { added: 0, updated: 0, unchanged: 1, over: 0 } });
    expect(fs.readFileSync(out, 'utf8')).toBe(text);
  });

  it('pages the same people in the same order as the source, across DST changes', async () => {
    const out = path.join(dir, 'imported.yaml');
    await runImport({ source: c.source, mode: 'apply', out, map: { [c.unmatched]: MAP[c.unmatched]! } }, deps(c.source));
    const config = loadOpsConfig(out);
    const overrides = await createOverrideStore({ redis, prefix }).live(IMPORT_NOW);
    let compared = 0;
    for (const at of c.alertTimes) {
      const source = await c.sourcePages(c.policy[0], new Date(at));
      expect({ at, pages: await ourPages(config, overrides, c.policy[1], new Date(at)) }).toEqual({ at, pages: source });
      compared += source.length;
    }
    expect(compared).toBeGreaterThan(40);
  });

  it('honours a 429 (rate-limit headers) and carries on', async () => {
    c.fake().throttle(c.throttlePath, 1);
    const before = c.fake().throttled;
    const d = deps(c.source);
    await runImport({ source: c.source, mode: 'plan' }, d);
    expect(c.fake().throttled).toBe(before + 1);
    expect(d.client.rateLimited).toBe(1);
  });

  it('a refused key (401) or one without rights (403) is a clear error and writes nothing', async () => {
    const out = path.join(dir, 'imported.yaml');
    await expect(runImport({ source: c.source, mode: 'apply', out }, deps(c.source, 'wrong'))).rejects.toMatchObject({ code: ErrorCode.Unauthorized, message: expect.stringContaining(c.errors[401]) });
    const readOnly = c.source === 'opsgenie' ? 'og-read-only' : 'pd-read-only';
    await expect(runImport({ source: c.source, mode: 'apply', out }, deps(c.source, readOnly))).rejects.toMatchObject({ code: ErrorCode.Forbidden, message: expect.stringContaining(c.errors[403]) });
    expect(fs.existsSync(out)).toBe(false);
  });
});
