import { CHAIN, createEscalationState, type EscalationStateStore } from '../../bot/escalation/state';
import { closeRedis, type Redis } from '../../lib/redis';
import { deletePrefix, testPrefix, testRedis } from '../helpers/redis';

/**
 * The escalation state's claim and done steps are safe to run twice. After a
 * Redis restart ioredis re-sends every command that got no reply, and Redis
 * may already have run (and persisted, with AOF) the first one; a retried job
 * repeats them too. Real Redis; the re-send is the same call made again.
 */
describe('escalation state: claim and done repeated (ioredis re-send, job retry)', () => {
  let redis: Redis;
  let prefix: string;
  let state: EscalationStateStore;
  const incidentKey = (id: string) => `${prefix}:incident:${id}`;
  const timelineKey = (id: string) => `${prefix}:incident:${id}:timeline`;

  beforeAll(() => {
    redis = testRedis();
    prefix = testPrefix('esc-resend');
    state = createEscalationState({ redis, prefix });
  });
  afterAll(async () => {
    await deletePrefix(redis, prefix);
    await closeRedis(redis);
  });

  /** A running chain in generation 1 and a triggered incident: a step may be claimed. */
  async function running(id: string): Promise<{ gen: number; status: string; incidentKey: string; incidentStates: string[] }> {
    await redis.hset(state.keys.state(id), 'gen', '1', 'status', 'running');
    await redis.hset(incidentKey(id), 'state', 'triggered');
    return { gen: 1, status: 'running', incidentKey: incidentKey(id), incidentStates: ['triggered'] };
  }

  it('a claim repeated with the same token is still ok; another token is busy', async () => {
    const expect1 = await running('INC-1');
    expect(await state.claim('INC-1', CHAIN, expect1, 'r0-s0', 'token-a', 60_000)).toBe('ok');
    expect(await state.claim('INC-1', CHAIN, expect1, 'r0-s0', 'token-a', 60_000)).toBe('ok');
    expect(await state.claim('INC-1', CHAIN, expect1, 'r0-s0', 'token-b', 60_000)).toBe('busy');
    // Released, another worker may claim it.
    await state.release('INC-1', 1, 'r0-s0', 'token-a');
    expect(await state.claim('INC-1', CHAIN, expect1, 'r0-s0', 'token-b', 60_000)).toBe('ok');
  });

  it('done twice appends one timeline entry; a claim afterwards, even with the same token, is done', async () => {
    const expect2 = await running('INC-2');
    expect(await state.claim('INC-2', CHAIN, expect2, 'r0-s1', 'token-a', 60_000)).toBe('ok');
    const timeline = { key: timelineKey('INC-2'), entry: { type: 'escalation_step', step: 'r0-s1', by: 'escalation' } };
    expect(await state.markDone('INC-2', 1, 'r0-s1', timeline)).toBe(true);
    expect(await state.markDone('INC-2', 1, 'r0-s1', timeline)).toBe(false);
    const entries = await redis.xrange(timelineKey('INC-2'), '-', '+');
    expect(entries.map(([, fields]) => fields)).toEqual([['type', 'escalation_step', 'step', 'r0-s1', 'by', 'escalation']]);
    expect(await state.claim('INC-2', CHAIN, expect2, 'r0-s1', 'token-a', 60_000)).toBe('done');
    expect(await state.firedSet('INC-2', 1, ['r0-s0', 'r0-s1'])).toEqual(new Set(['r0-s1']));
  });

  it('done without a timeline entry is idempotent too', async () => {
    await running('INC-3');
    expect(await state.markDone('INC-3', 1, 'sla')).toBe(true);
    expect(await state.markDone('INC-3', 1, 'sla')).toBe(false);
    expect(await redis.exists(timelineKey('INC-3'))).toBe(0);
  });
});
