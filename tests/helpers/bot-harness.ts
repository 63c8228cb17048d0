import { createBotApp, type BotApp, type BotDeps } from '../../bot/app';
import { loadBotEnv } from '../../bot/config';
import { silentLogger } from '../../lib/logger';
import { closeRedis, type Redis } from '../../lib/redis';
import { createSandboxClient, createSlackSandbox, type SandboxClient, type SlackSandbox, type SlackSandboxConfig } from '../../sandbox/slack';
import type { AlertmanagerWebhook } from '../../bot/alerts/alertmanager-payload';
import { eventually, freePort } from './ports';
import { deletePrefix, testPrefix, testRedis, TEST_REDIS_URL } from './redis';

export const BOT_TOKEN = 'xoxb-test-bot-token';
export const SIGNING_SECRET = 'test-signing-secret-0123456789';
export const WEBHOOK_TOKEN = 'test-webhook-token-0123456789';

export interface BotHarness {
  redis: Redis;
  prefix: string;
  bot: BotApp;
  slack: SlackSandbox;
  sandbox: SandboxClient;
  botUrl: string;
  /** POSTs an Alertmanager body to the bot's webhook; resolves with the incident id. */
  alert(body: AlertmanagerWebhook): Promise<string>;
  /** Waits for the incident's root message in a channel. */
  root(channel: string, incidentId: string): Promise<{ ts: string; text: string; blocks?: unknown[] }>;
  close(): Promise<void>;
}

/** The real bot (Bolt, Redis, BullMQ) against the sandbox Slack, both on free ports. */
export async function startBotHarness(
  options: {
    env?: Record<string, string>;
    deps?: Partial<Omit<BotDeps, 'redis' | 'logger'>>;
    rateLimits?: false;
    /** Sandbox workspace seeds (users, user groups) instead of the defaults. */
    slack?: Pick<SlackSandboxConfig, 'users' | 'usergroups'>;
  } = {},
): Promise<BotHarness> {
  const redis = testRedis();
  const prefix = testPrefix('bot');
  const [slackPort, botPort] = [await freePort(), await freePort()];
  const slack = createSlackSandbox({
    botToken: BOT_TOKEN,
    signingSecret: SIGNING_SECRET,
    requestUrl: `http://127.0.0.1:${botPort}/slack/events`,
    ...(options.rateLimits === false ? { rateLimits: false } : {}),
    ...options.slack,
  });
  await slack.start(slackPort);
  const env = loadBotEnv({
    REDIS_URL: TEST_REDIS_URL,
    REDIS_PREFIX: prefix,
    BOT_PORT: String(botPort),
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: `http://127.0.0.1:${slackPort}/api/`,
    ALERTMANAGER_WEBHOOK_TOKEN: WEBHOOK_TOKEN,
    ...options.env,
  });
  const bot = createBotApp(env, { redis, logger: silentLogger(), ...options.deps });
  const botUrl = (await bot.start()).url;
  const sandbox = createSandboxClient(`http://127.0.0.1:${slackPort}`, { token: BOT_TOKEN });

  return {
    redis,
    prefix,
    bot,
    slack,
    sandbox,
    botUrl,
    async alert(body) {
      const res = await fetch(`${botUrl}/alertmanager/webhook`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${WEBHOOK_TOKEN}` },
        body: JSON.stringify(body),
      });
      if (res.status !== 200) throw new Error(`webhook answered ${res.status}: ${await res.text()}`);
      return ((await res.json()) as { incident: string }).incident;
    },
    root: (channel, incidentId) => eventually(async () => (await sandbox.history(channel)).find((m) => m.text.includes(`${incidentId},`))),
    async close() {
      await bot.stop();
      await slack.stop();
      await deletePrefix(redis, prefix);
      await closeRedis(redis);
    },
  };
}
