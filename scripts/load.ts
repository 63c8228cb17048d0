/**
 * `npm run load -- <name>`: runs tests/load/<name>.yml (artillery) against the
 * MCP server's /mcp with a real JWT, on loopback only. With no server answering
 * at --target, starts a private one (and the backend simulators) from source on
 * free ports, and stops it after. Writes artillery's report and a summary
 * (p95, throughput, errors) to .tmp/load/, the summary also as last.json for
 * `npm run perf:regress -- --baseline <file>`.
 *
 *   npm run load -- weekly-load-test [--target http://127.0.0.1:3000]
 *   Uses JWT_SECRET, JWT_ISSUER, JWT_AUDIENCE from the environment or .tmp/local.env (npm start's).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from '../lib/http';
import { mintToken } from '../lib/jwt';
import { createMcpClient } from '../lib/mcp-client';
import { closeRedis, createRedis, redisAnswers } from '../lib/redis';
import { deleteKeysByPrefix } from '../bench/redis-cleanup';
import { summarise } from './perf-compare';

const ROOT = path.resolve(__dirname, '..');
const LOAD_DIR = path.join(ROOT, 'tests/load');
const OUT_DIR = path.join(ROOT, '.tmp/load');

function args(argv: string[]): { name: string; target?: string } {
  const name = argv.find((a) => !a.startsWith('--'));
  const t = argv.indexOf('--target');
  const tests = fs.readdirSync(LOAD_DIR).filter((f) => f.endsWith('.yml')).map((f) => f.replace(/\.yml$/, ''));
  if (!name || !tests.includes(name)) {
    console.error(`usage: npm run load -- <${tests.join('|')}> [--target http://127.0.0.1:3000]`);
    process.exit(2);
  }
  return { name, target: t >= 0 ? argv[t + 1] : undefined };
}

function loopbackOnly(url: string): void {
  const host = new URL(url).hostname;
  if (!['127.0.0.1', 'localhost', '[::1]', '::1'].includes(host)) {
    console.error(`load: refusing ${url}: load tests run against loopback only`);
    process.exit(2);
  }
}

function localEnv(): Record<string, string> {
  const file = path.join(ROOT, '.tmp/local.env');
  if (!fs.existsSync(file)) return {};
  return Object.fromEntries(
    fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(1000) })).status < 500;
  } catch {
    return false;
  }
}

async function waitFor(url: string, child: ChildProcess, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await answers(url))) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error(`${what} did not answer ${url} within 60 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A private server and simulators for the run; returns its URL, secret and a stop function. */
async function startPrivateServer(): Promise<{ url: string; env: Record<string, string>; stop: () => Promise<void> }> {
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  if (!(await redisAnswers(redisUrl))) throw new Error(`no Redis at ${redisUrl} for the private server (start one or set REDIS_URL)`);
  const [server, accounts, transactions] = [await freePort(), await freePort(), await freePort()];
  const prefix = `load-${process.pid}`;
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    REDIS_URL: redisUrl,
    REDIS_PREFIX: prefix,
    JWT_SECRET: crypto.randomBytes(32).toString('base64url'),
    JWT_ISSUER: 'mcp-financial-ops-load',
    JWT_AUDIENCE: 'mcp-financial-server',
    SERVER_PORT: String(server),
    ACCOUNT_SERVICE_PORT: String(accounts),
    TRANSACTION_SERVICE_PORT: String(transactions),
    ACCOUNT_SERVICE_URL: `http://127.0.0.1:${accounts}`,
    TRANSACTION_SERVICE_URL: `http://127.0.0.1:${transactions}`,
    SANDBOX_SLACK: 'off',
    SLACK_BOT_TOKEN: 'xoxb-load-unused',
    SLACK_SIGNING_SECRET: crypto.randomBytes(24).toString('base64url'),
    MAINTENANCE_STATUS_FILE: path.join(OUT_DIR, `${prefix}-status`),
  };
  const tsx = require.resolve('tsx/cli');
  const children = [spawn(process.execPath, [tsx, 'sandbox/main.ts'], { cwd: ROOT, env, stdio: 'inherit' })];
  await waitFor(`http://127.0.0.1:${accounts}/health`, children[0]!, 'backend simulators');
  children.push(spawn(process.execPath, [tsx, 'server/main.ts'], { cwd: ROOT, env, stdio: 'inherit' }));
  await waitFor(`http://127.0.0.1:${server}/health`, children[1]!, 'MCP server');
  const stop = async () => {
    for (const c of children.reverse()) {
      if (c.exitCode === null) {
        c.kill('SIGTERM');
        await new Promise((r) => c.once('exit', r));
      }
    }
    const redis = createRedis(redisUrl);
    await deleteKeysByPrefix(redis, prefix);
    await closeRedis(redis);
  };
  return { url: `http://127.0.0.1:${server}`, env, stop };
}

async function main(): Promise<void> {
  const { name, target } = args(process.argv.slice(2));
  fs.mkdirSync(OUT_DIR, { recursive: true });
  let base = target ?? 'http://127.0.0.1:3000';
  loopbackOnly(base);
  let secrets: Record<string, string | undefined> = { ...localEnv(), ...process.env };
  let stop: (() => Promise<void>) | undefined;
  if (!(await answers(`${base}/health`))) {
    if (target) throw new Error(`nothing answers at ${target}/health`);
    console.log('load: no server at 127.0.0.1:3000: starting a private one for this run');
    const priv = await startPrivateServer();
    ({ url: base, stop } = priv);
    secrets = priv.env;
  }
  try {
    if (!secrets.JWT_SECRET) throw new Error('JWT_SECRET is not set (nor in .tmp/local.env): the run needs the server secret to mint its token');
    const mint = { secret: secrets.JWT_SECRET, subject: 'load-test', scope: 'accounts:read transactions:read', issuer: secrets.JWT_ISSUER, audience: secrets.JWT_AUDIENCE, ttl: 3600 };
    const token = await mintToken(mint);
    const mcp = createMcpClient({ url: `${base}/mcp`, auth: { token } });
    const list = await mcp.callTool('list_accounts', { limit: 1 });
    if (list.isError) throw new Error(`list_accounts failed: ${list.text}`);
    const account = (list.structuredContent as { accounts: Array<{ id: string }> }).accounts[0]!.id;

    const report = path.join(OUT_DIR, `${name}.report.json`);
    const artillery = path.join(ROOT, 'node_modules/artillery/bin/run'); // the package exports no bin path
    const child = spawn(process.execPath, [artillery, 'run', '--output', report, path.join(LOAD_DIR, `${name}.yml`)], {
      cwd: ROOT,
      stdio: 'inherit',
      env: { ...process.env, MCP_LOAD_TARGET: base, MCP_LOAD_TOKEN: token, MCP_LOAD_ACCOUNT: account, ARTILLERY_DISABLE_TELEMETRY: 'true' },
    });
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    if (code !== 0) throw new Error(`artillery exited with ${code}`);
    const summary = { test: name, ...summarise(JSON.parse(fs.readFileSync(report, 'utf8'))) };
    const text = `${JSON.stringify(summary, null, 2)}\n`;
    fs.writeFileSync(path.join(OUT_DIR, `${name}.summary.json`), text);
    fs.writeFileSync(path.join(OUT_DIR, 'last.json'), text);
    console.log(
      `load ${name}: p95 ${summary.p95Ms} ms, ${summary.throughputRps.toFixed(1)} responses/s, ${summary.errors} errors of ${summary.requests} requests ` +
        `(summary: .tmp/load/${name}.summary.json, also .tmp/load/last.json)`,
    );
  } finally {
    await stop?.();
  }
}

main().catch((err: Error) => {
  console.error(`load: ${err.message}`);
  process.exit(1);
});
