import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { registerGuardedTools, type GuardedTool, type ToolContext } from './tool-context';

/** Something that binds more tools to a server, e.g. `registerFinanceTools`. */
export type ToolRegistrar = (server: McpServer, ctx: ToolContext) => void;

export interface McpServerFactoryConfig {
  name: string;
  version: string;
  ctx: ToolContext;
  /** Our own guarded tools (ops). */
  tools: readonly GuardedTool[];
  /** Registrars owned elsewhere (finance tools). */
  registrars?: readonly ToolRegistrar[];
  instructions?: string;
}

/**
 * Returns a function that builds a ready McpServer. The server is stateless:
 * one per HTTP request, because an SDK server owns exactly one transport. All
 * the costly parts (schemas, guarded callbacks, context) are built once and
 * only bound here.
 */
export function createMcpServerFactory(config: McpServerFactoryConfig): () => McpServer {
  const info = { name: config.name, version: config.version };
  const options = { capabilities: { tools: { listChanged: false } }, instructions: config.instructions };
  return () => {
    const server = new McpServer(info, options);
    registerGuardedTools(server, config.ctx, config.tools);
    for (const register of config.registrars ?? []) register(server, config.ctx);
    return server;
  };
}
