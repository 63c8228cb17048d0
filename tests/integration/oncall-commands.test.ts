import { handleOncall, handleOncallOverride, type OncallCommandContext } from '../../bot/commands/oncall';
import { overridesKey } from '../../bot/oncall/oncall-overrides';
import { whoIsOnCall } from '../../bot/oncall/oncall';
import { ErrorCode } from '../../lib/errors';
import { loadOpsConfig, parseOpsConfig } from '../../lib/ops-config';
import { closeRedis } from '../../lib/redis';
import { eventually } from '../helpers/ports';
import { deletePrefix, testPrefix, testRedis } from '../helpers/redis';
import { createEscalationHarness } from './escalation-harness';

// The default config (alice and bob weekly from Monday 2025-01-06, hand-off 09:00 Europe/London),
// with carol a responder: in the default she is a viewer, whom no override may put on call.
const config = parseOpsConfig(
  'rbac:\n  roles: { admin: { commands: ["*"], actions: ["*"] }, responder: { commands: [ack, oncall, "oncall override"] } }\n' +
    '  users: { alice: { role: admin, slack_id: U0ALICE }, bob: { role: responder, slack_id: U0BOB }, carol: { role: responder, slack_id: U0CAROL } }\n',
);
const WED = new Date('2025-01-08T12:00:00Z');

describe('/ops oncall and /ops oncall override (real Redis)', () => {
  const redis = testRedis();
  const prefix = testPrefix('oncall');
  const key = overridesKey(prefix);
  const ctx = (now: Date, userName = 'alice'): OncallCommandContext => ({
    userId: 'U0ALICE',
    userName,
    channelId: 'C0OPSCRIT',
    text: 'oncall',
    config,
    redis,
    prefix,
    now,
  });

  afterAll(async () => {
    await deletePrefix(redis, prefix);
    await closeRedis(redis);
  });

  it('says who is on call now and next, with the shift end times', async () => {
    const reply = await handleOncall(ctx(WED));
    expect(reply.response_type).toBe('ephemeral');
    expect(reply.text).toContain('• Primary: *alice* until <!date^1736758800^{date_short_pretty} {time}|Mon 13 Jan 09:00 GMT> (4d21h from now)');
    expect(reply.text).toContain('• Secondary: *bob*');
    expect(reply.text).toContain('*Next*: *bob* from <!date^1736758800^{date_short_pretty} {time}|Mon 13 Jan 09:00 GMT>');
    expect(reply.text).toContain('until <!date^1737363600^{date_short_pretty} {time}|Mon 20 Jan 09:00 GMT>');
    expect(reply.text).not.toContain('Overrides');
  });

  it('refuses a bad user or a bad duration with the reason, and stores nothing', async () => {
    const cases: Array<[string[] | string, RegExp]> = [
      [['@mallory', '2h'], /unknown user "@mallory"/],
      [['<@U0NOBODY>', '2h'], /unknown user/],
      [['@carol', 'forever'], /invalid duration "forever"/],
      [['@carol', '0m'], /longer than 0/],
      [['@carol', '8d'], /at most 7d/],
      [['@carol'], /who and for how long/],
      [['@dave', '1h'], /unknown user "@dave"/],
      ['', /who and for how long/],
    ];
    for (const [args, reason] of cases) {
      const reply = await handleOncallOverride(ctx(WED), args);
      expect(reply.response_type).toBe('ephemeral');
      expect(reply.text).toMatch(reason);
      expect(reply.text).toContain(ErrorCode.ValidationFailed);
      expect(reply.text).toContain('Usage: `/ops oncall override @user <duration> [reason]`');
    }
    expect(await redis.exists(key)).toBe(0);
  });

  it('refuses to put a viewer on call (default config: carol is a viewer) and stores nothing', async () => {
    const reply = await handleOncallOverride({ ...ctx(WED), config: loadOpsConfig() }, ['@carol', '1h']);
    expect(reply.text).toContain('carol is a viewer, who cannot acknowledge');
    expect(await redis.exists(key)).toBe(0);
  });

  it('stores an override in Redis (expiring), shows it in /ops oncall, and drops it when it is over', async () => {
    const reply = await handleOncallOverride(ctx(WED), '<@U0CAROL|carol> 2h covering the release');
    expect(reply.response_type).toBe('in_channel');
    expect(reply.text).toContain('<@U0CAROL|carol> is on call (primary) from now until <!date^1736344800^{date_short_pretty} {time}|Wed 8 Jan 14:00 GMT> (2h): covering the release. Set by <@U0ALICE>.');

    expect(await redis.zcard(key)).toBe(1);
    const ttl = await redis.pttl(key);
    expect(ttl).toBeGreaterThan(2 * 3_600_000 - 60_000);
    expect(ttl).toBeLessThanOrEqual(2 * 3_600_000);

    const during = await handleOncall(ctx(new Date('2025-01-08T13:00:00Z')));
    expect(during.text).toContain('• Primary: *carol* until <!date^1736344800^{date_short_pretty} {time}|Wed 8 Jan 14:00 GMT> (1h from now)');
    expect(during.text).toContain('• Covering by override: *carol*');
    expect(during.text).toContain('"covering the release", set by alice');
    expect(during.text).toContain('*Next*: *alice* from <!date^1736344800^');
    expect(whoIsOnCall(new Date('2025-01-08T13:00:00Z'), config).primary).toBe('alice'); // the config itself is unchanged

    const after = await handleOncall(ctx(new Date('2025-01-08T14:00:00Z')));
    expect(after.text).toContain('• Primary: *alice*');
    expect(after.text).not.toContain('carol');
    expect(await redis.zcard(key)).toBe(0);
  });

  it('a newer override wins where two overlap', async () => {
    await handleOncallOverride(ctx(WED), ['bob', '4h']);
    await handleOncallOverride(ctx(new Date(WED.getTime() + 60_000)), ['@carol', '1h']);
    expect((await handleOncall(ctx(new Date('2025-01-08T12:30:00Z')))).text).toContain('• Primary: *carol*');
    expect((await handleOncall(ctx(new Date('2025-01-08T13:30:00Z')))).text).toContain('• Primary: *bob*');
  });
});

describe('an override is who the escalation pages (engine + sandbox Slack)', () => {
  it('pages the override user instead of the rota primary', async () => {
    const h = await createEscalationHarness({ timeScale: 0.002 });
    try {
      const engine = h.engine();
      await engine.start();
      const now = new Date();
      const rota = whoIsOnCall(now, h.config).primary;
      const cover = rota === 'alice' ? 'bob' : 'alice';
      const reply = await handleOncallOverride(
        { userId: 'U0CAROL', userName: 'carol', channelId: 'C0OPSCRIT', text: '', config: h.config, redis: h.redis, prefix: h.prefix, now },
        [`@${cover}`, '1h'],
      );
      expect(reply.response_type).toBe('in_channel');
      const id = await h.openIncident('P1');
      await engine.opened(id);
      const first = await eventually(async () => (await h.escalations(id))[0], 10_000);
      const ids: Record<string, string> = { alice: 'U0ALICE', bob: 'U0BOB' };
      expect(first).toContain(`🔔 <@${ids[cover]}>: ${id} is not acknowledged. Escalation step 1 of 4`);
      expect(first).toContain(`notifying ${cover} (on-call primary)`);
      // The secondary is the one the override stands in for.
      const second = await eventually(async () => (await h.escalations(id))[1], 10_000);
      expect(second).toContain(`<@${ids[rota]}>`);
      await h.setState(id, 'resolved');
      await engine.resolved(id);
    } finally {
      await h.close();
    }
  });
});
