import { Registry } from 'prom-client';
import { createIncidentNotifier } from '../../bot/incidents/incident-notifier';
import { createSlackOutbox, createOutboxWebClient } from '../../bot/slack-outbox';
import { createChannelResolver } from '../../bot/incidents/slack-channels';
import { silentLogger } from '../../lib/logger';
import { closeRedis, createRedis, type Redis } from '../../lib/redis';
import { createSlackOutboxProducer, ENQUEUE_MESSAGE_LUA } from '../../lib/slack-outbox';
import { redisScript } from '../../lib/redis-script';
import { SYNC_INCIDENT_LUA } from '../../bot/slack-outbox/scripts';
import { eventually } from '../helpers/ports';
import { TEST_REDIS_URL } from '../helpers/redis';
import { createOutboxHarness, TOKEN, type OutboxHarness } from './slack-outbox-harness';

/**
 * The outbox's enqueue is idempotent per message id. After a Redis restart
 * ioredis re-sends every command that got no reply, and Redis may have run
 * (and, with AOF, persisted) the first one: the same script with the same
 * arguments runs twice. A retried job passes the same stable id too. Either
 * way the reply reaches Slack once. The re-send is replayed here exactly: the
 * recorded EVALSHA (or EVAL, when Redis did not have the script yet) is sent
 * again with the same arguments.
 */
jest.setTimeout(60_000);

type EvalArgs = Parameters<Redis['eval']>;
type Sent = { method: 'eval' | 'evalsha'; args: EvalArgs };
/** The two scripts that queue a message (the incident sync and the plain enqueue), by SHA1 as EVALSHA names them. */
const ENQUEUE_SHAS = new Set([SYNC_INCIDENT_LUA, ENQUEUE_MESSAGE_LUA].map((lua) => redisScript(lua).sha));

describe('slack outbox: a repeated enqueue of one message id posts once', () => {
  let h: OutboxHarness;
  let bot: ReturnType<OutboxHarness['replica']>;
  /** A producer-side connection of the test's own, so its EVAL/EVALSHAs can be recorded and replayed. */
  let conn: Redis;
  let recorded: Sent[];

  beforeAll(async () => {
    h = await createOutboxHarness();
    bot = h.replica();
    await bot.outbox.start();
    conn = createRedis(TEST_REDIS_URL);
    recorded = [];
    for (const method of ['eval', 'evalsha'] as const) {
      const original = (conn[method] as (...args: EvalArgs) => Promise<unknown>).bind(conn);
      (conn as unknown as Record<typeof method, (...args: EvalArgs) => Promise<unknown>>)[method] = (...args: EvalArgs) => {
        recorded.push({ method, args });
        return original(...args);
      };
    }
  });
  afterAll(async () => {
    await closeRedis(conn);
    await h.close();
  });

  /** Sends the last recorded enqueue (a script that queues a message) again, as ioredis does after reconnecting. */
  async function resendLast(): Promise<void> {
    const enqueues = recorded.filter(({ method, args }) => (method === 'eval' ? String(args[0]).includes("'seen:'") : ENQUEUE_SHAS.has(String(args[0]))));
    const last = enqueues.pop();
    if (!last) throw new Error('no enqueue was recorded');
    await (conn[last.method] as (...args: EvalArgs) => Promise<unknown>)(...last.args);
  }

  function producerSide() {
    const outbox = createSlackOutbox({}, { redis: conn, prefix: h.prefix, client: createOutboxWebClient(TOKEN, h.apiUrl), store: h.store, logger: silentLogger(), registry: new Registry() });
    const notifier = createIncidentNotifier({ store: h.store, resolveChannel: createChannelResolver(bot.client), channelFor: () => 'ops-alerts', logger: silentLogger(), outbox });
    return { outbox, notifier };
  }

  async function repliesOf(id: string, channel: string): Promise<string[]> {
    const root = await eventually(async () => (await h.store.get(id))?.rootTs, 10_000);
    expect(await bot.outbox.idle(20_000)).toBe(true);
    return (await h.sandbox.replies(channel, root)).slice(1).map((m) => m.text);
  }

  it('an incident reply re-sent after a restart (same script, same random id) is queued once', async () => {
    const p = producerSide();
    const id = await h.openIncident('outbox-1', 'P2');
    await p.notifier.sync(id);
    await p.notifier.postReply((await h.store.get(id))!, 'only once');
    await resendLast();
    await p.notifier.postReply((await h.store.get(id))!, 'a second reply');
    await resendLast();
    await resendLast();
    expect(await repliesOf(id, 'outbox-1')).toEqual(['only once', 'a second reply']);
    await p.outbox.close();
  });

  it('a retried reply with the same dedupe id is posted once; other ids still post', async () => {
    const p = producerSide();
    const id = await h.openIncident('outbox-2', 'P3');
    await p.notifier.sync(id);
    const incident = (await h.store.get(id))!;
    const first = await p.notifier.postReply(incident, 'step 1', `${id}-g1-r0-s0`);
    const again = await p.notifier.postReply(incident, 'step 1', `${id}-g1-r0-s0`);
    expect(again).toBe(first);
    await p.notifier.postReply(incident, 'step 2', `${id}-g1-r0-s1`);
    // A new plan (generation) is a new message.
    await p.notifier.postReply(incident, 'step 1 of the new plan', `${id}-g2-r0-s0`);
    expect(await repliesOf(id, 'outbox-2')).toEqual(['step 1', 'step 2', 'step 1 of the new plan']);
    await p.outbox.close();
  });

  it("a worker's reply (lib producer) re-sent or retried with its id is queued once", async () => {
    const id = await h.openIncident('outbox-3', 'P3');
    await bot.notifier.sync(id);
    const root = await eventually(async () => (await h.store.get(id))?.rootTs, 10_000);
    const worker = createSlackOutboxProducer({ connection: conn, prefix: h.prefix });
    await worker.reply({ lane: id, channel: 'C0OUTBOX3', threadTs: root, text: 'runbook done' });
    await resendLast();
    await worker.reply({ lane: id, channel: 'C0OUTBOX3', threadTs: root, text: 'job 7 done', id: 'runbook-job-7' });
    await worker.reply({ lane: id, channel: 'C0OUTBOX3', threadTs: root, text: 'job 7 done', id: 'runbook-job-7' });
    await worker.close();
    expect(await repliesOf(id, 'outbox-3')).toEqual(['runbook done', 'job 7 done']);
  });
});
