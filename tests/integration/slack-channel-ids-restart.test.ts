/**
 * A bot that restarts while Slack cannot list channels still knows where its
 * incidents go: channel ids learned from Slack are kept in Redis
 * (lib/slack-channel-directory.ts) and read from there first. Without that, the
 * new process would wait on conversations.list (the WebClient retries it for
 * many minutes) before anything of a new incident's Slack side is even queued.
 * Real bot processes' code (createBotApp) against the sandbox Slack, whose
 * conversations.list answers 500 for the second bot's first four calls.
 */
import { createBotApp } from '../../bot/app';
import { loadBotEnv } from '../../bot/config';
import { createChannelDirectory } from '../../lib/slack-channel-directory';
import { silentLogger } from '../../lib/logger';
import { BOT_TOKEN, SIGNING_SECRET, startBotHarness, WEBHOOK_TOKEN, type BotHarness } from '../helpers/bot-harness';
import { firingFor } from '../helpers/fixtures';
import { eventually, freePort } from '../helpers/ports';
import { TEST_REDIS_URL } from '../helpers/redis';

jest.setTimeout(60_000);

describe('channel ids across a bot restart while Slack cannot list channels', () => {
  let h: BotHarness;
  let second: ReturnType<typeof createBotApp> | undefined;

  beforeAll(async () => {
    h = await startBotHarness({ deps: { escalation: false } });
  });
  afterAll(async () => {
    await h.sandbox.clearFaults().catch(() => undefined);
    await second?.stop();
    await h?.close();
  });

  it('the first start publishes the ids; the restarted bot posts the root without waiting on conversations.list', async () => {
    const directory = createChannelDirectory(h.redis, h.prefix);
    const critical = await h.sandbox.findChannelId('ops-critical');
    await eventually(async () => (await directory.resolve('ops-critical')) === critical);

    await h.bot.stop();
    await h.sandbox.setAnswerFaults([{ status: 500, methods: ['conversations.list'], count: 4 }]);
    const port = await freePort();
    second = createBotApp(
      loadBotEnv({
        REDIS_URL: TEST_REDIS_URL,
        REDIS_PREFIX: h.prefix,
        BOT_PORT: String(port),
        SLACK_BOT_TOKEN: BOT_TOKEN,
        SLACK_SIGNING_SECRET: SIGNING_SECRET,
        SLACK_API_URL: `${h.slack.url()}/api/`,
        ALERTMANAGER_WEBHOOK_TOKEN: WEBHOOK_TOKEN,
      }),
      { redis: h.redis, logger: silentLogger(), escalation: false },
    );
    const { url } = await second.start();
    const res = await fetch(`${url}/alertmanager/webhook`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${WEBHOOK_TOKEN}` },
      body: JSON.stringify(firingFor('ChannelIdsRestart', { severity: 'critical' })),
    });
    expect(res.status).toBe(200);
    const { incident } = (await res.json()) as { incident: string };
    const root = await eventually(async () => (await h.sandbox.history('ops-critical')).find((m) => m.text.includes(`${incident},`)), 20_000, 100);
    expect(root).toBeDefined();

    // The root went out while conversations.list was still failing: the second bot asked Slack
    // (its start refreshes the ids) and was answered 500, and no listing had succeeded yet.
    const lists = await h.sandbox.calls('conversations.list');
    const post = (await h.sandbox.calls('chat.postMessage')).find((c) => c.channel === critical && c.status === 200);
    expect(post).toBeDefined();
    const faultedBefore = lists.filter((c) => c.faulted && c.at < post!.at);
    expect(faultedBefore.length).toBeGreaterThanOrEqual(1);
    const firstOkAfterFault = lists.find((c) => c.at > faultedBefore[0]!.at && !c.faulted && c.status === 200);
    if (firstOkAfterFault) expect(post!.at).toBeLessThan(firstOkAfterFault.at);
  });
});
