import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { ListToolsResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { Registry } from 'prom-client';
import { silentLogger } from '../../lib/logger';
import { createMcpServerFactory } from '../../server/mcp/mcp-server';
import { noBackends } from '../../server/mcp/no-backends';
import type { ToolContext } from '../../server/mcp/tool-context';
import { createServerMetrics } from '../../server/metrics';
import { createMaintenanceStore } from '../../server/ops/maintenance';
import { FINANCE_TOOLS } from '../../server/tools/finance-tools';

describe('McpServer factory', () => {
  const ctx: ToolContext = {
    backends: noBackends(),
    maintenance: createMaintenanceStore({ statusFile: '/nonexistent/mfo-status' }),
    metrics: createServerMetrics(new Registry()),
    logger: silentLogger(),
  };

  async function list(factory: ReturnType<typeof createMcpServerFactory>) {
    const server = factory();
    const [c, s] = InMemoryTransport.createLinkedPair();
    await server.connect(s);
    const client = new Client({ name: 't', version: '0' });
    await client.connect(c);
    const result = await client.request({ method: 'tools/list' }, ListToolsResultSchema);
    await client.close();
    return result;
  }

  test('the cached tool list is exactly what the SDK computes, schemas included', async () => {
    const factory = createMcpServerFactory({ name: 'x', version: '1', ctx, tools: [], registrars: [] });
    const withFinance = createMcpServerFactory({ name: 'x', version: '1', ctx, tools: FINANCE_TOOLS });
    const fresh = await list(withFinance);
    await withFinance.cacheToolList();
    const cached = await list(withFinance);
    expect(cached).toEqual(fresh);
    expect(cached.tools.map((t) => t.name).sort()).toEqual(FINANCE_TOOLS.map((t) => t.name).sort());
    expect(cached.tools.every((t) => t.inputSchema.type === 'object' && t.outputSchema?.type === 'object')).toBe(true);
    expect((await list(factory)).tools).toEqual([]);
  });

  test('every build is a new server (one transport each), so concurrent requests never share one', () => {
    const factory = createMcpServerFactory({ name: 'x', version: '1', ctx, tools: FINANCE_TOOLS });
    expect(factory()).not.toBe(factory());
  });
});
