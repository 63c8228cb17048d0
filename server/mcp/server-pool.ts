import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';

export interface McpServerPoolOptions {
  /** Idle servers kept for reuse; beyond it a released server is dropped. @defaultValue 64 */
  maxIdle?: number;
}

export interface McpServerPool {
  /** An McpServer with every tool bound and no transport: from the pool, or freshly built. */
  acquire(): McpServer;
  /**
   * Gives a server back once its request is over and it is closed. Kept only
   * when it holds nothing of the request it served (see below); otherwise dropped.
   */
  release(server: McpServer): void;
  readonly idle: number;
}

/**
 * Reuses per-request McpServers. The server is stateless, and an SDK server
 * owns exactly one transport at a time, so each HTTP request needs a server
 * of its own; building one (a Server, 18 tools bound) cost ~30 µs of a
 * ~1 ms call. The SDK supports close() then connect() on the same instance
 * (its request bookkeeping is keyed so a reused id cannot touch a stale one).
 *
 * A server goes back to the pool only when it is fully closed (no transport)
 * and never saw an `initialize`: an initialize leaves the client's name and
 * capabilities on the server, and they must not leak into another client's
 * request. The hot path (tools/call, tools/list) never initializes, so it is
 * what gets reused; an initializing request's server is simply dropped.
 */
export function createMcpServerPool(build: () => McpServer, options: McpServerPoolOptions = {}): McpServerPool {
  const maxIdle = options.maxIdle ?? 64;
  const idle: McpServer[] = [];
  return {
    acquire: () => idle.pop() ?? build(),
    release(server) {
      if (idle.length >= maxIdle) return;
      const s = server.server;
      if (s.transport !== undefined || s.getClientVersion() !== undefined || s.getClientCapabilities() !== undefined) return;
      idle.push(server);
    },
    get idle() {
      return idle.length;
    },
  };
}
