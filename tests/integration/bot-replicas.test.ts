import { createBotApp, type BotApp } from '../../bot/app';
import { loadBotEnv } from '../../bot/config';
import { silentLogger } from '../../lib/logger';
import { firingFor } from '../helpers/fixtures';
import { startBotHarness, BOT_TOKEN, SIGNING_SECRET, WEBHOOK_TOKEN, type BotHarness } from '../helpers/bot-harness';
import { eventually, freePort } from '../helpers/ports';
import { TEST_REDIS_URL } from '../helpers/redis';

/**
 * Alertmanager HA peers deliver the same notification to two bot replicas at
 * the same moment: one incident, one thread, whatever the interleaving.
 */
describe('two bot replicas receiving the same notifications', () => {
  let h: BotHarness;
  let second: BotApp;
  let secondUrl: string;

  beforeAll(async () => {
    h = await startBotHarness();
    const env = loadBotEnv({
      REDIS_URL: TEST_REDIS_URL,
      REDIS_PREFIX: h.prefix,
      BOT_PORT: String(await freePort()),
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: `${h.slack.url()}/api/`,
      ALERTMANAGER_WEBHOOK_TOKEN: WEBHOOK_TOKEN,
    });
    second = createBotApp(env, { redis: h.redis, logger: silentLogger() });
    secondUrl = (await second.start()).url;
  });

  afterAll(async () => {
    await second.stop();
    await h.close();
  });

  const deliver = (url: string, body: unknown) =>
    fetch(`${url}/alertmanager/webhook`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${WEBHOOK_TOKEN}` },
      body: JSON.stringify(body),
    }).then(async (r) => ((await r.json()) as { incident: string }).incident);

  it('opens one incident and one root message for ten simultaneous deliveries across both', async () => {
    const body = firingFor('ReplicaRace', { severity: 'critical' });
    const ids = await Promise.all(Array.from({ length: 10 }, (_, i) => deliver(i % 2 ? secondUrl : h.botUrl, body)));
    expect(new Set(ids).size).toBe(1);
    const id = ids[0]!;
    await eventually(async () => (await h.sandbox.history('ops-critical')).find((m) => m.text.includes(`${id},`)));
    await h.bot.notifier.drain();
    await second.notifier.drain();
    const roots = (await h.sandbox.history('ops-critical')).filter((m) => m.text.includes('ReplicaRace'));
    expect(roots).toHaveLength(1);
    expect((await h.bot.store.timeline(id)).filter((e) => e.type === 'opened')).toHaveLength(1);
  });
});
