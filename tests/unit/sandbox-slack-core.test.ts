import { findAction, validateBlocks } from '../../sandbox/slack/block-kit';
import { decodeCursor, encodeCursor, tsMicros } from '../../sandbox/slack/pagination';
import { createRateLimiter, resolveRateLimits, SLACK_RATE_LIMITS } from '../../sandbox/slack/rate-limits';
import { createSlackState } from '../../sandbox/slack/state';

describe('sandbox slack ts clock', () => {
  it('hands out unique, strictly increasing "seconds.microseconds" strings', () => {
    const state = createSlackState();
    const ts = Array.from({ length: 2000 }, () => state.nextTs());
    expect(new Set(ts).size).toBe(ts.length);
    for (const t of ts) expect(t).toMatch(/^\d{10}\.\d{6}$/);
    for (let i = 1; i < ts.length; i++) expect(tsMicros(ts[i]!) > tsMicros(ts[i - 1]!)).toBe(true);
  });

  it('compares ts given with fewer decimals the way Slack does', () => {
    expect(tsMicros('1700000000')).toBe(1_700_000_000_000_000n);
    expect(tsMicros('1700000000.5')).toBe(1_700_000_000_500_000n);
    expect(tsMicros('1700000000.000001')).toBe(1_700_000_000_000_001n);
  });

  it('resolves channels by id, name and #name, and users by id or name', () => {
    const state = createSlackState();
    expect(state.resolveChannel('C0OPSCRIT', false)?.name).toBe('ops-critical');
    expect(state.resolveChannel('#ops-critical', true)?.id).toBe('C0OPSCRIT');
    expect(state.resolveChannel('ops-critical', false)).toBeUndefined();
    expect(state.resolveUser('alice')?.id).toBe('U0ALICE');
    expect(state.resolveUser('U0CAROL')?.name).toBe('carol');
  });

  it('gives seeded channels without ids a stable id', () => {
    const a = createSlackState({ channels: [{ name: 'team-x' }] });
    const b = createSlackState({ channels: [{ name: 'team-x' }] });
    expect([...a.channels.keys()]).toEqual([...b.channels.keys()]);
    expect([...a.channels.keys()][0]).toMatch(/^C0[A-Z0-9]{8}$/);
  });
});

describe('sandbox slack cursors', () => {
  it('round-trips and refuses cursors of another kind', () => {
    expect(decodeCursor(encodeCursor('next_ts', '1.000002'), 'next_ts')).toBe('1.000002');
    expect(decodeCursor(encodeCursor('next_id', 'C1'), 'next_ts')).toBeNull();
    expect(decodeCursor(undefined, 'next_ts')).toBeUndefined();
  });
});

describe('sandbox slack rate limiter', () => {
  it('allows the burst, then refuses with the seconds until a token is back', () => {
    let now = 1_000_000;
    const limiter = createRateLimiter({ m: { perMinute: 60, burst: 2, scope: 'method' } }, () => now);
    expect(limiter.check('m', undefined)).toEqual({ allowed: true });
    expect(limiter.check('m', undefined)).toEqual({ allowed: true });
    expect(limiter.check('m', undefined)).toEqual({ allowed: false, retryAfterSeconds: 1 });
    now += 1000;
    expect(limiter.check('m', undefined)).toEqual({ allowed: true });
    expect(limiter.check('unlisted', undefined)).toEqual({ allowed: true });
  });

  it('keeps one bucket per channel where the limit is per channel', () => {
    const now = 5;
    const limiter = createRateLimiter({ p: { perMinute: 1, burst: 1, scope: 'channel' } }, () => now);
    expect(limiter.check('p', 'C1').allowed).toBe(true);
    expect(limiter.check('p', 'C2').allowed).toBe(true);
    expect(limiter.check('p', 'C1')).toEqual({ allowed: false, retryAfterSeconds: 60 });
  });

  it('merges overrides over the defaults, and false means no limits', () => {
    const table = resolveRateLimits({ 'chat.update': { burst: 3 }, 'files.upload': { perMinute: 20 } });
    expect(table['chat.update']).toEqual({ ...SLACK_RATE_LIMITS['chat.update'], burst: 3 });
    expect(table['files.upload']).toEqual({ perMinute: 20, burst: 50, scope: 'method' });
    expect(resolveRateLimits(false)).toEqual({});
  });
});

describe('sandbox slack Block Kit checks', () => {
  const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });

  it('accepts blocks at the limits and refuses one past each', () => {
    expect(validateBlocks(Array.from({ length: 50 }, () => ({ type: 'divider' })))).toEqual({ ok: true });
    expect(validateBlocks(Array.from({ length: 51 }, () => ({ type: 'divider' })))).toMatchObject({ ok: false, error: 'invalid_blocks' });
    expect(validateBlocks([section('x'.repeat(3000))])).toEqual({ ok: true });
    expect(validateBlocks([section('x'.repeat(3001))])).toMatchObject({ ok: false });
    expect(validateBlocks([section('')])).toMatchObject({ ok: false });
  });

  it('refuses non-unique block_ids and a non-array', () => {
    expect(validateBlocks([{ type: 'divider', block_id: 'a' }, { type: 'divider', block_id: 'a' }])).toMatchObject({ ok: false });
    expect(validateBlocks({ type: 'divider' })).toMatchObject({ ok: false, error: 'invalid_blocks_format' });
  });

  it('refuses a bad button style and an unknown element', () => {
    const bad = { type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'x' }, style: 'green' }] };
    expect(validateBlocks([bad])).toMatchObject({ ok: false });
    expect(validateBlocks([{ type: 'actions', elements: [{ type: 'slider' }] }])).toMatchObject({ ok: false });
  });

  it('finds a clickable element by action_id in actions, accessories and inputs', () => {
    const blocks = [
      { type: 'section', block_id: 's', text: { type: 'mrkdwn', text: 'x' }, accessory: { type: 'button', action_id: 'acc', text: { type: 'plain_text', text: 'a' } } },
      { type: 'actions', block_id: 'act', elements: [{ type: 'button', action_id: 'b1', text: { type: 'plain_text', text: 'b' } }] },
    ];
    expect(findAction(blocks, 'acc')?.blockId).toBe('s');
    expect(findAction(blocks, 'b1')?.blockId).toBe('act');
    expect(findAction(blocks, 'missing')).toBeUndefined();
  });
});

describe('sandbox slack confirm dialogs', () => {
  const plain = (text: string) => ({ type: 'plain_text', text });
  const withConfirm = (confirm: unknown) => [{ type: 'actions', elements: [{ type: 'button', action_id: 'rb', text: plain('Rollback'), confirm }] }];

  it('accepts a well-formed confirm and refuses an oversized or incomplete one', () => {
    const good = { title: plain('Roll back?'), text: { type: 'mrkdwn', text: 'Roll back *payments*' }, confirm: plain('Yes'), deny: plain('No') };
    expect(validateBlocks(withConfirm(good))).toEqual({ ok: true });
    expect(validateBlocks(withConfirm({ ...good, title: plain('x'.repeat(101)) }))).toMatchObject({ ok: false });
    expect(validateBlocks(withConfirm({ ...good, confirm: plain('x'.repeat(31)) }))).toMatchObject({ ok: false });
    expect(validateBlocks(withConfirm({ title: plain('t') }))).toMatchObject({ ok: false });
  });
});
