import { createLogger } from '../lib/logger';
import { runMain } from '../lib/main';
import { createWorkersApp } from './app';
import { loadWorkersEnv } from './config';

runMain('workers', async () => {
  const env = loadWorkersEnv();
  const logger = createLogger({ name: 'workers', level: env.LOG_LEVEL });
  const workers = createWorkersApp(env, { logger });
  const http = await workers.start();
  logger.info({ metrics: `${http.url}/metrics`, mcp: env.MCP_SERVER_URL }, 'workers running');
  return () => workers.stop();
});
