/**
 * `npm start`: the whole product on one machine with no configuration.
 * Finds (or starts) Redis, generates missing secrets, starts the sandbox, the
 * MCP server, the bot and the workers as child processes, waits until each
 * answers, prints what runs where, and stops everything on Ctrl-C.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findBinary, startAlertmanager, startPrometheus, type ToolProcess } from '../monitoring/processes';
import { renderMonitoring } from '../monitoring/render';
import { closeRedis, createRedis, redisAnswers, type Redis } from '../lib/redis';
import { createStackControl, type StackControl } from './drill/stack-control';
import { buildLocalEnv, envFor } from './local-env';
import { redisServerOnPath, startPrivateRedis, type PrivateRedis } from './private-redis';
import { createSupervisor, lastRelease, type Supervisor } from './supervisor';

interface Proc {
  name: string;
  entry: string;
  health: string;
  child?: ChildProcess;
  /** Set while the supervisor restarts it: its exit is expected then. */
  restarting?: boolean;
  /** Set while a drill holds it down through the control endpoint (scripts/drill/stack-control.ts). */
  held?: boolean;
  startedAt?: string;
}

/** The platform service name the process driver knows the MCP server by (ops config `platform.services`). */
const SERVER_SERVICE = 'mcp-server';

const root = path.resolve(__dirname, '..');
const tsxCli = require.resolve('tsx/cli');
const COLORS: Record<string, string> = { sandbox: '35', server: '36', bot: '33', workers: '32' };

function prefixLines(name: string, stream: NodeJS.ReadableStream, out: NodeJS.WriteStream): void {
  const tag = process.stdout.isTTY ? `\x1b[${COLORS[name] ?? '0'}m${name.padEnd(8)}\x1b[0m│ ` : `${name.padEnd(8)}│ `;
  let buf = '';
  stream.on('data', (chunk: Buffer) => {
    buf += chunk.toString();
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    for (const line of lines) out.write(`${tag}${line}\n`);
  });
}

async function waitHealthy(proc: Proc, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.child?.exitCode !== null && proc.child?.exitCode !== undefined) throw new Error(`${proc.name} exited with code ${proc.child.exitCode}`);
    try {
      const res = await fetch(proc.health, { signal: AbortSignal.timeout(1000) });
      if (res.status < 500) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${proc.name} did not answer ${proc.health} within ${timeoutMs / 1000}s`);
}

async function main(): Promise<void> {
  const stack = buildLocalEnv(process.env);
  const { env, ports } = stack;
  const host = env.HOST || '127.0.0.1';
  let privateRedis: PrivateRedis | undefined;

  if (!(await redisAnswers(env.REDIS_URL!, 1500))) {
    if (process.env.REDIS_URL || !redisServerOnPath()) {
      console.error(
        `npm start: no Redis answers at ${env.REDIS_URL}. Start one (redis-server --port 6379 --save "" --appendonly no), ` +
          `install it (apt-get install -y redis-server), or set REDIS_URL.`,
      );
      process.exit(1);
    }
    privateRedis = await startPrivateRedis();
    env.REDIS_URL = privateRedis.url;
  }

  // The release label the server runs (MCP_RELEASE): what the supervisor last switched it to, kept in Redis.
  const redis: Redis = createRedis(env.REDIS_URL!, { maxRetriesPerRequest: 3 });
  const prefix = env.REDIS_PREFIX || 'mfo';
  env.MCP_RELEASE = await lastRelease(redis, prefix, SERVER_SERVICE, env.MCP_RELEASE || `v${packageVersion()}`);
  let supervisor: Supervisor | undefined;
  let control: StackControl | undefined;

  const procs: Proc[] = [];
  if (stack.sandboxSlack || stack.sandboxBackends) {
    procs.push({ name: 'sandbox', entry: 'sandbox/main.ts', health: stack.sandboxSlack ? `http://${host}:${ports.slack}/_sandbox/stats` : `http://${host}:${ports.accounts}/health` });
  }
  procs.push(
    { name: 'server', entry: 'server/main.ts', health: `http://${host}:${ports.server}/health` },
    { name: 'bot', entry: 'bot/main.ts', health: `http://${host}:${ports.bot}/health` },
    { name: 'workers', entry: 'workers/main.ts', health: `http://${host}:${ports.workers}/health` },
  );
  // Real Prometheus and Alertmanager when their binaries are on PATH (MONITORING=off: never).
  const monitoringWanted = (process.env.MONITORING ?? 'on') !== 'off';
  const monitoringFound = Boolean(findBinary('prometheus') && findBinary('alertmanager', 'prometheus-alertmanager'));
  const monitoringOn = monitoringWanted && monitoringFound;
  const promUrl = `http://127.0.0.1:${ports.prometheus}`;
  const amUrl = `http://127.0.0.1:${ports.alertmanager}`;
  if (monitoringOn) {
    env.PROMETHEUS_URL ||= promUrl;
    env.ALERTMANAGER_URL ||= amUrl;
  }
  let monitoringDir: string | undefined;
  const tools: ToolProcess[] = [];
  env.SANDBOX_SLACK = stack.sandboxSlack ? 'on' : 'off';
  env.SANDBOX_BACKENDS = stack.sandboxBackends ? 'on' : 'off';

  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    await supervisor?.stop();
    await control?.close();
    for (const t of [...tools].reverse()) await t.stop();
    if (monitoringDir) fs.rmSync(monitoringDir, { recursive: true, force: true });
    for (const p of [...procs].reverse()) await stopChild(p);
    await closeRedis(redis);
    await privateRedis?.stop();
    console.log(code === 0 ? 'npm start: everything stopped.' : 'npm start: stopped after a failure.');
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  const spawnProc = (p: Proc) => {
    const child = spawn(process.execPath, [tsxCli, p.entry], { cwd: root, env: envFor(p.name, env), stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    p.child = child;
    p.startedAt = new Date().toISOString();
    prefixLines(p.name, child.stdout!, process.stdout);
    prefixLines(p.name, child.stderr!, process.stderr);
    child.once('exit', (code, signal) => {
      if (!stopping && !p.restarting && !p.held) {
        console.error(`npm start: ${p.name} exited unexpectedly (code ${code}, signal ${signal}); stopping the rest.`);
        void stopAll(1);
      }
    });
  };

  try {
    for (const p of procs) {
      spawnProc(p);
      await waitHealthy(p);
    }
    const server = procs.find((p) => p.name === 'server')!;
    supervisor = createSupervisor({
      redis,
      prefix,
      log: (line) => console.log(`npm start: ${line}`),
      service: {
        name: SERVER_SERVICE,
        readyUrl: `http://${host}:${ports.server}/health/ready`,
        state: () => ({ pid: server.held ? 0 : (server.child?.pid ?? 0), release: env.MCP_RELEASE!, startedAt: server.startedAt ?? '' }),
        restart: (release) => control!.serialize(async () => {
          const pidBefore = server.held ? 0 : (server.child?.pid ?? 0);
          server.restarting = true;
          try {
            await stopChild(server);
            env.MCP_RELEASE = release;
            spawnProc(server);
            await waitHealthy(server);
            server.held = false;
          } catch (err) {
            // The server did not come back: report it to the caller, then stop like any unexpected exit.
            setTimeout(() => void stopAll(1), 1000);
            throw err;
          } finally {
            server.restarting = false;
          }
          return { pidBefore, pidAfter: server.child?.pid ?? 0 };
        }),
      },
    });
    // Drills stop and start the server child for real through this (127.0.0.1 only, bearer STACK_CONTROL_TOKEN).
    control = createStackControl({
      token: env.STACK_CONTROL_TOKEN!,
      host: '127.0.0.1',
      port: ports.control,
      log: (line) => console.log(`npm start: ${line}`),
      server: {
        running: () => !server.held && server.child?.exitCode === null && server.child?.signalCode === null,
        pid: () => server.child?.pid ?? 0,
        startedAt: () => server.startedAt ?? '',
        async stop() {
          server.held = true;
          await stopChild(server);
          await supervisor?.publish().catch(() => undefined);
        },
        async start() {
          try {
            spawnProc(server);
            await waitHealthy(server);
            server.held = false;
            await supervisor?.publish().catch(() => undefined);
          } catch (err) {
            // Like the supervisor's restart: report it to the caller, then stop like any unexpected exit.
            setTimeout(() => void stopAll(1), 1000);
            throw err;
          }
        },
      },
    });
    env.STACK_CONTROL_URL = await control.listen();
    await supervisor.start();
    if (monitoringOn) {
      monitoringDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mfo-monitoring-'));
      // Short local intervals so a drill's fault alerts within seconds and resolves soon after it is cleared.
      const rendered = renderMonitoring({
        outDir: path.join(monitoringDir, 'config'),
        webhookToken: env.ALERTMANAGER_WEBHOOK_TOKEN!,
        botWebhookUrl: `http://${host}:${ports.bot}/alertmanager/webhook`,
        targets: {
          server: `${host}:${ports.server}`,
          bot: `${host}:${ports.bot}`,
          workers: `${host}:${ports.workers}`,
          accountService: `${host}:${ports.accounts}`,
          transactionService: `${host}:${ports.transactions}`,
        },
        alertmanagers: [`127.0.0.1:${ports.alertmanager}`],
        scrapeInterval: process.env.MONITORING_SCRAPE_INTERVAL || '2s',
        evaluationInterval: process.env.MONITORING_SCRAPE_INTERVAL || '2s',
        // Two evaluations, not one: absent(up) before Prometheus's first scrape, or one failed scrape of a
        // backend answering half its requests with errors, would otherwise open an incident.
        alertFor: process.env.MONITORING_ALERT_FOR || '4s',
        rangeWindow: process.env.MONITORING_RANGE_WINDOW || '20s',
        groupWait: '1s',
        groupInterval: '2s',
        repeatInterval: '1h',
        resolveTimeout: '1m',
        runbookBaseUrl: `http://${host}:${ports.bot}/`,
        // predict_linear over 20 s of a process that just started forecasts a leak every time.
        dropAlerts: ['MemoryExhaustionForecast'],
      });
      fs.mkdirSync(path.join(monitoringDir, 'alertmanager'));
      tools.push(await startAlertmanager({ configFile: rendered.alertmanagerConfig, dataDir: path.join(monitoringDir, 'alertmanager'), port: ports.alertmanager }));
      fs.mkdirSync(path.join(monitoringDir, 'prometheus'));
      tools.push(await startPrometheus({ configFile: rendered.prometheusConfig, dataDir: path.join(monitoringDir, 'prometheus'), port: ports.prometheus }));
    }
  } catch (err) {
    console.error(`npm start: ${(err as Error).message}`);
    await stopAll(1);
    return;
  }

  const envFile = stack.generated.length ? writeEnvFile(env, stack.generated) : undefined;
  const lines = [
    '',
    'MCP Financial Ops is running:',
    `  Redis                ${env.REDIS_URL}${privateRedis ? ' (private, no persistence, removed on exit)' : ''}`,
    ...(stack.sandboxSlack ? [`  Slack sandbox        http://${host}:${ports.slack}/  (Web API under /api/)`] : []),
    ...(stack.sandboxBackends
      ? [`  account-service      http://${host}:${ports.accounts}`, `  transaction-service  http://${host}:${ports.transactions}`]
      : []),
    `  MCP server           http://${host}:${ports.server}/mcp   (/health, /metrics; release ${env.MCP_RELEASE}, restart/deploy/rollback via the process platform driver)`,
    `  bot                  http://${host}:${ports.bot}   (/slack/events, /alertmanager/webhook, /metrics)`,
    `  workers metrics      http://${host}:${ports.workers}/metrics`,
    `  stack control        ${env.STACK_CONTROL_URL}   (drills stop/start the MCP server; bearer STACK_CONTROL_TOKEN; backups in ${env.BACKUP_DIR})`,
    ...(monitoringOn
      ? [`  Prometheus           ${promUrl}   (scrapes every 2 s, the guide's rules)`, `  Alertmanager         ${amUrl}   (webhook to the bot)`]
      : [
          monitoringWanted
            ? '  Prometheus/Alertmanager not on PATH: apt-get install -y prometheus prometheus-alertmanager; drills still work through direct webhooks'
            : '  Prometheus/Alertmanager off (MONITORING=off); drills still work through direct webhooks',
        ]),
    envFile ? `  generated for this run: ${stack.generated.join(', ')}; written to ${envFile} (mode 600): \`set -a; . ${envFile}\` before npm run token / health` : '',
    'Ctrl-C stops everything.',
    '',
  ];
  console.log(lines.filter((l) => l !== '').join('\n'));
}

/** Stops a child gracefully (SIGTERM), SIGKILL after 12 s. */
async function stopChild(p: Proc): Promise<void> {
  const child = p.child;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((r) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      r(undefined);
    }, 12_000);
    child.once('exit', () => {
      clearTimeout(t);
      r(undefined);
    });
  });
}

function packageVersion(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** Generated secrets go to a private file so `npm run token` and `npm run health` can use the same ones. */
function writeEnvFile(env: NodeJS.ProcessEnv, keys: string[]): string {
  const dir = path.join(root, '.tmp');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'local.env');
  const all = [...keys, 'JWT_ISSUER', 'JWT_AUDIENCE', 'REDIS_URL', 'REDIS_PREFIX', 'MCP_SERVER_URL', 'SLACK_API_URL', 'ACCOUNT_SERVICE_URL', 'TRANSACTION_SERVICE_URL', 'PROMETHEUS_URL', 'ALERTMANAGER_URL', 'BOT_WEBHOOK_URL', 'STACK_CONTROL_URL', 'BACKUP_DIR', 'BACKUP_PATHS', 'WORKERS_METRICS_PORT'];
  fs.writeFileSync(file, all.filter((k) => env[k]).map((k) => `${k}=${env[k]}`).join('\n') + '\n', { mode: 0o600 });
  return path.relative(process.cwd(), file) || file;
}

void main();
