/**
 * `npm run import -- grafana-oncall`: against a faithful local Grafana OnCall
 * API (tests/fakes/grafana-oncall.ts), the sandbox Slack for users.lookupByEmail
 * and real Redis for the overrides. The imported config must page the same
 * people in the same order as Grafana would, for alert times across the
 * changes to and from British Summer Time.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createOverrideStore } from '../../bot/oncall/oncall-overrides';
import { planEscalation } from '../../bot/escalation/escalation-policy';
import { resolveTarget } from '../../bot/escalation/targets';
import { ErrorCode } from '../../lib/errors';
import { createSlackEmailLookup } from '../../lib/importers/slack-users';
import { createSourceClient } from '../../lib/importers/source-client';
import { runImport, type ImportDeps } from '../../lib/importers/run-import';
import { loadOpsConfig, type OpsConfig } from '../../lib/ops-config';
import { closeRedis, type Redis } from '../../lib/redis';
import { createSlackSandbox, DEFAULT_USERS, type SlackSandbox } from '../../sandbox/slack';
import { startGrafanaOnCallFake, type GrafanaOnCallFake } from '../fakes/grafana-oncall';
import { main } from '../../scripts/import/main';
import { deletePrefix, testPrefix, testRedis } from '../helpers/redis';

const BOT_TOKEN = 'xoxb-import-test';
/** The import runs "before" the fixture's override, which is in spring 2026. */
const IMPORT_NOW = new Date('2026-03-01T12:00:00Z');
/** dave is in the sandbox Slack, but not under the email Grafana has for him: he is matched with --map. */
const MAP = { 'dave@contractor.example': 'U0DAVE' };

let fake: GrafanaOnCallFake;
let slack: SlackSandbox;
let slackApiUrl: string;
let redis: Redis;
let prefix: string;
let dir: string;

beforeAll(async () => {
  fake = await startGrafanaOnCallFake({ readOnlyToken: 'grafana-read-only' });
  slack = createSlackSandbox({
    botToken: BOT_TOKEN,
    signingSecret: 'import-test-signing-secret',
    requestUrl: 'http://127.0.0.1:9/slack/events',
    users: [...DEFAULT_USERS, { id: 'U0DAVE', name: 'dave', realName: 'Dave Contractor', email: 'dave@dave-own.example' }],
  });
  const running = await slack.start(0);
  slackApiUrl = `${running.url}/api/`;
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
  await fake.close();
  await slack.stop();
  await closeRedis(redis);
});

function deps(token = fake.token): ImportDeps & { client: ReturnType<typeof createSourceClient> } {
  const store = createOverrideStore({ redis, prefix });
  return {
    client: createSourceClient({ source: 'Grafana OnCall', baseUrl: fake.url, authorization: token }),
    lookupEmail: createSlackEmailLookup(BOT_TOKEN, slackApiUrl),
    putOverride: (id, o, now) => store.put(id, o, now),
    now: () => IMPORT_NOW,
  };
}

describe('Grafana OnCall import', () => {
  it('--plan lists what it would create, what cannot map and why, the raised roles and the unmatched users as blocking, and writes nothing', async () => {
    const out = path.join(dir, 'imported.yaml');
    const result = await runImport({ source: 'grafana-oncall', mode: 'plan', out }, deps());
    expect(Object.keys(result.plan.rotations).sort()).toEqual(['primary-on-call', 'secondary']);
    expect(Object.keys(result.plan.policies).sort()).toEqual(['database', 'default']);
    expect(result.plan.unmatchedUsers.map((u) => u.email)).toEqual(['dave@contractor.example']);
    expect(result.plan.users.map((u) => [u.email, u.slackId])).toEqual([
      ['alice@sandbox.example', 'U0ALICE'],
      ['bob@sandbox.example', 'U0BOB'],
      ['carol@sandbox.example', 'U0CAROL'],
    ]);
    const why = result.plan.unmapped.map((u) => `${u.what} ${u.name}: ${u.why}`).join('\n');
    expect(why).toMatch(/escalation step Default #1.*does not place calls/);
    expect(why).toMatch(/schedule Office hours: .*some weekdays only/);
    expect(why).toMatch(/schedule Legacy iCal: .*iCal-only/);
    expect(why).toMatch(/escalation step Database #3 \(trigger_webhook\)/);
    expect(why).toMatch(/route Alertmanager prod: \{\{ payload/);
    expect(why).toMatch(/integration Zabbix legacy: type "zabbix"/);
    expect(result.report).toContain('BLOCKING: on call but not found in Slack (1)');
    expect(result.report).toContain(
      '  ! dave@contractor.example (as "dave"), on call in primary-on-call, escalation policy database: invite them to Slack with that email, or pass --map dave@contractor.example=<SlackUserId>',
    );
    expect(result.report).toContain('  ^ carol: viewer → responder (on call in secondary, escalation policy default)');
    expect(result.report).toContain('Not mapped (');
    expect(fs.existsSync(out)).toBe(false);
    expect(await redis.exists(createOverrideStore({ redis, prefix }).key)).toBe(0);
    // A --map for an email no one in the source has is refused, not ignored.
    await expect(runImport({ source: 'grafana-oncall', mode: 'plan', map: { 'nobody@x.example': 'U0NOBODY' } }, deps())).rejects.toMatchObject({
      code: ErrorCode.ValidationFailed,
      message: '--map: no person in grafana-oncall has the email nobody@x.example',
    });
    // The pages really were read page by page (2 a page; 11 escalation policies = 6 pages).
    expect(fake.hits.get('/api/v1/escalation_policies/')).toBeGreaterThanOrEqual(6);
  });

  it('--apply refuses while someone on call is not in Slack and writes nothing; with --map it writes a valid fragment and the overrides, and a second run changes nothing', async () => {
    const out = path.join(dir, 'imported.yaml');
    const key = createOverrideStore({ redis, prefix }).key;
    await expect(runImport({ source: 'grafana-oncall', mode: 'apply', out }, deps())).rejects.toMatchObject({
      code: ErrorCode.ValidationFailed,
      message: expect.stringMatching(/^--apply refused, nothing was written: 1 person on call .*dave@contractor\.example \(as "dave"\), on call in primary-on-call, escalation policy database/),
    });
    expect(fs.existsSync(out)).toBe(false);
    expect(await redis.exists(key)).toBe(0);

    const first = await runImport({ source: 'grafana-oncall', mode: 'apply', out, map: MAP }, deps());
    expect(first.file).toBe('written');
    expect(first.overrides).toEqual({ added: 1, updated: 0, unchanged: 0, over: 0 });
    const config = loadOpsConfig(out);
    expect(config.oncall.rotations['primary-on-call']).toEqual({
      members: ['alice', 'bob', 'dave'],
      start: '2026-03-02',
      length: '1w',
      handoff: '09:00',
      timezone: 'Europe/London',
    });
    expect(config.oncall.rotations.secondary?.members).toEqual(['bob', 'carol']);
    expect(config.escalation.by_priority.P1).toBe('default');
    expect(config.routing.rules[0]).toMatchObject({ match_re: { team: 'database' }, policy: 'database' });
    expect(config.rbac.users.bob).toEqual({ role: 'responder', slack_id: 'U0BOB' });
    expect(config.rbac.users.dave).toEqual({ role: 'responder', slack_id: 'U0DAVE' });
    // carol is a viewer in the base config and on call in "secondary": raised so she can acknowledge.
    expect(config.rbac.users.carol).toEqual({ role: 'responder', slack_id: 'U0CAROL' });
    expect(first.report).toContain('  = dave@contractor.example → dave (U0DAVE, from --map)');
    expect(first.report).toContain('BLOCKING: on call but not found in Slack (0)');
    expect(config.calendars.external).toEqual({ secondary: { url: 'https://calendar.example/secondary-swaps.ics', refresh: '15m' } });
    const text = fs.readFileSync(out, 'utf8');
    const stored = await redis.zrange(key, 0, -1);

    const second = await runImport({ source: 'grafana-oncall', mode: 'apply', out, map: MAP }, deps());
    expect(second.file).toBe('unchanged');
    expect(second.overrides).toEqual({ added: 0, updated: 0, unchanged: 1, over: 0 });
    expect(fs.readFileSync(out, 'utf8')).toBe(text);
    expect(await redis.zrange(key, 0, -1)).toEqual(stored);
  });

  it('the imported config pages the same people in the same order as Grafana OnCall, across DST changes', async () => {
    const out = path.join(dir, 'imported.yaml');
    await runImport({ source: 'grafana-oncall', mode: 'apply', out, map: MAP }, deps());
    const config = loadOpsConfig(out);
    const overrides = await createOverrideStore({ redis, prefix }).live(IMPORT_NOW);
    const alertTimes = [
      '2026-03-23T08:55:00Z', // Monday, 4 minutes before the GMT handoff
      '2026-03-29T00:50:00Z', // the chain runs across 01:00 UTC, when the clocks go forward
      '2026-03-30T07:55:00Z', // first Monday of BST: the handoff is 08:00 UTC now
      '2026-03-30T10:55:00Z', // bob's override starts at 12:00 BST
      '2026-03-31T06:55:00Z', // the daily secondary hands over at 08:00 BST
      '2026-10-25T00:50:00Z', // the clocks go back at 01:00 UTC
      '2026-10-26T08:55:00Z', // first Monday of GMT again
    ];
    const mentions = await slackMentions();
    let compared = 0;
    for (const at of alertTimes) {
      for (const [chainId, policy] of [['FWDL7M6N6I9HE', 'default'], ['F5JU6KJET33FE', 'database']] as const) {
        const source = (await grafanaPages(chainId, new Date(at))).map(([s, email]) => `+${s}s ${mentions.get(email)}`);
        const ours = await ourPages(config, overrides, policy, new Date(at));
        expect({ at, policy, pages: ours }).toEqual({ at, policy, pages: source });
        compared += source.length;
      }
    }
    expect(compared).toBeGreaterThan(100);
  });

  it('honours a 429 with Retry-After and carries on', async () => {
    fake.throttle('/api/v1/on_call_shifts/', 1, 1);
    const before = fake.throttled;
    const d = deps();
    const result = await runImport({ source: 'grafana-oncall', mode: 'plan' }, d);
    expect(fake.throttled).toBe(before + 1);
    expect(d.client.rateLimited).toBe(1);
    expect(Object.keys(result.plan.rotations)).toHaveLength(2);
  });

  it('a refused token (401) or one without rights (403) is a clear error and writes nothing', async () => {
    const out = path.join(dir, 'imported.yaml');
    await expect(runImport({ source: 'grafana-oncall', mode: 'apply', out }, deps('wrong-token'))).rejects.toMatchObject({
      code: ErrorCode.Unauthorized,
      message: expect.stringContaining('Invalid token.'),
    });
    await expect(runImport({ source: 'grafana-oncall', mode: 'apply', out }, deps('grafana-read-only'))).rejects.toMatchObject({
      code: ErrorCode.Forbidden,
      message: expect.stringContaining('You do not have permission'),
    });
    expect(fs.existsSync(out)).toBe(false);
    expect(await redis.exists(createOverrideStore({ redis, prefix }).key)).toBe(0);
  });

  it('the command line refuses bad arguments and a missing token without touching anything', async () => {
    const env = { SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_API_URL: slackApiUrl, REDIS_PREFIX: prefix };
    const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await main(['grafana-oncall', '--url', fake.url], env)).toBe(2);
      expect(await main(['nagios', '--url', fake.url, '--plan'], env)).toBe(2);
      expect(await main(['grafana-oncall', '--url', fake.url, '--plan', '--map', 'dave@contractor.example=dave'], env)).toBe(2);
      expect(err.mock.calls.map((c) => String(c[0])).join('')).toContain('--map: expected <email>=<SlackUserId>');
      expect(await main(['grafana-oncall', '--url', fake.url, '--plan'], env)).toBe(1);
      expect(err.mock.calls.map((c) => String(c[0])).join('')).toContain('GRAFANA_ONCALL_TOKEN must be set');
    } finally {
      err.mockRestore();
    }
  });
});

describe('npm run import -- grafana-oncall (the command line, in process)', () => {
  it('--plan prints the plan and the fragment; --apply refuses without --map; --apply --map twice reports the file unchanged the second time', async () => {
    const out = path.join(dir, 'imported.yaml');
    const env = { GRAFANA_ONCALL_TOKEN: fake.token, SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_API_URL: slackApiUrl, REDIS_URL: process.env.REDIS_URL, REDIS_PREFIX: prefix };
    const printed: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      printed.push(String(chunk));
      return true;
    });
    try {
      expect(await main(['grafana-oncall', '--url', fake.url, '--plan'], env)).toBe(0);
      expect(printed.join('')).toContain('--plan: nothing was written');
      expect(printed.join('')).toContain('oncall.rotations.primary-on-call: alice → bob → dave');
      expect(fs.existsSync(out)).toBe(false);
      printed.length = 0;
      const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
      try {
        expect(await main(['grafana-oncall', '--url', fake.url, '--apply', '--out', out], env)).toBe(1);
        expect(err.mock.calls.map((c) => String(c[0])).join('')).toContain('E_VALIDATION_FAILED: --apply refused, nothing was written');
      } finally {
        err.mockRestore();
      }
      expect(fs.existsSync(out)).toBe(false);
      const map = ['--map', 'dave@contractor.example=U0DAVE'];
      expect(await main(['grafana-oncall', '--url', fake.url, '--apply', '--out', out, ...map], env)).toBe(0);
      expect(printed.join('')).toContain(`${out}: written`);
      printed.length = 0;
      expect(await main(['grafana-oncall', '--url', fake.url, '--apply', '--out', out, ...map], env)).toBe(0);
      expect(printed.join('')).toContain(`${out}: unchanged`);
    } finally {
      write.mockRestore();
    }
    // Real clock here: the fixture's override (spring 2026) is over, so it is counted, not stored.
    expect(loadOpsConfig(out).oncall.rotations.secondary?.members).toEqual(['bob', 'carol']);
  });
});

/** Email → the Slack mention of that person: the --map id, else Slack's answer by email. Every on-call person must have one. */
async function slackMentions(): Promise<Map<string, string>> {
  const lookup = createSlackEmailLookup(BOT_TOKEN, slackApiUrl);
  const map = new Map<string, string>();
  for (const u of fake.fixtures.users!) {
    const email = u.email as string;
    const id = (MAP as Record<string, string>)[email] ?? (await lookup(email))?.id;
    map.set(email, id ? `<@${id}>` : `(nobody in Slack: ${email})`);
  }
  return map;
}

/**
 * What Grafana OnCall pages for an alert at `at`, by its documented chain
 * semantics: steps in position order, `wait` adds its duration, a schedule step
 * asks the schedule (final_shifts) who is on call when the step runs,
 * `repeat_escalation` starts again from the top, at most 5 times.
 */
async function grafanaPages(chainId: string, at: Date): Promise<Array<[number, string]>> {
  const steps = fake.fixtures.escalation_policies!.filter((p) => p.escalation_chain_id === chainId).sort((a, b) => (a.position as number) - (b.position as number));
  const users = new Map(fake.fixtures.users!.map((u) => [u.id as string, u.email as string]));
  const pages: Array<[number, string]> = [];
  let t = 0;
  for (let round = 0; round <= 5; round++) {
    let repeats = false;
    for (const step of steps) {
      if (step.type === 'wait') t += step.duration as number;
      if (step.type === 'notify_persons') for (const id of step.persons_to_notify as string[]) pages.push([t, users.get(id)!]);
      if (step.type === 'notify_on_call_from_schedule') pages.push([t, await onCallAt(step.notify_on_call_from_schedule as string, new Date(at.getTime() + t * 1000))]);
      if (step.type === 'repeat_escalation') repeats = true;
    }
    if (!repeats) break;
  }
  return pages;
}

async function onCallAt(scheduleId: string, at: Date): Promise<string> {
  const day = (d: number) => new Date(at.getTime() + d * 86_400_000).toISOString().slice(0, 10);
  const res = await fetch(`${fake.url}/api/v1/schedules/${scheduleId}/final_shifts/?start_date=${day(-8)}&end_date=${day(1)}`, { headers: { Authorization: fake.token } });
  const body = (await res.json()) as { results: Array<{ user_email: string; shift_start: string; shift_end: string }> };
  const shift = body.results.find((s) => Date.parse(s.shift_start) <= at.getTime() && at.getTime() < Date.parse(s.shift_end));
  if (!shift) throw new Error(`Grafana says nobody is on call for ${scheduleId} at ${at.toISOString()}`);
  return shift.user_email;
}

/** What this product pages with the imported config: the policy's plan, each step's target resolved when it fires. */
async function ourPages(config: OpsConfig, overrides: Awaited<ReturnType<ReturnType<typeof createOverrideStore>['live']>>, policy: string, at: Date): Promise<string[]> {
  const steps = planEscalation({ priority: 'P1', openedAt: at, policy }, config);
  const out: string[] = [];
  for (const step of steps) {
    const target = await resolveTarget(step.notify, {
      config,
      now: step.dueAt,
      overrides,
      resolveUser: async (name) => config.rbac.users[name]?.slack_id,
      resolveUsergroup: async () => undefined,
    });
    out.push(`+${(step.dueAt.getTime() - at.getTime()) / 1000}s ${target.mention}`);
  }
  return out;
}
