import { createLogger } from '../lib/logger';
import { runMain } from '../lib/main';
import { closeRedis, createRedis } from '../lib/redis';
import { enforceNoEviction } from '../lib/redis-eviction';
import { createWorkersApp } from './app';
import { loadWorkersEnv } from './config';

runMain('workers', async () => {
  const env = loadWorkersEnv();
  const logger = createLogger({ name: 'workers', level: env.LOG_LEVEL });
  // The workers open their connections in start(); this one only watches the eviction policy.
  const probe = createRedis(env.REDIS_URL);
  probe.on('error', () => undefined);
  const policy = await enforceNoEviction(probe, {
    onEvicting: (message) => {
      logger.fatal(message);
      process.exit(1);
    },
  }).catch(async (err: unknown) => {
    await closeRedis(probe);
    throw err;
  });
  if (policy === 'unchecked') logger.warn('Redis did not answer at start: maxmemory-policy is checked when it does');
  const workers = createWorkersApp(env, { logger });
  const http = await workers.start();
  logger.info({ metrics: `${http.url}/metrics`, mcp: env.MCP_SERVER_URL }, 'workers running');
  return async () => {
    await workers.stop();
    await closeRedis(probe);
  };
});
