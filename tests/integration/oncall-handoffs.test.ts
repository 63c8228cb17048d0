/**
 * Handoffs: `/ops oncall` lists the next ones, and a message is posted to a
 * rotation's channel when a shift starts (once per shift). The real bot
 * against the sandbox Slack; a rotation of 2-second shifts stands in for days.
 */
import { handleOncall } from '../../bot/commands/oncall';
import { nextHandoffs } from '../../bot/oncall/handoffs';
import { whoIsOnCall } from '../../bot/oncall/oncall';
import { parseOpsConfig } from '../../lib/ops-config';
import { startBotHarness, type BotHarness } from '../helpers/bot-harness';
import { eventually } from '../helpers/ports';

const today = new Date().toISOString().slice(0, 10);
const config = parseOpsConfig(`
oncall:
  rotation:
    members: [alice, bob]
    start: 2025-01-06
    length: 1w
    handoff: "09:00"
    timezone: Europe/London
  rotations:
    fast:
      members: [alice, bob]
      start: ${today}
      length: 2s
      handoff: "00:00"
      timezone: UTC
      channel: ops-reports
`);

describe('handoffs', () => {
  let h: BotHarness;
  beforeAll(async () => {
    h = await startBotHarness({ deps: { opsConfig: config, escalation: false } });
  });
  afterAll(() => h.close());

  it('posts a handoff message to the rotation channel when a shift starts, naming who takes over from whom', async () => {
    const handoffs = await eventually(async () => {
      const msgs = (await h.sandbox.history('ops-reports')).filter((m) => m.text.includes('Handoff (fast)'));
      return msgs.length >= 2 ? msgs.reverse() : undefined;
    }, 15_000);
    const ids = { alice: '<@U0ALICE>', bob: '<@U0BOB>' };
    for (const m of handoffs.slice(0, 2)) {
      const match = /on call now, taking over from (<@U0[A-Z]+>)/.exec(m.text);
      const who = /\*Handoff \(fast\)\*: (<@U0[A-Z]+>)/.exec(m.text)?.[1];
      expect(match && who).toBeTruthy();
      // Two members: the one taking over and the one handing over are the two of them.
      expect(new Set([who, match![1]])).toEqual(new Set([ids.alice, ids.bob]));
    }
    // One message per shift: consecutive handoffs alternate.
    const firsts = handoffs.map((m) => /\*Handoff \(fast\)\*: (<@U0[A-Z]+>)/.exec(m.text)![1]);
    firsts.slice(1).forEach((w, i) => expect(w).not.toBe(firsts[i]));
  });

  it('/ops oncall lists the next handoffs and each named rotation', async () => {
    const at = new Date('2026-03-27T12:00:00Z');
    const reply = await handleOncall({ userId: 'U0ALICE', channelId: 'C0OPSCRIT', text: 'oncall', config, redis: h.redis, prefix: h.prefix, now: at });
    const expected = nextHandoffs(config, [], at, 3);
    expect(expected[0]!.user).toBe(whoIsOnCall(new Date('2026-03-30T08:00:00Z'), config).primary);
    expect(expected[1]!.user).not.toBe(expected[0]!.user);
    expect(expected[2]!.user).toBe(expected[0]!.user);
    // Weekly at 09:00 London: the 30 March handoff is after the clocks went forward (08:00 UTC).
    expect(expected[0]!.from.toISOString()).toBe('2026-03-30T08:00:00.000Z');
    expect(reply.text).toContain('*Next handoffs*');
    for (const x of expected) expect(reply.text).toContain(`<!date^${x.from.getTime() / 1000}^`);
    expect(reply.text).toMatch(/\*fast\*: \*(alice|bob)\* until/);
  });
});
