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

  it('two replicas and a second pump together keep Slack\'s pace in a channel: no 429, each lane in order, nothing doubled', async () => {
    const a = h.replica();
    const b = h.replica();
    await a.outbox.start();
    await b.outbox.start();
    // Twelve posts, three lanes, each lane's posts queued alternately by both replicas. The sandbox enforces
    // Slack's chat.postMessage limit (a burst of 5, then one a second per channel): a pace kept per replica or
    // per pump (two a second) runs it dry after about five seconds and gets 429s; a shared pace never does,
    // however late a loaded machine sends each post.
    const lanes = ['lane-a', 'lane-b', 'lane-c'];
    const texts = (lane: string) => [1, 2, 3, 4].map((n) => `${lane} message ${n}`);
    for (let n = 0; n < 4; n += 1) {
      for (const [i, lane] of lanes.entries()) await ((n + i) % 2 ? a : b).outbox.reply({ lane, channel: 'C0OUTBOX1', text: texts(lane)[n]! });
    }
    // A second pump for the same channel (as after a stalled job): both replicas now drain the channel at once.
    const queue = new Queue(SLACK_OUTBOX_QUEUE, { connection: h.redis, prefix: h.prefix });
    await queue.add('pump', { channel: 'C0OUTBOX1' }, { jobId: pumpJobId('C0OUTBOX1', 'extra'), priority: 3, removeOnComplete: true });
    await queue.close();

    await eventually(async () => (await h.sandbox.history('outbox-1')).length >= 12, 40_000, 100);
    expect(await a.outbox.idle(5000)).toBe(true);
    expect((await h.sandbox.stats()).ratelimited).toEqual({});
    // Oldest first, by Slack's ts: each lane's posts in the order they were queued, each once.
    const messages = (await h.sandbox.history('outbox-1')).sort((x, y) => Number(x.ts) - Number(y.ts));
    expect(messages).toHaveLength(12);
    for (const lane of lanes) expect(messages.map((m) => m.text).filter((t) => t.startsWith(`${lane} `))).toEqual(texts(lane));
    const calls = (await counter(a.registry, 'slack_api_calls_total')) + (await counter(b.registry, 'slack_api_calls_total'));
    expect(calls).toBe(12); // each write sent once, by one replica or the other
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
