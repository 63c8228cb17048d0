/**
 * `npm run start:sandbox`: the stand-ins for the outside world in local mode —
 * the Slack sandbox and the account/transaction service simulators.
 * SANDBOX_SLACK=off or SANDBOX_BACKENDS=off leaves one half out.
 */
import { createLogger } from '../lib/logger';
import { runMain } from '../lib/main';
import { startBackendSimulators } from './backends';
import { loadSandboxEnv } from './config';
import { createSlackSandbox } from './slack';

runMain('sandbox', async () => {
  const env = loadSandboxEnv();
  const logger = createLogger({ name: 'sandbox', level: env.LOG_LEVEL });
  const stops: Array<() => Promise<void>> = [];
  if (process.env.SANDBOX_SLACK !== 'off') {
    const slack = createSlackSandbox({
      botToken: env.SLACK_BOT_TOKEN,
      signingSecret: env.SLACK_SIGNING_SECRET,
      requestUrl: env.SLACK_REQUEST_URL,
      logger,
    });
    const { url } = await slack.start(env.SANDBOX_SLACK_PORT, env.HOST);
    logger.info({ url, api: `${url}/api/`, requestUrl: env.SLACK_REQUEST_URL }, 'slack sandbox running');
    stops.push(() => slack.stop());
  }
  if (process.env.SANDBOX_BACKENDS !== 'off') {
    const sims = await startBackendSimulators({
      accountPort: env.ACCOUNT_SERVICE_PORT,
      transactionPort: env.TRANSACTION_SERVICE_PORT,
      host: env.HOST,
      logger,
    });
    logger.info({ accounts: sims.accountUrl, transactions: sims.transactionUrl }, 'backend simulators running');
    stops.push(() => sims.stop());
  }
  return async () => {
    for (const stop of stops.reverse()) await stop();
  };
});
