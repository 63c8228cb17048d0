import { createLogger } from '../lib/logger';
import { createRedis, closeRedis } from '../lib/redis';
import { runMain } from '../lib/main';
import { createBotApp } from './app';
import { loadBotEnv } from './config';

runMain('bot', async () => {
  const env = loadBotEnv();
  const logger = createLogger({ name: 'bot', level: env.LOG_LEVEL });
  const redis = createRedis(env.REDIS_URL);
  const bot = createBotApp(env, { redis, logger });
  const http = await bot.start();
  logger.info({ url: http.url, webhook: `${http.url}/alertmanager/webhook`, events: `${http.url}/slack/events` }, 'bot listening');
  return async () => {
    await bot.stop();
    await closeRedis(redis);
  };
});
