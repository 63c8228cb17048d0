import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  ListToolsRequestSchema,
  ListToolsResultSchema,
  ErrorCode,
  LoggingLevelSchema,
  McpError,
  type ListToolsResult,
  type ServerCapabilities,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv-provider.js';
import type { ClientLogLevels } from './client-log-levels';
import { callerFrom, registerGuardedTools, type GuardedTool, type ToolContext } from './tool-context';

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
  /** Resources, prompts, completions: built once, bound to each server. */
  binders?: readonly ((server: McpServer) => void)[];
  /**
   * What the server advertises, exactly what it serves (the SDK would add
   * `listChanged: true`, which a stateless server can never send). `tools` and
   * `logging` are always there. @defaultValue tools and logging only
   */
  capabilities?: ServerCapabilities;
  /** Where `logging/setLevel` keeps each caller's level. */
  logLevels?: ClientLogLevels;
}

export interface McpServerFactory {
  /** A ready McpServer with every tool bound; one per HTTP request. */
  (): McpServer;
  /**
   * Computes the tools/list answer once (the SDK converts every zod schema to
   * JSON Schema on each tools/list: ~0.2 ms per tool) and serves it from then on.
   */
  cacheToolList(): Promise<void>;
  /** What every server built here advertises in its initialize answer. */
  capabilities: ServerCapabilities;
}

/** logging/setLevel with any level, so that a bad one gets our -32602 instead of the SDK's -32603. */
const SetLevelLooseSchema = z.object({
  method: z.literal('logging/setLevel'),
  params: z.looseObject({ level: z.unknown() }),
});

/** Nothing here can send a list_changed notification or a resource update. */
function withoutListChanged(c: ServerCapabilities): ServerCapabilities {
  return {
    ...c,
    tools: { listChanged: false },
    ...(c.prompts ? { prompts: { listChanged: false } } : {}),
    ...(c.resources ? { resources: { listChanged: false, subscribe: false } } : {}),
  };
}

/**
 * Builds McpServers cheaply. The server is stateless: one per HTTP request,
 * because an SDK server owns exactly one transport. All the costly parts
 * (schemas, guarded callbacks, context, the JSON Schema validator, the tool
 * list) are built once and only bound here.
 */
export function createMcpServerFactory(config: McpServerFactoryConfig): McpServerFactory {
  const info = { name: config.name, version: config.version };
  const capabilities: ServerCapabilities = { ...config.capabilities, tools: { listChanged: false }, logging: {} };
  const options = {
    capabilities,
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
    for (const bind of config.binders ?? []) bind(server);
    // No sessions here: the level is kept per caller (client-log-levels.ts), never on the pooled server.
    server.server.setRequestHandler(SetLevelLooseSchema, async (request, extra) => {
      const level = LoggingLevelSchema.safeParse(request.params.level);
      // The SDK's own schema would answer a bad level as -32603; it is the client's mistake (-32602).
      if (!level.success) throw new McpError(ErrorCode.InvalidParams, `E_VALIDATION_FAILED: level must be one of ${LoggingLevelSchema.options.join(', ')}`);
      await config.logLevels?.set(callerFrom(extra.authInfo), level.data);
      return {};
    });
    // Registering prompts and tools made the SDK add `listChanged: true`; put back what is served.
    server.server.registerCapabilities(withoutListChanged(capabilities));
    if (toolList) {
      const cached = toolList;
      server.server.setRequestHandler(ListToolsRequestSchema, () => cached);
    }
    return server;
  };

  const factory = build as McpServerFactory;
  factory.capabilities = capabilities;
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
