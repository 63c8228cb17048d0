import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { Registry } from 'prom-client';
import { z } from 'zod';
import { silentLogger } from '../../lib/logger';
import { createMcpServerFactory } from '../../server/mcp/mcp-server';
import { noBackends } from '../../server/mcp/no-backends';
import { createMcpServerPool } from '../../server/mcp/server-pool';
import { defineTool, type ToolContext } from '../../server/mcp/tool-context';
import { createServerMetrics } from '../../server/metrics';

const whoami = defineTool({
  name: 'test_whoami',
  description: 'says who called',
  scope: 'accounts:read',
  kind: 'ops',
  input: z.object({ n: z.number().int() }),
  output: z.object({ subject: z.string(), n: z.number() }),
  async run(args, { caller }) {
    return { structured: { subject: caller.subject, n: args.n }, text: `${caller.subject} ${args.n}` };
  },
});

const ctx: ToolContext = {
  backends: noBackends(),
  maintenance: { isOn: async () => false },
  metrics: createServerMetrics(new Registry()),
  logger: silentLogger(),
};

/** One stateless request as the HTTP layer makes it: connect, one raw tools/call with the caller's token info, close. */
async function serveOne(server: McpServer, subject: string, n: number): Promise<{ subject: string; n: number }> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  await clientSide.start();
  const reply = new Promise<JSONRPCMessage>((resolve) => {
    clientSide.onmessage = resolve;
  });
  await clientSide.send(
    { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'test_whoami', arguments: { n } } },
    { authInfo: { token: 't', clientId: subject, scopes: ['accounts:read'], extra: { sub: subject } } },
  );
  const msg = (await reply) as unknown as { result: { structuredContent: { subject: string; n: number } } };
  await serverSide.close();
  await server.close();
  return msg.result.structuredContent;
}

describe('McpServer pool', () => {
  const factory = createMcpServerFactory({ name: 'pool-test', version: '0', ctx, tools: [whoami] });

  test('a closed server that only served a tools/call is reused, and sees the next caller, not the last', async () => {
    const pool = createMcpServerPool(factory);
    const first = pool.acquire();
    expect(await serveOne(first, 'alice', 1)).toEqual({ subject: 'alice', n: 1 });
    pool.release(first);
    expect(pool.idle).toBe(1);

    const second = pool.acquire();
    expect(second).toBe(first);
    expect(pool.idle).toBe(0);
    expect(await serveOne(second, 'bob', 2)).toEqual({ subject: 'bob', n: 2 });
  });

  test('a server that saw initialize is dropped: client details never leak into another request', async () => {
    const pool = createMcpServerPool(factory);
    const server = pool.acquire();
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    const client = new Client({ name: 'leaky-client', version: '9' });
    await client.connect(clientSide);
    await client.close();
    await server.close();
    expect(server.server.getClientVersion()).toEqual({ name: 'leaky-client', version: '9' });
    pool.release(server);
    expect(pool.idle).toBe(0);
    expect(pool.acquire()).not.toBe(server);
  });

  test('a server still connected is not taken back; the pool is bounded', async () => {
    const pool = createMcpServerPool(factory, { maxIdle: 2 });
    const busy = pool.acquire();
    const [, serverSide] = InMemoryTransport.createLinkedPair();
    await busy.connect(serverSide);
    pool.release(busy);
    expect(pool.idle).toBe(0);
    await busy.close();

    const servers = [pool.acquire(), pool.acquire(), pool.acquire()];
    expect(new Set(servers).size).toBe(3);
    for (const s of servers) pool.release(s);
    expect(pool.idle).toBe(2);
  });
});
