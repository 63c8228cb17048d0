import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { Request, Response } from 'express';
import type { AuthFailureLog } from '../auth/auth-failures';
import { clientIp } from '../auth/client-ip';
import { bearerChallenge } from '../auth/www-authenticate';
import type { ServerMetrics } from '../metrics';
import type { McpServerPool } from './server-pool';
import { PROMPT_SCOPES } from '../prompts/ops-prompts';
import { resourceScopes } from '../resources/resources';
import { callerFrom, hasScope, requiredScopeFor, streamsFor, type ToolContext } from './tool-context';

export interface McpHttpEndpointConfig {
  /** Per-request McpServers (see server-pool.ts). */
  servers: McpServerPool;
  ctx: ToolContext;
  metrics: ServerMetrics;
  failures: AuthFailureLog;
  resourceMetadataUrl(req: Request): string;
}

interface JsonRpcLike {
  method?: unknown;
  params?: { name?: unknown; uri?: unknown };
}

/**
 * POST /mcp, stateless Streamable HTTP: an McpServer of its own (from the
 * pool) and a fresh transport per request. JSON responses, except a call to
 * a long tool (`streams: true`: backups, restore, evidence), which is answered
 * as an SSE stream so its progress and log notifications reach the client.
 * A tools/call, resources/read or prompts/get whose token lacks the scope is
 * answered 403 `insufficient_scope` here, as the MCP authorization spec asks,
 * before any MCP work is done.
 */
export function createMcpHttpHandler(config: McpHttpEndpointConfig) {
  return async (req: Request, res: Response): Promise<void> => {
    const missing = missingScope(config.ctx, req);
    if (missing) {
      config.metrics.requests.inc({ tool: missing.tool, status: '403' });
      config.failures.record('insufficient_scope', clientIp(req));
      res
        .status(403)
        .set(
          'WWW-Authenticate',
          bearerChallenge({
            error: 'insufficient_scope',
            scope: missing.scope,
            description: `${missing.tool} needs scope ${missing.scope}`,
            resourceMetadata: config.resourceMetadataUrl(req),
          }),
        )
        .json({ error: 'insufficient_scope', error_description: `${missing.tool} needs scope "${missing.scope}"` });
      return;
    }
    const server = config.servers.acquire();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: !streams(config.ctx, req) });
    res.on('close', () => {
      // Only a request that was answered in full hands its server back: after a
      // client hang-up a handler may still be running on it.
      const answered = res.writableFinished;
      void (async () => {
        await transport.close();
        await server.close();
        if (answered) config.servers.release(server);
      })().catch(() => undefined);
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body);
  };
}

const messagesOf = (req: Request): JsonRpcLike[] => (Array.isArray(req.body) ? req.body : [req.body]);

/** The scopes one message needs, and what to call it in the refusal (`tool` is also the metric label). */
function scopesOf(ctx: ToolContext, m: JsonRpcLike): { tool: string; scopes: readonly string[] } | undefined {
  if (!m || typeof m !== 'object') return undefined;
  const { name, uri } = m.params ?? {};
  if (m.method === 'tools/call' && typeof name === 'string') {
    const scope = requiredScopeFor(ctx, name);
    return scope ? { tool: name, scopes: [scope] } : undefined;
  }
  if (m.method === 'prompts/get' && typeof name === 'string') {
    const scopes = PROMPT_SCOPES[name];
    return scopes ? { tool: `prompt:${name}`, scopes } : undefined;
  }
  if (m.method === 'resources/read' && typeof uri === 'string') {
    const scopes = resourceScopes(uri);
    return scopes ? { tool: 'resources/read', scopes } : undefined;
  }
  return undefined;
}

function missingScope(ctx: ToolContext, req: Request): { tool: string; scope: string } | undefined {
  const caller = callerFrom(req.auth);
  for (const m of messagesOf(req)) {
    const need = scopesOf(ctx, m);
    const scope = need?.scopes.find((s) => !hasScope(caller.scopes, s));
    if (need && scope) return { tool: need.tool, scope };
  }
  return undefined;
}

/** Does this request call a long tool, whose answer is an SSE stream? */
function streams(ctx: ToolContext, req: Request): boolean {
  return messagesOf(req).some((m) => m?.method === 'tools/call' && typeof m.params?.name === 'string' && streamsFor(ctx, m.params.name));
}

/** GET and DELETE /mcp: no sessions, no server-initiated stream. */
export function mcpMethodNotAllowed(_req: Request, res: Response): void {
  res
    .status(405)
    .set('Allow', 'POST')
    .json({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed: this server is stateless, use POST.' }, id: null });
}

/** Counts in-flight /mcp requests and the ones refused before reaching a tool. */
export function trackMcpRequest(metrics: ServerMetrics) {
  return (_req: Request, res: Response, next: () => void): void => {
    metrics.activeConnections.inc();
    // 'close' comes once per response, after 'finish' or on a hang-up.
    res.once('close', () => {
      metrics.activeConnections.dec();
      // 403 for a scope is counted where the tool name is known; these are the rest.
      if (res.statusCode === 401) metrics.requests.inc({ tool: 'none', status: '401' });
    });
    next();
  };
}
