import { Queue } from 'bullmq';
import { outboxKeys, pumpJobId, SLACK_OUTBOX_QUEUE } from '../../lib/slack-outbox';
import { eventually } from '../helpers/ports';
import { counter, createOutboxHarness, type OutboxHarness } from './slack-outbox-harness';

/**
 * Several bot replicas share one outbox in Redis: together they keep Slack's
 * per-channel pace, a restart loses no queued write, and a root message whose
 * sender died mid-post is never posted twice.
 */
jest.setTimeout(60_000);

describe('slack outbox across replicas and restarts', () => {
  let h: OutboxHarness;

  beforeEach(async () => {
    h = await createOutboxHarness();
  });
  afterEach(() => h.close());

  it('two replicas together post at most one message a second in a channel, with no 429', async () => {
    const a = h.replica();
    const b = h.replica();
    await a.outbox.start();
    await b.outbox.start();
    for (let i = 1; i <= 6; i += 1) await (i % 2 ? a : b).outbox.reply({ lane: `lane-${i}`, channel: 'C0OUTBOX1', text: `message ${i}` });
    // A second pump for the same channel (as after a stalled job): both replicas now drain the channel at once.
    const queue = new Queue(SLACK_OUTBOX_QUEUE, { connection: h.redis, prefix: h.prefix });
    await queue.add('pump', { channel: 'C0OUTBOX1' }, { jobId: pumpJobId('C0OUTBOX1', 'extra'), priority: 3, removeOnComplete: true });
    await queue.close();

    await eventually(async () => (await h.sandbox.history('outbox-1')).length === 6, 20_000, 50);
    expect(await a.outbox.idle(5000)).toBe(true);
    const messages = await h.sandbox.history('outbox-1');
    expect(messages.map((m) => m.text).sort()).toEqual(['message 1', 'message 2', 'message 3', 'message 4', 'message 5', 'message 6']);
    expect(h.minGap(messages)).toBeGreaterThanOrEqual(0.9);
    expect((await h.sandbox.stats()).ratelimited).toEqual({});
    const calls = (await counter(a.registry, 'slack_api_calls_total')) + (await counter(b.registry, 'slack_api_calls_total'));
    expect(calls).toBe(6); // each write sent once, by one replica or the other
  });

  it('keeps queued writes through a restart: the next process sends them, in order', async () => {
    const before = h.replica(); // never started: a bot that queued work and died before sending it
    const id = await h.openIncident('outbox-2', 'P1');
    await before.notifier.sync(id);
    await before.notifier.postReply((await h.store.get(id))!, 'queued before the restart');
    await before.outbox.reply({ channel: 'C0OUTBOX2', text: 'a plain message' });
    await before.outbox.close();
    await new Promise((r) => setTimeout(r, 300));
    expect(await h.sandbox.history('outbox-2')).toHaveLength(0);
    expect(await before.outbox.depth()).toBe(3);

    const after = h.replica();
    await after.outbox.start();
    expect(await after.outbox.idle(15_000)).toBe(true);
    const incident = (await h.store.get(id))!;
    expect(incident.rootTs).toBeDefined();
    const thread = await h.sandbox.replies('outbox-2', incident.rootTs!);
    expect(thread.map((m) => m.text)).toEqual([expect.stringContaining(`(${id},`), 'queued before the restart']);
    expect((await h.sandbox.history('outbox-2')).map((m) => m.text)).toContain('a plain message');
  });

  it('never posts a second root when a claimed post did reach Slack before its sender died', async () => {
    const keys = outboxKeys(h.prefix);
    const first = h.replica();
    const id = await h.openIncident('outbox-3', 'P2');
    await first.notifier.sync(id);
    await first.outbox.close();
    // What the dead sender did: claimed the root, posted it, and died before recording its ts.
    await h.redis.hset(keys.lane(id), 'claim', `dead@${Date.now()}`);
    const orphan = await first.client.chat.postMessage({
      channel: 'C0OUTBOX3',
      text: `[P2] ${id} (posted by the dead sender)`,
      metadata: { event_type: 'incident_root', event_payload: { incident_id: id } },
    });

    const next = h.replica();
    await next.outbox.start();
    await next.notifier.postReply((await h.store.get(id))!, 'after the restart');
    expect(await next.outbox.idle(15_000)).toBe(true);

    const roots = (await h.sandbox.history('outbox-3')).filter((m) => m.text.includes(id));
    expect(roots).toHaveLength(1);
    expect((await h.store.get(id))!.rootTs).toBe(orphan.ts);
    expect((await h.sandbox.replies('outbox-3', orphan.ts!)).map((m) => m.text)).toContain('after the restart');
  });

  it('posts the root when the claimed attempt died before reaching Slack', async () => {
    const keys = outboxKeys(h.prefix);
    const first = h.replica();
    const id = await h.openIncident('outbox-4', 'P2');
    await first.notifier.sync(id);
    await first.outbox.close();
    await h.redis.hset(keys.lane(id), 'claim', `dead@${Date.now()}`);

    const next = h.replica();
    await next.outbox.start();
    expect(await next.outbox.idle(15_000)).toBe(true);
    const roots = (await h.sandbox.history('outbox-4')).filter((m) => m.text.includes(id));
    expect(roots).toHaveLength(1);
    expect((await h.store.get(id))!.rootTs).toBe(roots[0]!.ts);
  });
});
