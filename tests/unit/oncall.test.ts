import { ConfigError, ErrorCode } from '../../lib/errors';
import { loadOpsConfig, parseOpsConfig, type OnCallOverride } from '../../lib/ops-config';
import { applyOverride, computeOnCall, createOverride, resolveUserName, whoIsOnCall } from '../../bot/oncall/oncall';

// alice, bob; weekly from Monday 2025-01-06, hand-off 09:00 Europe/London.
const config = loadOpsConfig();
const iso = (d: Date) => d.toISOString();
const at = (s: string) => new Date(s);

// A third person who may be on call (in the default config carol is a viewer, who may not).
const RBAC_WITH_CAROL_RESPONDER =
  'rbac:\n  roles: { admin: { commands: ["*"], actions: ["*"] }, responder: { commands: [ack] }, viewer: { commands: [help] } }\n' +
  '  users: { alice: { role: admin, slack_id: U0ALICE }, bob: { role: responder, slack_id: U0BOB }, carol: { role: responder, slack_id: U0CAROL } }\n';

function rota(rotation: string, overrides = '[]') {
  return parseOpsConfig(`oncall:\n  rotation: ${rotation}\n  overrides: ${overrides}\n${RBAC_WITH_CAROL_RESPONDER}`);
}

describe('whoIsOnCall: the rotation', () => {
  it('starts with the first member at the hand-off, the next one as secondary', () => {
    const now = whoIsOnCall(at('2025-01-06T09:00:00Z'), config);
    expect(now).toEqual({
      primary: 'alice',
      secondary: 'bob',
      shiftStart: at('2025-01-06T09:00:00Z'),
      shiftEnd: at('2025-01-13T09:00:00Z'),
      next: { primary: 'bob', from: at('2025-01-13T09:00:00Z') },
    });
    expect(whoIsOnCall(at('2025-01-13T08:59:59Z'), config).primary).toBe('alice');
    expect(whoIsOnCall(at('2025-01-13T09:00:00Z'), config)).toMatchObject({ primary: 'bob', secondary: 'alice' });
  });

  it('extends backwards before the start', () => {
    expect(whoIsOnCall(at('2025-01-06T08:59:00Z'), config)).toMatchObject({
      primary: 'bob',
      shiftStart: at('2024-12-30T09:00:00Z'),
      shiftEnd: at('2025-01-06T09:00:00Z'),
    });
  });

  it('hands off at 09:00 local across the spring DST change (08:00Z in BST)', () => {
    // Week 11 (bob) runs from 24 March 09:00 GMT to 31 March 09:00 BST.
    const bob = whoIsOnCall(at('2025-03-30T12:00:00Z'), config);
    expect(bob).toMatchObject({ primary: 'bob', shiftStart: at('2025-03-24T09:00:00Z'), shiftEnd: at('2025-03-31T08:00:00Z') });
    // 08:30Z on the 31st is 09:30 BST: alice, although 7 × 24 h from the last hand-off is not over yet.
    expect(whoIsOnCall(at('2025-03-31T08:30:00Z'), config).primary).toBe('alice');
  });

  it('hands off at 09:00 local across the autumn change (09:00Z in GMT)', () => {
    const before = whoIsOnCall(at('2025-10-27T08:30:00Z'), config); // 08:30 GMT: the BST-started shift goes on
    const after = whoIsOnCall(at('2025-10-27T09:00:00Z'), config);
    expect(before.shiftStart).toEqual(at('2025-10-20T08:00:00Z'));
    expect(before.shiftEnd).toEqual(at('2025-10-27T09:00:00Z'));
    expect(after.primary).not.toBe(before.primary);
    expect(after.shiftStart).toEqual(at('2025-10-27T09:00:00Z'));
  });

  it('supports sub-day shifts and three members', () => {
    const c = rota('{ members: [alice, bob, carol], start: 2025-01-06, length: 12h, handoff: "08:00", timezone: UTC }');
    expect(whoIsOnCall(at('2025-01-06T08:00:00Z'), c)).toMatchObject({ primary: 'alice', secondary: 'bob', shiftEnd: at('2025-01-06T20:00:00Z') });
    expect(whoIsOnCall(at('2025-01-06T20:00:00Z'), c)).toMatchObject({ primary: 'bob', secondary: 'carol' });
    expect(whoIsOnCall(at('2025-01-07T08:00:00Z'), c)).toMatchObject({ primary: 'carol', secondary: 'alice', next: { primary: 'alice', from: at('2025-01-07T20:00:00Z') } });
  });

  it('puts a hand-off that falls in a DST gap just after the gap', () => {
    const c = rota('{ members: [alice, bob], start: 2025-03-01, length: 1d, handoff: "02:30", timezone: America/New_York }');
    // 2025-03-09 02:30 does not exist in New York: the hand-off is at 03:30 EDT (07:30Z).
    const night = whoIsOnCall(at('2025-03-09T07:00:00Z'), c);
    expect(night.shiftEnd).toEqual(at('2025-03-09T07:30:00Z'));
    expect(whoIsOnCall(at('2025-03-10T12:00:00Z'), c).shiftStart).toEqual(at('2025-03-10T06:30:00Z'));
  });

  it('keeps one member on call, with no secondary', () => {
    const c = rota('{ members: [alice], start: 2025-01-06, timezone: UTC }');
    expect(whoIsOnCall(at('2025-02-01T00:00:00Z'), c)).toMatchObject({
      primary: 'alice',
      secondary: undefined,
      shiftStart: at('2025-01-27T09:00:00Z'),
      shiftEnd: at('2025-02-03T09:00:00Z'),
      next: { primary: 'alice', from: at('2025-02-03T09:00:00Z') },
    });
  });

  it('rejects a start whose time of day is not the hand-off', () => {
    expect(() => rota('{ members: [alice], start: "2025-01-06T10:00:00", handoff: "09:00", timezone: UTC }')).toThrow(ConfigError);
    expect(() => rota('{ members: [alice], start: "2025-01-06T10:00:00", handoff: "09:00", timezone: UTC }')).toThrow('oncall.rotation.start');
    expect(whoIsOnCall(at('2025-01-06T09:00:00Z'), rota('{ members: [alice], start: "2025-01-06T09:00:00Z", handoff: "09:00", timezone: UTC }')).shiftStart).toEqual(at('2025-01-06T09:00:00Z'));
  });
});

describe('whoIsOnCall: overrides', () => {
  const carolCovers = rota(
    '{ members: [alice, bob], start: 2025-01-06, timezone: Europe/London }',
    '[ { user: carol, from: "2025-01-08T12:00:00Z", to: "2025-01-08T18:00:00Z", reason: dentist } ]',
  );

  it('an override takes the primary for its window, and shows in now/next', () => {
    expect(whoIsOnCall(at('2025-01-08T10:00:00Z'), carolCovers)).toMatchObject({
      primary: 'alice',
      shiftStart: at('2025-01-06T09:00:00Z'),
      shiftEnd: at('2025-01-08T12:00:00Z'),
      next: { primary: 'carol', from: at('2025-01-08T12:00:00Z') },
    });
    const during = whoIsOnCall(at('2025-01-08T13:00:00Z'), carolCovers);
    expect(during).toMatchObject({
      primary: 'carol',
      secondary: 'bob',
      shiftStart: at('2025-01-08T12:00:00Z'),
      shiftEnd: at('2025-01-08T18:00:00Z'),
      next: { primary: 'alice', from: at('2025-01-08T18:00:00Z') },
    });
    expect(during.override?.reason).toBe('dentist');
    expect(whoIsOnCall(at('2025-01-08T18:00:00Z'), carolCovers).primary).toBe('alice');
  });

  it('the secondary covering the primary swaps the two', () => {
    const o: OnCallOverride = { user: 'bob', from: '2025-01-07T00:00:00Z', to: '2025-01-07T06:00:00Z' };
    expect(whoIsOnCall(at('2025-01-07T01:00:00Z'), config, [o])).toMatchObject({ primary: 'bob', secondary: 'alice' });
  });

  it('cover that runs into the person’s own shift is one stretch', () => {
    const o: OnCallOverride = { user: 'bob', from: '2025-01-13T00:00:00Z', to: '2025-01-13T12:00:00Z' };
    expect(whoIsOnCall(at('2025-01-13T01:00:00Z'), config, [o])).toMatchObject({
      primary: 'bob',
      shiftStart: at('2025-01-13T00:00:00Z'),
      shiftEnd: at('2025-01-20T09:00:00Z'),
      next: { primary: 'alice', from: at('2025-01-20T09:00:00Z') },
    });
  });

  it('the newer of two overlapping overrides wins', () => {
    const older: OnCallOverride = { user: 'carol', from: '2025-01-07T00:00:00Z', to: '2025-01-08T00:00:00Z' };
    const newer: OnCallOverride = { user: 'bob', from: '2025-01-07T06:00:00Z', to: '2025-01-07T12:00:00Z' };
    expect(whoIsOnCall(at('2025-01-07T07:00:00Z'), config, [older, newer]).primary).toBe('bob');
    expect(whoIsOnCall(at('2025-01-07T13:00:00Z'), config, [older, newer])).toMatchObject({
      primary: 'carol',
      shiftStart: at('2025-01-07T12:00:00Z'),
      next: { primary: 'alice', from: at('2025-01-08T00:00:00Z') },
    });
  });

  it('reads an override without an offset in the rotation’s zone', () => {
    const c = rota('{ members: [alice, bob], start: 2025-01-06, timezone: America/New_York }', '[ { user: carol, from: "2025-07-01T09:00", to: "2025-07-01T17:00" } ]');
    expect(whoIsOnCall(at('2025-07-01T13:00:00Z'), c)).toMatchObject({ primary: 'carol', shiftStart: at('2025-07-01T13:00:00Z'), shiftEnd: at('2025-07-01T21:00:00Z') });
  });
});

describe('whoIsOnCall: the per-segment cache', () => {
  // A small deterministic generator, so a failure names times that can be replayed.
  function times(seed: number, count: number, fromMs: number, spanMs: number): number[] {
    let x = seed;
    return Array.from({ length: count }, () => {
      x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
      return fromMs + Math.floor((x / 2 ** 31) * spanMs);
    });
  }
  const cases: Array<[string, ReturnType<typeof rota>, OnCallOverride[]]> = [
    ['weekly, Europe/London (both DST changes)', config, []],
    ['daily across a New York DST gap', rota('{ members: [alice, bob], start: 2025-03-01, length: 1d, handoff: "02:30", timezone: America/New_York }'), []],
    ['12 h, three members, UTC', rota('{ members: [alice, bob, carol], start: 2025-01-06, length: 12h, handoff: "08:00", timezone: UTC }'), []],
    ['one member', rota('{ members: [alice], start: 2025-01-06, timezone: UTC }'), []],
    [
      'config and runtime overrides, overlapping',
      rota('{ members: [alice, bob], start: 2025-01-06, timezone: Europe/London }', '[ { user: carol, from: "2025-03-28T12:00:00Z", to: "2025-04-02T18:00:00Z" } ]'),
      [
        { user: 'bob', from: '2025-03-30T00:30:00Z', to: '2025-03-31T12:00:00Z' },
        { user: 'carol', from: '2025-03-31T06:00:00Z', to: '2025-04-07T09:00:00Z' },
      ],
    ],
  ];

  it.each(cases)('answers as the uncached computation does at any instant, in any order: %s', (_name, c, extra) => {
    const from = Date.parse('2025-03-20T00:00:00Z');
    const random = times(7, 80, from, 45 * 86_400_000);
    // The edges themselves and the instants either side of them, where a wrong segment would show.
    const edges = random.slice(0, 10).flatMap((t) => {
      const now = computeOnCall(new Date(t), c, extra);
      return [now.shiftStart, now.shiftEnd].flatMap((d) => [d.getTime() - 1, d.getTime(), d.getTime() + 1]);
    });
    for (const t of [...random, ...edges, ...random.slice().reverse()]) {
      expect({ t: iso(new Date(t)), ...whoIsOnCall(new Date(t), c, extra) }).toEqual({ t: iso(new Date(t)), ...computeOnCall(new Date(t), c, extra) });
    }
  });

  it('sees a new runtime override and a changed config at once, and a caller changing an answer changes nothing', () => {
    const t = at('2025-01-08T10:00:00Z');
    const before = whoIsOnCall(t, config);
    expect(before.primary).toBe('alice');
    before.shiftEnd.setTime(0);
    before.primary = 'mallory';
    expect(whoIsOnCall(t, config)).toEqual(computeOnCall(t, config));
    const cover: OnCallOverride = { user: 'bob', from: '2025-01-08T09:00:00Z', to: '2025-01-08T11:00:00Z' };
    expect(whoIsOnCall(t, config, [cover]).primary).toBe('bob');
    expect(whoIsOnCall(t, config).primary).toBe('alice');
    const changed = applyOverride(config, { user: 'bob', from: at('2025-01-08T09:30:00Z'), duration: '1h' }, at('2025-01-08T09:00:00Z')).config;
    expect(whoIsOnCall(t, changed).primary).toBe('bob');
  });
});

describe('createOverride / applyOverride', () => {
  const now = at('2025-01-08T10:00:00Z');

  it('covers from now for a duration', () => {
    expect(createOverride({ user: '@bob', duration: '2h', by: 'U0ALICE' }, config, now)).toEqual({
      user: 'bob',
      from: '2025-01-08T10:00:00.000Z',
      to: '2025-01-08T12:00:00.000Z',
      by: 'U0ALICE',
    });
    const withCarol = parseOpsConfig(RBAC_WITH_CAROL_RESPONDER);
    expect(createOverride({ user: 'carol', from: at('2025-01-09T00:00:00Z'), to: at('2025-01-10T00:00:00Z'), reason: 'swap' }, withCarol, now)).toMatchObject({ user: 'carol', reason: 'swap' });
  });

  it('refuses to put a viewer on call', () => {
    expect(() => createOverride({ user: 'carol', duration: '2h' }, config, now)).toThrow('carol is a viewer, who cannot acknowledge');
  });

  it('resolves Slack mentions by configured id only (the |name label is ignored), plain names by name', () => {
    const withIds = parseOpsConfig('rbac:\n  roles: { admin: { commands: ["*"] }, viewer: {} }\n  users: { alice: { role: admin, slack_id: U0ALICE }, carol: { role: viewer, slack_id: U0CAROL } }\n');
    expect(resolveUserName('<@U0ALICE>', withIds)).toBe('alice');
    expect(resolveUserName('<@U0ALICE|bob>', withIds)).toBe('alice');
    expect(resolveUserName('<@U0WHOEVER|carol>', withIds)).toBeUndefined();
    expect(resolveUserName('<@U0NOBODY>', withIds)).toBeUndefined();
    expect(resolveUserName('bob', withIds)).toBe('bob'); // a rotation member
  });

  it.each([
    ['an unknown user', { user: 'mallory', duration: '2h' }, 'unknown user "mallory"'],
    ['zero length', { user: 'bob', duration: '0m' }, 'longer than 0'],
    ['past the maximum', { user: 'bob', duration: '8d' }, 'at most 7d'],
    ['an end before the start', { user: 'bob', to: at('2025-01-08T09:00:00Z') }, 'longer than 0'],
    ['a window already over', { user: 'bob', from: at('2025-01-07T00:00:00Z'), duration: '1h' }, 'already be over'],
    ['both a duration and an end', { user: 'bob', duration: '1h', to: at('2025-01-08T12:00:00Z') }, 'not both'],
    ['neither', { user: 'bob' }, 'needs a duration'],
    ['a bad duration', { user: 'bob', duration: 'a while' }, 'invalid duration'],
  ])('rejects %s', (_what, request, message) => {
    let error: unknown;
    try {
      createOverride(request, config, now);
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ code: ErrorCode.ValidationFailed, message: expect.stringContaining(message) });
  });

  it('accepts exactly the maximum', () => {
    expect(createOverride({ user: 'bob', duration: '7d' }, config, now).to).toBe('2025-01-15T10:00:00.000Z');
  });

  it('returns a new config with the override, drops finished ones, and leaves the input alone', () => {
    const old: OnCallOverride = { user: 'carol', from: '2025-01-01T00:00:00Z', to: '2025-01-02T00:00:00Z' };
    const base = { ...config, oncall: { ...config.oncall, overrides: [old] } };
    const { config: next, override } = applyOverride(base, { user: 'bob', duration: '2h' }, now);
    expect(base.oncall.overrides).toEqual([old]);
    expect(next.oncall.overrides).toEqual([override]);
    expect(whoIsOnCall(at('2025-01-08T11:00:00Z'), next)).toMatchObject({ primary: 'bob', secondary: 'alice', next: { primary: 'alice', from: at('2025-01-08T12:00:00Z') } });
    expect(iso(whoIsOnCall(at('2025-01-08T11:00:00Z'), base).shiftStart)).toBe('2025-01-06T09:00:00.000Z');
  });
});
