import { execFile } from 'node:child_process';
import { generateWorkerKeyPair } from '../../lib/worker-key';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { mintToken } from '../../lib/jwt';
import { silentLogger, type Logger } from '../../lib/logger';
import { closeRedis, createRedis, type Redis } from '../../lib/redis';
import { createMcpFinancialServer, type McpFinancialServerDeps } from '../../server/app';
import { loadServerEnv, type ServerEnv } from '../../server/config';
import { noBackends } from '../../server/mcp/no-backends';

export const TEST_SECRET = 'test-secret-0123456789abcdef';
/** The workers' Ed25519 pair every test server trusts (for the ops scopes only): workers under test sign with its private half. */
export const TEST_WORKER_KEYS = generateWorkerKeyPair();
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface TestServer {
  env: ServerEnv;
  server: ReturnType<typeof createMcpFinancialServer>;
  url: string;
  mcpUrl: string;
  redis: Redis;
  dir: string;
  token(scope: string, extra?: { sub?: string; ttl?: number; secret?: string; issuer?: string; audience?: string }): Promise<string>;
  client(token: string, headers?: Record<string, string>): Promise<Client>;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  close(): Promise<void>;
}

/**
 * A real server on port 0 with real Redis under a fresh prefix and a temp
 * dir for its files. Backends are none and finance tools off unless a test
 * passes its own, or asks for `production: true`: then the server builds its
 * backend layer from env (point ACCOUNT_SERVICE_URL / TRANSACTION_SERVICE_URL
 * at the simulators) and registers the finance tools, exactly as main.ts does.
 */
export async function startTestServer(
  envOverrides: Record<string, string> = {},
  deps: Partial<Omit<McpFinancialServerDeps, 'redis'>> & { logger?: Logger; production?: boolean } = {},
): Promise<TestServer> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mfo-server-'));
  const prefix = `test-${randomUUID()}`;
  const env = loadServerEnv({
    JWT_SECRET: TEST_SECRET,
    WORKERS_JWT_PUBLIC_KEY: TEST_WORKER_KEYS.publicKey,
    SERVER_PORT: '0',
    REDIS_URL,
    REDIS_PREFIX: prefix,
    MAINTENANCE_STATUS_FILE: path.join(dir, 'status'),
    BACKUP_DIR: path.join(dir, 'backups'),
    EVIDENCE_DIR: path.join(dir, 'evidence'),
    LOG_LEVEL: 'silent',
    ...envOverrides,
  });
  const redis = createRedis(env.REDIS_URL);
  const server = createMcpFinancialServer(env, {
    redis,
    logger: deps.logger ?? silentLogger(),
    backends: deps.production ? undefined : (deps.backends ?? noBackends()),
    registrars: deps.production ? undefined : (deps.registrars ?? []),
    registry: deps.registry,
    logRing: deps.logRing,
    docs: deps.docs,
    resourcePageSize: deps.resourcePageSize,
  });
  const running = await server.start();
  const clients: Client[] = [];
  return {
    env,
    server,
    url: running.url,
    mcpUrl: `${running.url}/mcp`,
    redis,
    dir,
    token: (scope, extra = {}) =>
      mintToken({
        secret: extra.secret ?? TEST_SECRET,
        subject: extra.sub ?? 'tester',
        scope,
        ttl: extra.ttl ?? 300,
        issuer: extra.issuer,
        audience: extra.audience,
      }),
    async client(token, headers = {}) {
      const transport = new StreamableHTTPClientTransport(new URL(`${running.url}/mcp`), {
        requestInit: { headers: { Authorization: `Bearer ${token}`, ...headers } },
      });
      const c = new Client({ name: 'server-test', version: '0.0.0' });
      await c.connect(transport);
      clients.push(c);
      return c;
    },
    async metric(name, labels = {}) {
      const text = await (await fetch(`${running.url}/metrics`)).text();
      return sumSeries(text, name, labels);
    },
    async close() {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      await server.stop();
      await deleteKeys(redis, `${prefix}:*`);
      await closeRedis(redis);
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

/** Sum of every series of `name` whose labels include `labels`. */
export function sumSeries(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const ok = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (ok) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

export async function deleteKeys(redis: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}

const ROOT = path.join(__dirname, '..', '..');

/** A token minted the operators' way: `npm run -s token -- --sub <sub> --scope "<scope>" --ttl <ttl>`. */
export async function npmToken(scope: string, options: { sub?: string; ttl?: string; secret?: string } = {}): Promise<string> {
  const { stdout } = await promisify(execFile)(
    'npm',
    ['run', '-s', 'token', '--', '--sub', options.sub ?? 'tester', '--scope', scope, '--ttl', options.ttl ?? '10m'],
    { cwd: ROOT, env: { ...process.env, JWT_SECRET: options.secret ?? TEST_SECRET }, timeout: 30_000 },
  );
  const token = stdout.trim();
  if (!/^[\w-]+\.[\w-]+\.[\w-]+$/.test(token)) throw new Error(`npm run token printed something else: ${stdout}`);
  return token;
}

/** Raw JSON-RPC POST to /mcp, for the refusals the SDK client hides. */
export async function postMcp(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: JSON.stringify(body),
  });
}

export const callBody = (name: string, args: Record<string, unknown> = {}) => ({
  jsonrpc: '2.0',
  id: 1,
  method: 'tools/call',
  params: { name, arguments: args },
});
