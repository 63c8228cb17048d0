import fc from 'fast-check';
import { startBotHarness, type BotHarness } from '../helpers/bot-harness';
import { hostileString, runs } from './fuzz';
import { snapshotPrefix } from './redis-snapshot';
import { foreign, parsedTexts } from './slack-checks';

/**
 * `/ops` with hostile texts (shell metacharacters, newlines, > 4,000 chars,
 * unicode, NULs) through the sandbox's signed slash command delivery to the
 * real bot. Always a 200 with a clear ephemeral reply that echoes nothing
 * Slack would parse; never a crash. Commands that must be refused (an unknown
 * verb, a verb on an incident that does not exist) change nothing in Redis;
 * one refused by RBAC (carol is a viewer) adds its audit entry and nothing else.
 */
jest.setTimeout(120_000);

/** The verbs the bot registers and the viewer's share of them (config/ops.example.yaml, the built-in config). */
const VERBS = ['help', 'incidents', 'status', 'ack', 'unack', 'resolve', 'snooze', 'unsnooze', 'reclassify', 'run', 'oncall', 'oncall override', 'note', 'postmortem', 'report', 'audit'];
const VIEWER = new Set(['help', 'incidents', 'oncall', 'status']);
/** Verbs that act on an incident named in their arguments; none exists in this bot, so they must refuse. */
const ON_INCIDENT = new Set(['status', 'ack', 'unack', 'resolve', 'snooze', 'unsnooze', 'reclassify', 'postmortem']);

const meta = fc.constantFrom('; rm -rf /', '| cat /etc/passwd', '&& reboot', '$(id)', '`id`', '> /tmp/x', '< /etc/passwd', '\n', '\r\n', '$HOME', '${IFS}', "' OR 1=1 --", '../../etc/passwd', '%00', '\u0000', '*', '&', '<!channel>', '<@U123>', 'INC-', 'INC-999999', 'INC-0', '-1', '1e309');
const word = fc.oneof(meta, hostileString(20), fc.stringMatching(/^[a-zA-Z0-9_-]{1,12}$/));
const longText = fc.integer({ min: 4001, max: 12_000 }).chain((n) => fc.constantFrom('a', '$(id) ', 'é', '\ud83d\ude00', '<!here>').map((unit) => unit.repeat(Math.ceil(n / unit.length))));

const commandText = fc
  .tuple(
    fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...VERBS).chain((v) => fc.constantFrom(v, v.toUpperCase(), ` ${v}`)) }, { weight: 1, arbitrary: word }),
    fc.array(word, { maxLength: 6 }),
    fc.option(longText, { nil: undefined, freq: 6 }),
    fc.constantFrom(' ', '  ', '\t', '\n'),
  )
  .map(([verb, args, long, sep]) => [verb, ...args, ...(long ? [long] : [])].join(sep));

const user = fc.constantFrom('alice', 'bob', 'carol');
const USER_IDS: Record<string, string> = { alice: 'U0ALICE', bob: 'U0BOB', carol: 'U0CAROL' };

/** Which verb the router will pick, as Slack's docs for /ops say: the longest run of leading words that names one. */
function verbOf(text: string): string | undefined {
  const words = text.trim().split(/\s+/).filter(Boolean).map((w) => w.toLowerCase());
  if (!words.length) return 'help';
  return [...VERBS].sort((a, b) => b.split(' ').length - a.split(' ').length).find((v) => v.split(' ').every((part, i) => words[i] === part));
}

describe('/ops with hostile text through signed slash command delivery', () => {
  let h: BotHarness;
  // BullMQ's own ticking key, and the replay guard's marker that every genuine request leaves (bot/slack-request-guard.ts).
  const housekeeping = (key: string) => key.endsWith(':stalled-check') || key.startsWith(`${h.prefix}:slack:seen:`);
  const snapshot = () => snapshotPrefix(h.redis, h.prefix, housekeeping);
  beforeAll(async () => {
    h = await startBotHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('always a clear ephemeral reply, never a crash; refused commands change nothing (an RBAC refusal only its audit entry)', async () => {
    const seen = { unknown: 0, rbac: 0, noIncident: 0, other: 0 };
    await fc.assert(
      fc.asyncProperty(user, commandText, async (who, text) => {
        const verb = verbOf(text);
        const kind = verb === undefined ? 'unknown' : who === 'carol' && !VIEWER.has(verb) ? 'rbac' : ON_INCIDENT.has(verb) ? 'noIncident' : 'other';
        seen[kind] += 1;
        const before = await snapshot();
        const res = await h.sandbox.command({ user: who, channel: 'ops-critical', command: '/ops', text });
        expect({ ok: res.ok, status: res.status, error: res.error }).toEqual({ ok: true, status: 200, error: undefined });
        const body = res.body as { response_type?: string; text?: string };
        expect(body.response_type).toBe('ephemeral');
        expect(typeof body.text).toBe('string');
        expect(body.text!.trim().length).toBeGreaterThan(0);
        for (const t of parsedTexts(body as Record<string, unknown>)) expect({ text: t.slice(0, 300), foreign: foreign(t) }).toEqual({ text: t.slice(0, 300), foreign: [] });
        if (kind === 'other') return;
        const after = await snapshot();
        if (kind === 'rbac') {
          expect(body.text).toMatch(/^You may not run/);
          const changed = Object.keys({ ...before, ...after }).filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]));
          expect(changed.every((k) => k.startsWith(`${h.prefix}:audit:ops`))).toBe(true);
          const last = await h.redis.xrevrange(`${h.prefix}:audit:ops`, '+', '-', 'COUNT', 1);
          expect(JSON.stringify(last)).toContain(USER_IDS[who]!);
        } else {
          expect(after).toEqual(before);
        }
      }),
      runs(250),
    );
    // Every class came up, so each branch above was checked.
    expect(Object.values(seen).every((n) => n > 5)).toBe(true);
    // And the bot still answers.
    expect((await fetch(`${h.botUrl}/health`)).status).toBe(200);
  });
});
