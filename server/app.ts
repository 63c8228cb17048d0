import express, { type NextFunction, type Request, type Response } from 'express';
import type { Redis } from 'ioredis';
import { listen, type RunningServer } from '../lib/http';
import { ConfigError } from '../lib/errors';
import type { Logger } from '../lib/logger';
import { SCOPES } from '../lib/scopes';
import { createMetricsRegistry, memoryLimitBytes, metricsHandler, type Registry } from '../lib/metrics';
import { createAuthFailureLog } from './auth/auth-failures';
import { createBearerAuth } from './auth/bearer-auth';
import { clientIp, trustProxySetting } from './auth/client-ip';
import { createJwtVerifier } from './auth/jwt-verifier';
import type { Backends } from './backends/types';
import type { ServerEnv } from './config';
import { createBackends } from './backends';
import { registerFinanceTools } from './tools/finance-tools';
import { createMcpHttpHandler, mcpMethodNotAllowed, trackMcpRequest } from './mcp/http-endpoint';
import { createClientLogLevels } from './mcp/client-log-levels';
import { createMcpServerFactory, type ToolRegistrar } from './mcp/mcp-server';
import { createOpsPrompts } from './prompts/ops-prompts';
import { createCompletions, registerCompletionHandler } from './resources/completions';
import { createDocsCatalog, type DocsCatalog } from './resources/docs-catalog';
import { createResourceCatalog, registerResourceHandlers } from './resources/resources';
import { createMcpServerPool } from './mcp/server-pool';
import { createTransportGuard, transportAllowlist, type TransportAllowlist } from './mcp/transport-guard';
import type { ToolContext } from './mcp/tool-context';
import { createServerMetrics } from './metrics';
import { createAuditLog } from './ops/audit';
import { pingRedis, type HealthDeps } from './ops/health';
import { createBackupStore } from './ops/backups';
import { createIpDenylist } from './ops/ip-denylist';
import type { LogRing } from './ops/log-ring';
import { parseRangeList } from './ops/ip-range';
import { createMaintenanceStore } from './ops/maintenance';
import { createOpsTools } from './ops/ops-tools';
import { SERVER_VERSION } from './version';

export interface McpFinancialServerDeps {
  redis: Redis;
  logger: Logger;
  /** Per-process registry; one is created when absent. */
  registry?: Registry;
  /** Backend layer; built from env when absent (and then closed by stop()). */
  backends?: Backends;
  /** Tool registrars besides the ops tools. @defaultValue [registerFinanceTools] */
  registrars?: ToolRegistrar[];
  /** Recent log lines for ops_collect_evidence (main.ts tees the logger into it). */
  logRing?: LogRing;
  /** The operations guide and runbooks served as resources. @defaultValue createDocsCatalog() (docs/, runbooks/) */
  docs?: DocsCatalog;
  /** Items per resources/list page. @defaultValue 50 */
  resourcePageSize?: number;
}

/** Every scope a token for this server can carry (advertised in the RFC 9728 metadata). */
export const SCOPES_SUPPORTED: readonly string[] = SCOPES;

/** How long /health/ready asks clients to wait in maintenance or without Redis. */
const RETRY_AFTER_SECONDS = 30;

/**
 * The MCP Financial Server, unstarted: an Express app with /mcp (stateless
 * Streamable HTTP behind JWT bearer auth), /health, /health/ready, /metrics and
 * the RFC 9728 protected-resource metadata.
 */
export function createMcpFinancialServer(env: ServerEnv, deps: McpFinancialServerDeps) {
  const startedAt = Date.now();
  const { redis, logger } = deps;
  const registry = deps.registry ?? createMetricsRegistry({ service: 'mcp-financial-server' });
  const ownsBackends = !deps.backends;
  const backends = deps.backends ?? createBackends(env, { registry, logger });
  const registrars = deps.registrars ?? [registerFinanceTools];

  const metrics = createServerMetrics(registry, { breakers: () => backends.breakers() });
  const maintenance = createMaintenanceStore({ statusFile: env.MAINTENANCE_STATUS_FILE });
  const failures = createAuthFailureLog({ redis, prefix: env.REDIS_PREFIX, metrics, logger });
  const audit = createAuditLog({ redis, prefix: env.REDIS_PREFIX });
  const denylist = createIpDenylist({
    redis,
    prefix: env.REDIS_PREFIX,
    logger,
    policy: { allowlist: allowlistOf(env), maxPrefixV4: env.IP_BLOCK_MAX_PREFIX, maxPrefixV6: env.IP_BLOCK_MAX_PREFIX_V6 },
  });
  const logLevels = createClientLogLevels({ redis, prefix: env.REDIS_PREFIX });
  const ctx: ToolContext = { backends, maintenance, metrics, logger, logLevels };
  const healthDeps: HealthDeps = {
    version: SERVER_VERSION,
    startedAt,
    maintenance,
    backends,
    redis,
    memoryLimitBytes: memoryLimitBytes('/sys/fs/cgroup'),
    blockedIpCount: () => denylist.count(),
  };
  const backups = createBackupStore({
    paths: listOf(env.BACKUP_PATHS),
    kindPaths: { logs: listOf(env.BACKUP_LOGS_PATHS), metrics: listOf(env.BACKUP_METRICS_PATHS), state: listOf(env.BACKUP_STATE_PATHS) },
    dir: env.BACKUP_DIR,
  });
  const opsTools = createOpsTools({
    health: healthDeps,
    maintenance,
    audit,
    backends,
    denylist,
    backups,
    failures,
    registry,
    evidenceDir: env.EVIDENCE_DIR,
    logRing: deps.logRing,
    logger,
  });
  const docs = deps.docs ?? createDocsCatalog();
  const resources = createResourceCatalog(ctx, docs, { pageSize: deps.resourcePageSize });
  const complete = createCompletions(ctx, docs);
  const bindPrompts = createOpsPrompts({ ctx, docs, health: healthDeps });
  const createServer = createMcpServerFactory({
    name: 'mcp-financial-server',
    version: SERVER_VERSION,
    ctx,
    tools: opsTools,
    registrars,
    capabilities: { resources: {}, prompts: {}, completions: {} },
    binders: [(server) => registerResourceHandlers(server, resources), bindPrompts, (server) => registerCompletionHandler(server, complete)],
    logLevels,
  });
  // Build one at start: duplicate tool names fail here, and the scope index is ready for the first request.
  void createServer().close();
  // Filled by requests, so every pooled server is built after start() cached the tool list.
  const servers = createMcpServerPool(createServer);

  const verifier = createJwtVerifier({
    secret: env.JWT_SECRET,
    jwksUrl: env.JWT_JWKS_URL,
    workers: env.WORKERS_JWT_PUBLIC_KEY ? { publicKey: env.WORKERS_JWT_PUBLIC_KEY, scopes: env.WORKERS_JWT_SCOPES } : undefined,
    issuer: env.JWT_ISSUER,
    audience: env.JWT_AUDIENCE,
    maxLifetimeSec: env.JWT_MAX_TOKEN_LIFETIME,
  });
  const resourceUrl = (req: Request) => env.MCP_RESOURCE_URL ?? `${req.protocol}://${req.get('host')}/mcp`;
  const resourceMetadataUrl = (req: Request) => {
    const u = new URL(resourceUrl(req));
    return `${u.origin}/.well-known/oauth-protected-resource${u.pathname === '/' ? '' : u.pathname}`;
  };

  const allowlistFor = (port: number): TransportAllowlist =>
    transportAllowlist({
      bindHost: env.HOST,
      port,
      allowedHosts: listOf(env.MCP_ALLOWED_HOSTS),
      allowedOrigins: listOf(env.MCP_ALLOWED_ORIGINS),
      resourceUrl: env.MCP_RESOURCE_URL,
    });
  // Recomputed by start() once the real port is known (SERVER_PORT=0 in tests).
  let allowlist = allowlistFor(env.SERVER_PORT);
  const transportGuard = createTransportGuard(
    { rejections: metrics.transportRejections, onMcpRefusal: () => metrics.requests.inc({ tool: 'none', status: '403' }) },
    () => allowlist,
  );
  const mcpGuard = transportGuard({ checkHost: true });

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', trustProxySetting(env.TRUST_PROXY));
  // First of all: a blocked address gets 403 before auth, health or anything else.
  app.use((req, res, next) => {
    if (!denylist.isBlocked(clientIp(req))) return next();
    if (req.path === '/mcp') metrics.requests.inc({ tool: 'none', status: '403' });
    res.status(403).json({ error: 'forbidden', error_description: 'your address is blocked' });
  });
  // A foreign Origin is refused everywhere; Host is checked on the MCP surface
  // (/mcp and its metadata) only, since probes and scrapers address a replica by IP.
  app.use(transportGuard({ checkHost: false }));

  // /mcp first: it is the hot path, and Express tries routes in order.
  app.post(
    '/mcp',
    mcpGuard,
    trackMcpRequest(metrics),
    createBearerAuth({ verifier, failures, resourceMetadataUrl }),
    express.json({ limit: '1mb' }),
    createMcpHttpHandler({ servers, ctx, metrics, failures, resourceMetadataUrl }),
  );
  app.get('/mcp', mcpGuard, mcpMethodNotAllowed);
  app.delete('/mcp', mcpGuard, mcpMethodNotAllowed);

  app.get('/health', async (_req, res) => {
    const m = await maintenance.status();
    res.json({
      status: 'ok',
      version: SERVER_VERSION,
      ...(env.MCP_RELEASE ? { release: env.MCP_RELEASE } : {}),
      uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
      maintenance: m.enabled,
    });
  });
  app.get('/health/ready', async (_req, res) => {
    const [inMaintenance, r] = await Promise.all([maintenance.isOn(), pingRedis(redis)]);
    const problems = [...(inMaintenance ? ['maintenance'] : []), ...(r.ok ? [] : [`redis: ${r.error}`])];
    if (problems.length > 0) {
      res.status(503).set('Retry-After', String(RETRY_AFTER_SECONDS)).json({ status: 'not_ready', problems });
      return;
    }
    res.json({ status: 'ready' });
  });
  app.get('/metrics', metricsHandler(registry));
  app.get(['/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp'], mcpGuard, (req, res) => {
    res.json({
      resource: resourceUrl(req),
      authorization_servers: authorizationServers(env, new URL(resourceUrl(req)).origin),
      scopes_supported: SCOPES_SUPPORTED,
      bearer_methods_supported: ['header'],
      resource_name: 'MCP Financial Server',
    });
  });

  app.use((err: Error & { status?: number; type?: string }, _req: Request, res: Response, _next: NextFunction) => {
    if (err.type === 'entity.parse.failed') {
      res.status(400).json({ jsonrpc: '2.0', error: { code: -32700, message: 'Parse error' }, id: null });
      return;
    }
    logger.error({ err }, 'request failed');
    if (res.headersSent) return;
    res.status(err.status && err.status < 500 ? err.status : 500).json({ error: 'internal_error' });
  });

  let running: RunningServer | undefined;
  return {
    app,
    ctx,
    registry,
    metrics,
    maintenance,
    audit,
    failures,
    denylist,
    backups,
    async start(): Promise<RunningServer> {
      await createServer.cacheToolList();
      await denylist.start();
      running = await listen(app, env.SERVER_PORT, env.HOST);
      allowlist = allowlistFor(running.port);
      if (!env.OAUTH_AUTHORIZATION_SERVERS) {
        const advertised = authorizationServers(env, new URL(env.MCP_RESOURCE_URL ?? running.url).origin);
        logger.warn(
          { advertised },
          `OAUTH_AUTHORIZATION_SERVERS is unset: the protected-resource metadata advertises ${advertised.join(', ')} as authorization server meanwhile; set OAUTH_AUTHORIZATION_SERVERS to the issuer of your tokens`,
        );
      }
      return running;
    },
    async stop(): Promise<void> {
      await running?.close();
      running = undefined;
      await denylist.stop();
      if (ownsBackends) await backends.close();
    },
  };
}

export type McpFinancialServer = ReturnType<typeof createMcpFinancialServer>;

/**
 * RFC 9728 `authorization_servers` (the MCP authorization spec requires at
 * least one): OAUTH_AUTHORIZATION_SERVERS, else JWT_ISSUER when it is a URL,
 * else this server's own origin, the issuer `npm run token` stands in for.
 */
export function authorizationServers(env: ServerEnv, ownOrigin: string): string[] {
  const configured = listOf(env.OAUTH_AUTHORIZATION_SERVERS ?? '');
  if (configured.length > 0) return configured;
  if (env.JWT_ISSUER && /^https?:\/\//.test(env.JWT_ISSUER) && URL.canParse(env.JWT_ISSUER)) return [env.JWT_ISSUER];
  return [ownOrigin];
}

function allowlistOf(env: ServerEnv) {
  try {
    return parseRangeList(env.IP_ALLOWLIST);
  } catch (err) {
    throw new ConfigError(`invalid configuration: IP_ALLOWLIST: ${(err as Error).message}`);
  }
}

const listOf = (text: string) =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
