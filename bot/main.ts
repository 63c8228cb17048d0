import { createLogger } from '../lib/logger';
import { createRedis, closeRedis } from '../lib/redis';
import { enforceNoEviction } from '../lib/redis-eviction';
import { runMain } from '../lib/main';
import { createBotApp } from './app';
import { loadBotEnv } from './config';

runMain('bot', async () => {
  const env = loadBotEnv();
  const logger = createLogger({ name: 'bot', level: env.LOG_LEVEL });
  const redis = createRedis(env.REDIS_URL);
  const policy = await enforceNoEviction(redis, {
    onEvicting: (message) => {
      logger.fatal(message);
      process.exit(1);
    },
  }).catch(async (err: unknown) => {
    await closeRedis(redis);
    throw err;
  });
  if (policy === 'unchecked') logger.warn('Redis did not answer at start: maxmemory-policy is checked when it does');
  const bot = createBotApp(env, { redis, logger });
  const http = await bot.start();
  logger.info({ url: http.url, webhook: `${http.url}/alertmanager/webhook`, events: `${http.url}/slack/events` }, 'bot listening');
  return async () => {
    await bot.stop();
    await closeRedis(redis);
  };
});
