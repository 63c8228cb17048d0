import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import express from 'express';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';
import { listen } from '../lib/http';
import { silentLogger } from '../lib/logger';
import { closeRedis, createRedis } from '../lib/redis';
import { startBackendSimulators } from '../sandbox/backends';
import { createMcpFinancialServer } from '../server/app';
import { loadServerEnv } from '../server/config';
import { deleteKeysByPrefix } from './redis-cleanup';

/** What a role prints on stdout (one JSON line) once it listens. */
export interface RoleReady {
  role: string;
  urls: Record<string, string>;
}

function ready(role: string, urls: Record<string, string>): void {
  process.stdout.write(`${JSON.stringify({ role, urls } satisfies RoleReady)}\n`);
}

/** Stop when the parent says so (stdin closes) or dies: a bench never leaves a process behind. */
function stopOnParentExit(stop: () => Promise<void>): void {
  process.stdin.resume();
  process.stdin.on('end', () => void stop().finally(() => process.exit(0)));
  process.on('SIGTERM', () => void stop().finally(() => process.exit(0)));
}

export async function runSims(): Promise<void> {
  const sims = await startBackendSimulators({ accountPort: 0, transactionPort: 0, host: '127.0.0.1' });
  ready('sims', { account: sims.accountUrl, transaction: sims.transactionUrl });
  stopOnParentExit(() => sims.stop());
}

/** Our server, exactly as server/main.ts builds it, but on port 0, silent, with a throwaway Redis prefix. */
export async function runOurs(opts: { secret: string; accountUrl: string; transactionUrl: string; redisUrl: string }): Promise<void> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mfo-bench-'));
  const prefix = `bench-${randomUUID()}`;
  const env = loadServerEnv({
    JWT_SECRET: opts.secret,
    SERVER_PORT: '0',
    HOST: '127.0.0.1',
    REDIS_URL: opts.redisUrl,
    REDIS_PREFIX: prefix,
    MAINTENANCE_STATUS_FILE: path.join(dir, 'status'),
    BACKUP_DIR: path.join(dir, 'backups'),
    EVIDENCE_DIR: path.join(dir, 'evidence'),
    ACCOUNT_SERVICE_URL: opts.accountUrl,
    TRANSACTION_SERVICE_URL: opts.transactionUrl,
    LOG_LEVEL: 'silent',
  });
  const redis = createRedis(env.REDIS_URL);
  const server = createMcpFinancialServer(env, { redis, logger: silentLogger() });
  const running = await server.start();
  ready('ours', { mcp: `${running.url}/mcp`, metrics: `${running.url}/metrics` });
  stopOnParentExit(async () => {
    await server.stop();
    await deleteKeysByPrefix(redis, prefix);
    await closeRedis(redis);
    await fs.rm(dir, { recursive: true, force: true });
  });
}

/**
 * The baseline: the SDK's documented stateless pattern (a fresh McpServer and
 * transport per request, JSON responses) behind express.json, with one no-op
 * tool. No auth, no metrics, no backend.
 */
export async function runBare(): Promise<void> {
  const app = express();
  app.use(express.json({ limit: '1mb' }));
  const input = z.object({ accountId: z.string() });
  app.post('/mcp', async (req, res) => {
    const server = new McpServer({ name: 'bare', version: '0' });
    server.registerTool('noop', { description: 'does nothing', inputSchema: input }, async () => ({ content: [{ type: 'text', text: 'ok' }] }));
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body);
  });
  const running = await listen(app, 0, '127.0.0.1');
  ready('bare', { mcp: `${running.url}/mcp` });
  stopOnParentExit(() => running.close());
}
