import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { silentLogger } from '../../lib/logger';
import { createMetricsRegistry } from '../../lib/metrics';
import { parseOpsConfig, type OpsConfig } from '../../lib/ops-config';
import { createWorkersApp } from '../../workers/app';
import { loadWorkersEnv } from '../../workers/config';
import { startBackendSimulators, type RunningSimulators } from '../../sandbox/backends';
import { createBackends } from '../../server/backends';
import { loadServerEnv } from '../../server/config';
import { registerFinanceTools } from '../../server/tools/finance-tools';
import { startBotHarness, WEBHOOK_TOKEN, type BotHarness } from '../helpers/bot-harness';
import { startTestServer, TEST_SECRET, TEST_WORKER_KEYS, type TestServer } from './server-harness';

/**
 * The routine's real parts: backend simulators and the real MCP server over
 * them, the real bot against the sandbox Slack (its outbox, webhook, /ops and
 * buttons), and the real workers process (its routine queue, MCP client,
 * outbox producer), all on one Redis prefix, with the ops config a test gives.
 */
export interface RoutineHarness {
  sims: RunningSimulators;
  server: TestServer;
  bot: BotHarness;
  workers: ReturnType<typeof createWorkersApp>;
  workersUrl: string;
  /** Shifts the workers' clock (the morning after a checklist). */
  shift(ms: number): void;
  /** Another workers process on the same Redis prefix and config (a second replica); stopped by close(). */
  replica(): Promise<{ url: string }>;
  close(): Promise<void>;
}

export async function startRoutineHarness(opsYaml: string, env: Record<string, string> = {}): Promise<RoutineHarness> {
  const config: OpsConfig = parseOpsConfig(opsYaml, 'test ops config');
  const sims = await startBackendSimulators();
  const overrides = { ACCOUNT_SERVICE_URL: sims.accountUrl, TRANSACTION_SERVICE_URL: sims.transactionUrl };
  const registry = createMetricsRegistry({ service: 'mcp-financial-server' });
  const backends = createBackends(loadServerEnv({ JWT_SECRET: TEST_SECRET, ...overrides }), { registry, logger: silentLogger() });
  const server = await startTestServer(overrides, { backends, registry, registrars: [registerFinanceTools] });
  const bot = await startBotHarness({ deps: { opsConfig: config, escalation: false } });
  let offset = 0;
  const build = (port: string) => createWorkersApp(
    loadWorkersEnv({
      REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      REDIS_PREFIX: bot.prefix,
      MCP_SERVER_URL: server.mcpUrl,
      WORKERS_JWT_PRIVATE_KEY: TEST_WORKER_KEYS.privateKey,
      BOT_WEBHOOK_URL: `${bot.botUrl}/alertmanager/webhook`,
      ALERTMANAGER_WEBHOOK_TOKEN: WEBHOOK_TOKEN,
      LOG_LEVEL: 'silent',
      ...env,
      WORKERS_METRICS_PORT: port,
    }),
    { logger: silentLogger(), opsConfig: config, now: () => new Date(Date.now() + offset) },
  );
  const workers = build(env.WORKERS_METRICS_PORT ?? '0');
  const workersUrl = (await workers.start()).url;
  const replicas: Array<ReturnType<typeof createWorkersApp>> = [];
  return {
    sims,
    server,
    bot,
    workers,
    workersUrl,
    shift: (ms) => (offset = ms),
    async replica() {
      const r = build('0');
      replicas.push(r);
      return { url: (await r.start()).url };
    },
    async close() {
      for (const r of replicas) await r.stop();
      await workers.stop();
      await bot.close();
      await server.close();
      await backends.close();
      await sims.stop();
    },
  };
}

/** A self-signed certificate for `localhost` that expires in `days` days (openssl, as an operator would make one). */
export async function certificateExpiringIn(days: number): Promise<{ key: string; cert: string; dir: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'routine-tls-'));
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', String(days), '-subj', '/CN=localhost', '-keyout', key, '-out', cert], {
    timeout: 30_000,
  });
  return { key: fs.readFileSync(key, 'utf8'), cert: fs.readFileSync(cert, 'utf8'), dir };
}

/** A TLS server on port 0 presenting `cert`. */
export async function startTlsServer(pair: { key: string; cert: string }): Promise<{ port: number; close(): Promise<void> }> {
  const server = tls.createServer({ key: pair.key, cert: pair.cert }, (socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return { port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Sum of a counter in a Prometheus text exposition, over the series whose labels include `labels`. */
export async function scrapeCounter(url: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}
