import pino from 'pino';
import { createLogger } from '../lib/logger';
import { closeRedis, createRedis } from '../lib/redis';
import { enforceNoEviction } from '../lib/redis-eviction';
import { createMcpFinancialServer } from './app';
import { loadServerEnv } from './config';
import { createLogRing } from './ops/log-ring';

/** Entry point: the only place that reads process.env. */
async function main(): Promise<void> {
  const env = loadServerEnv();
  // Every line goes to stdout and into a ring that ops_collect_evidence packs.
  const logRing = createLogRing(env.LOG_RING_SIZE);
  const destination = pino.multistream([
    { stream: process.stdout, level: 'trace' },
    { stream: logRing, level: 'trace' },
  ]);
  const logger = createLogger({ name: 'mcp-financial-server', level: env.LOG_LEVEL, destination });
  const redis = createRedis(env.REDIS_URL);
  redis.on('error', (err) => logger.warn({ err: err.message }, 'redis error'));
  const policy = await enforceNoEviction(redis, {
    onEvicting: (message) => {
      logger.fatal(message);
      process.exit(1);
    },
  });
  if (policy === 'unchecked') logger.warn('Redis did not answer at start: maxmemory-policy is checked when it does');
  const server = createMcpFinancialServer(env, { redis, logger, logRing });
  const running = await server.start();
  logger.info({ url: `${running.url}/mcp`, health: `${running.url}/health`, metrics: `${running.url}/metrics` }, `MCP Financial Server listening on ${running.url}`);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    try {
      await server.stop();
      await closeRedis(redis);
      process.exit(0);
    } catch (err) {
      logger.error({ err }, 'unclean stop');
      process.exit(1);
    }
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((err: Error & { code?: string }) => {
  console.error(`mcp-financial-server: ${err.code ? `${err.code}: ` : ''}${err.message}`);
  process.exit(1);
});
