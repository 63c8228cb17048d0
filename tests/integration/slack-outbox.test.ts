import { createSlackOutboxProducer } from '../../lib/slack-outbox';
import { eventually } from '../helpers/ports';
import { counter, createOutboxHarness, type OutboxHarness } from './slack-outbox-harness';

/**
 * The outbox against the sandbox Slack with Slack's default limits: order per
 * incident, coalesced edits, Retry-After honoured, P1 first. Every test waits
 * for the outbox to go idle and then reads Slack back as a person would.
 */
jest.setTimeout(60_000);

describe('slack outbox (real Redis, sandbox Slack with default limits, real WebClient)', () => {
  let h: OutboxHarness;
  let bot: ReturnType<OutboxHarness['replica']>;

  beforeAll(async () => {
    h = await createOutboxHarness();
    bot = h.replica();
    await bot.outbox.start();
  });
  afterAll(() => h.close());

  it('posts the root before its replies, the replies in order, one post a second in the channel', async () => {
    const id = await h.openIncident('outbox-1', 'P2');
    // Queued before the root exists: they wait behind it.
    void bot.notifier.sync(id);
    for (let i = 1; i <= 4; i += 1) await bot.notifier.postReply((await h.store.get(id))!, `reply ${i}`);
    expect(await bot.outbox.idle(20_000)).toBe(true);

    const incident = (await h.store.get(id))!;
    expect(incident.rootTs).toBeDefined();
    const thread = await h.sandbox.replies('outbox-1', incident.rootTs!);
    expect(thread[0]!.ts).toBe(incident.rootTs);
    expect(thread[0]!.text).toContain(`(${id},`);
    expect(thread.slice(1).map((m) => m.text)).toEqual(['reply 1', 'reply 2', 'reply 3', 'reply 4']);
    expect(h.meanGap(thread)).toBeGreaterThanOrEqual(0.9);
    expect((await h.sandbox.stats()).ratelimited).toEqual({});
  });

  it('a runbook result queued by a worker follows what the bot queued for the same incident', async () => {
    const id = await h.openIncident('outbox-2', 'P3');
    await bot.notifier.sync(id);
    const root = await eventually(async () => (await h.store.get(id))?.rootTs, 5000);
    const worker = createSlackOutboxProducer({ connection: h.redis, prefix: h.prefix });
    await bot.notifier.postReply((await h.store.get(id))!, 'from the bot');
    await worker.reply({ lane: id, channel: 'C0OUTBOX2', threadTs: root, text: 'from a worker' });
    await worker.close();
    expect(await bot.outbox.idle(15_000)).toBe(true);
    const replies = (await h.sandbox.replies('outbox-2', root)).slice(1).map((m) => m.text);
    expect(replies).toEqual(['from the bot', 'from a worker']);
  });

  it('coalesces a burst of changes into a few edits that end on the latest state', async () => {
    const id = await h.openIncident('outbox-3', 'P3');
    await bot.notifier.sync(id);
    await eventually(async () => (await h.store.get(id))?.rootTs, 5000);
    expect(await bot.outbox.idle(10_000)).toBe(true);
    const before = (await h.sandbox.stats()).calls['chat.update']?.byChannel.C0OUTBOX3 ?? 0;

    for (let i = 1; i <= 20; i += 1) {
      await h.addAlerts(id, [`fp-${i}`]);
      void bot.notifier.sync(id);
    }
    await bot.notifier.drain(15_000);

    const edits = ((await h.sandbox.stats()).calls['chat.update']?.byChannel.C0OUTBOX3 ?? 0) - before;
    expect(edits).toBeGreaterThanOrEqual(1);
    expect(edits).toBeLessThanOrEqual(4);
    const incident = (await h.store.get(id))!;
    expect(incident.firing).toBe(21);
    const root = (await h.sandbox.history('outbox-3')).find((m) => m.ts === incident.rootTs)!;
    expect(JSON.stringify(root.blocks)).toContain('21 firing');
  });

  it("honours a 429's Retry-After and still delivers, in order", async () => {
    // Another app shares the channel's allowance: 12 posts a minute, no burst, so our second post is refused.
    await fetch(`${h.url}/_sandbox/rate-limits`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ limits: { 'chat.postMessage': { perMinute: 12, burst: 1 } } }),
    });
    try {
      await bot.outbox.reply({ channel: 'C0OUTBOX4', text: 'first' });
      await bot.outbox.reply({ channel: 'C0OUTBOX4', text: 'second' });
      await bot.outbox.reply({ channel: 'C0OUTBOX4', text: 'third' });
      expect(await bot.outbox.idle(30_000)).toBe(true);
    } finally {
      await fetch(`${h.url}/_sandbox/rate-limits`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ limits: {} }) });
    }
    const texts = (await h.sandbox.history('outbox-4')).reverse().map((m) => m.text);
    expect(texts).toEqual(['first', 'second', 'third']);
    // Retry-After (~4 s) was waited out: each later post was refused once, not again at our 1 s pace.
    const refused = (await h.sandbox.stats()).ratelimited['chat.postMessage']?.byChannel.C0OUTBOX4 ?? 0;
    expect(refused).toBeGreaterThanOrEqual(1);
    expect(refused).toBeLessThanOrEqual(2);
    expect(await counter(bot.registry, 'slack_ratelimited_total', { method: 'chat.postMessage' })).toBe(refused);
    expect(await counter(bot.registry, 'slack_api_calls_total', { method: 'chat.postMessage', outcome: 'ratelimited' })).toBe(refused);
  });

  it('sends P1 work ahead of P3 work already queued in the channel', async () => {
    for (let i = 1; i <= 6; i += 1) await bot.outbox.reply({ lane: `p3-${i}`, channel: 'C0OUTBOX5', text: `P3 #${i}`, priority: 'P3' });
    await eventually(async () => (await h.sandbox.history('outbox-5')).length >= 1, 5000, 20);
    await bot.outbox.reply({ lane: 'p1', channel: 'C0OUTBOX5', text: 'P1 now', priority: 'P1' });
    expect(await bot.outbox.idle(20_000)).toBe(true);
    const texts = (await h.sandbox.history('outbox-5')).reverse().map((m) => m.text);
    expect(texts).toHaveLength(7);
    // At most the posts already under way when it arrived go before it; it jumps the rest.
    expect(texts.indexOf('P1 now')).toBeLessThanOrEqual(2);
    expect(texts.filter((t) => t.startsWith('P3')).map((t) => t.slice(3))).toEqual(['#1', '#2', '#3', '#4', '#5', '#6']);
  });

  it('exports its metrics: calls, lag, depth', async () => {
    await bot.outbox.idle(10_000);
    const text = await bot.registry.metrics();
    expect(text).toMatch(/slack_api_calls_total\{method="chat.postMessage",outcome="ok"\} \d+/);
    expect(text).toMatch(/slack_outbox_send_lag_seconds_count\{kind="reply"\} \d+/);
    expect(text).toMatch(/slack_outbox_depth 0/);
    await bot.outbox.reply({ channel: 'C0OUTBOX6', text: 'one' });
    await bot.outbox.reply({ channel: 'C0OUTBOX6', text: 'two' });
    await bot.outbox.reply({ channel: 'C0OUTBOX6', text: 'three' });
    expect(await bot.outbox.depth()).toBeGreaterThanOrEqual(1);
    expect(await bot.outbox.idle(10_000)).toBe(true);
    expect(await bot.outbox.depth()).toBe(0);
  });
});
