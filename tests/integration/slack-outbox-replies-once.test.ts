import { Registry } from 'prom-client';
import { createIncidentNotifier } from '../../bot/incidents/incident-notifier';
import { createChannelResolver } from '../../bot/incidents/slack-channels';
import { createOutboxWebClient, createSlackOutbox } from '../../bot/slack-outbox';
import { silentLogger } from '../../lib/logger';
import { createSlackOutboxProducer } from '../../lib/slack-outbox';
import { eventually } from '../helpers/ports';
import { createOutboxHarness, TOKEN, type OutboxHarness } from './slack-outbox-harness';

/**
 * Replies are exactly-once as people see them: when Slack posts a reply but
 * the answer never arrives (the sandbox performs the call, then withholds the
 * answer past the client's timeout), the retry finds the reply by its metadata
 * in conversations.replies instead of posting a second copy.
 */
jest.setTimeout(60_000);

describe('slack outbox: a reply whose post timed out after landing is not sent again', () => {
  let h: OutboxHarness;
  let outbox: ReturnType<typeof createSlackOutbox>;
  let notifier: ReturnType<typeof createIncidentNotifier>;

  beforeAll(async () => {
    h = await createOutboxHarness({ retryBaseMs: 200 });
    // A client that gives up long before the sandbox's withheld answer would come.
    const client = createOutboxWebClient(TOKEN, h.apiUrl, 500);
    outbox = createSlackOutbox({ retryBaseMs: 200 }, { redis: h.redis, prefix: h.prefix, client, store: h.store, logger: silentLogger(), registry: new Registry() });
    notifier = createIncidentNotifier({ store: h.store, resolveChannel: createChannelResolver(client), channelFor: () => 'ops-alerts', logger: silentLogger(), outbox });
    await outbox.start();
  });
  afterAll(async () => {
    await h.sandbox.clearFaults();
    await outbox.close();
    await h.close();
  });

  const postCalls = async (channel: string) => (await h.sandbox.stats()).calls['chat.postMessage']?.byChannel[channel] ?? 0;

  it('an incident thread reply ("Acknowledged") appears once, after one lookup', async () => {
    const id = await h.openIncident('outbox-7', 'P2');
    await notifier.sync(id);
    const root = await eventually(async () => (await h.store.get(id))?.rootTs, 10_000);
    expect(await outbox.idle(10_000)).toBe(true);
    await h.sandbox.setFaults([{ method: 'chat.postMessage', count: 1, hangMs: 3000 }]);
    await notifier.postReply((await h.store.get(id))!, '👀 Acknowledged by bob. Escalation stopped.');
    await notifier.postReply((await h.store.get(id))!, 'the next reply');
    expect(await outbox.idle(20_000)).toBe(true);
    const replies = (await h.sandbox.replies('outbox-7', root)).slice(1).map((m) => m.text);
    expect(replies).toEqual(['👀 Acknowledged by bob. Escalation stopped.', 'the next reply']);
    const stats = await h.sandbox.stats();
    expect(stats.calls['conversations.replies']?.byChannel.C0OUTBOX7).toBeGreaterThanOrEqual(1);
    // Root, the reply that timed out, the next reply: no second copy was posted.
    expect(await postCalls('C0OUTBOX7')).toBe(3);
  });

  it('a plain channel message from a worker (runbook result) appears once', async () => {
    await h.sandbox.setFaults([{ method: 'chat.postMessage', count: 1, hangMs: 3000 }]);
    const producer = createSlackOutboxProducer({ connection: h.redis, prefix: h.prefix });
    await producer.reply({ channel: 'C0OUTBOX8', text: 'health check: ok' });
    await producer.close();
    await eventually(async () => ((await h.sandbox.stats()).calls['conversations.history']?.byChannel.C0OUTBOX8 ?? 0) >= 1 || undefined, 20_000);
    expect(await outbox.idle(20_000)).toBe(true);
    expect((await h.sandbox.history('outbox-8')).map((m) => m.text)).toEqual(['health check: ok']);
    expect(await postCalls('C0OUTBOX8')).toBe(1);
  });

  it('the sandbox returns metadata only to callers that ask for it, as Slack does', async () => {
    const web = createOutboxWebClient(TOKEN, h.apiUrl);
    const posted = await web.chat.postMessage({ channel: 'C0OUTBOX9', text: 'x', metadata: { event_type: 'probe', event_payload: { a: 1 } } });
    const plain = await web.conversations.history({ channel: 'C0OUTBOX9' });
    const full = await web.conversations.history({ channel: 'C0OUTBOX9', include_all_metadata: true });
    expect(plain.messages?.find((m) => m.ts === posted.ts)).not.toHaveProperty('metadata');
    expect(full.messages?.find((m) => m.ts === posted.ts)).toMatchObject({ metadata: { event_type: 'probe', event_payload: { a: 1 } } });
  });
});

describe('slack outbox: a digest-thread batch whose post timed out after landing is not sent again', () => {
  let h: OutboxHarness;
  let outbox: ReturnType<typeof createSlackOutbox>;
  let notifier: ReturnType<typeof createIncidentNotifier>;

  beforeAll(async () => {
    const config = { retryBaseMs: 200, stormThresholdPerMinute: 1, digestSize: 5 };
    h = await createOutboxHarness(config);
    const client = createOutboxWebClient(TOKEN, h.apiUrl, 500);
    outbox = createSlackOutbox(config, { redis: h.redis, prefix: h.prefix, client, store: h.store, logger: silentLogger(), registry: new Registry() });
    notifier = createIncidentNotifier({ store: h.store, resolveChannel: createChannelResolver(client), channelFor: () => 'ops-alerts', logger: silentLogger(), outbox });
    await outbox.start();
  });
  afterAll(async () => {
    await h.sandbox.clearFaults();
    await outbox.close();
    await h.close();
  });

  it('replies of digested incidents appear once each in the digest thread', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const id = await h.openIncident('outbox-10', 'P3');
      ids.push(id);
      await notifier.sync(id);
    }
    expect(await outbox.idle(20_000)).toBe(true);
    const [first, , last] = await Promise.all(ids.map(async (id) => (await h.store.get(id))!));
    // The first got a root of its own; the last is a line of the digest, whose thread is its thread.
    expect(last!.rootTs).toBeDefined();
    expect(last!.rootTs).not.toBe(first!.rootTs);
    const digestTs = last!.rootTs!;
    const digestedId = last!.id;
    await h.sandbox.setFaults([{ method: 'chat.postMessage', count: 1, hangMs: 3000 }]);
    await notifier.postReply((await h.store.get(digestedId))!, 'acknowledged A');
    await notifier.postReply((await h.store.get(digestedId))!, 'acknowledged B');
    expect(await outbox.idle(20_000)).toBe(true);
    const thread = (await h.sandbox.replies('outbox-10', digestTs)).slice(1).map((m) => m.text).join('\n');
    expect(thread.match(/acknowledged A/g)).toHaveLength(1);
    expect(thread.match(/acknowledged B/g)).toHaveLength(1);
  });
});
