import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ListToolsRequestSchema, ListToolsResultSchema, type ListToolsResult } from '@modelcontextprotocol/sdk/types.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv-provider.js';
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

export interface McpServerFactory {
  /** A ready McpServer with every tool bound; one per HTTP request. */
  (): McpServer;
  /**
   * Computes the tools/list answer once (the SDK converts every zod schema to
   * JSON Schema on each tools/list: ~0.2 ms per tool) and serves it from then on.
   */
  cacheToolList(): Promise<void>;
}

/**
 * Builds McpServers cheaply. The server is stateless: one per HTTP request,
 * because an SDK server owns exactly one transport. All the costly parts
 * (schemas, guarded callbacks, context, the JSON Schema validator, the tool
 * list) are built once and only bound here.
 */
export function createMcpServerFactory(config: McpServerFactoryConfig): McpServerFactory {
  const info = { name: config.name, version: config.version };
  const options = {
    capabilities: { tools: { listChanged: false } },
    instructions: config.instructions,
    // The SDK builds a fresh Ajv per Server unless given one: measured at ~230 µs of
    // the ~260 µs a per-request server cost. One shared validator is safe (it keeps
    // no per-connection state) and makes a per-request server ~10x cheaper.
    jsonSchemaValidator: new AjvJsonSchemaValidator(),
  };
  let toolList: ListToolsResult | undefined;

  const build = (): McpServer => {
    const server = new McpServer(info, options);
    registerGuardedTools(server, config.ctx, config.tools);
    for (const register of config.registrars ?? []) register(server, config.ctx);
    if (toolList) {
      const cached = toolList;
      server.server.setRequestHandler(ListToolsRequestSchema, () => cached);
    }
    return server;
  };

  const factory = build as McpServerFactory;
  factory.cacheToolList = async () => {
    // Ask a real server over an in-memory pair, so the cached answer is exactly the SDK's.
    const server = build();
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    const client = new Client({ name: 'tool-list-cache', version: config.version });
    await client.connect(clientSide);
    try {
      toolList = await client.request({ method: 'tools/list' }, ListToolsResultSchema);
    } finally {
      await client.close();
      await server.close();
    }
  };
  return factory;
}
