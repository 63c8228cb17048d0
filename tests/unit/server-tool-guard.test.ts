import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { Registry } from 'prom-client';
import { z } from 'zod';
import { CodedError, ErrorCode } from '../../lib/errors';
import { silentLogger } from '../../lib/logger';
import { noBackends } from '../../server/mcp/no-backends';
import { createMcpServerFactory } from '../../server/mcp/mcp-server';
import { defineTool, hasScope, type ToolContext } from '../../server/mcp/tool-context';
import { createServerMetrics } from '../../server/metrics';
import { createMaintenanceStore } from '../../server/ops/maintenance';

const echo = defineTool({
  name: 'test_echo',
  description: 'echoes',
  scope: 'accounts:read',
  kind: 'finance',
  input: z.object({ word: z.string() }),
  output: z.object({ word: z.string(), caller: z.string() }),
  async run(args, call) {
    return { structured: { word: args.word, caller: call.caller.subject }, text: `echo ${args.word}` };
  },
});
const failing = defineTool({
  name: 'test_fail',
  description: 'fails',
  scope: 'ops:read',
  kind: 'ops',
  input: z.object({ kind: z.enum(['coded', 'plain']) }),
  output: z.object({}),
  async run(args) {
    if (args.kind === 'coded') throw new CodedError(ErrorCode.NotFound, 'account acc_9 not found');
    throw new Error('boom at secret place');
  },
});

/** Client transport that stamps every message with the given token info, as the HTTP layer does. */
function authed(transport: InMemoryTransport, auth: AuthInfo): InMemoryTransport {
  const send = transport.send.bind(transport);
  transport.send = (message, options) => send(message, { ...options, authInfo: auth });
  return transport;
}

describe('guarded tools over an in-memory transport', () => {
  let dir: string;
  let ctx: ToolContext;
  let registry: Registry;
  let maintenance: ReturnType<typeof createMaintenanceStore>;

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mfo-guard-'));
    registry = new Registry();
    maintenance = createMaintenanceStore({ statusFile: path.join(dir, 'status') });
    ctx = { backends: noBackends(), maintenance, metrics: createServerMetrics(registry), logger: silentLogger() };
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  async function connect(scopes: string[]): Promise<Client> {
    const server = createMcpServerFactory({ name: 't', version: '0', ctx, tools: [echo, failing] })();
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    const client = new Client({ name: 'c', version: '0' });
    await client.connect(authed(clientSide, { token: 't', clientId: 'cid', scopes, extra: { sub: 'alice' } }));
    return client;
  }

  async function count(tool: string, status: string): Promise<number> {
    const m = await registry.getSingleMetric('mcp_requests_total')!.get();
    return m.values.find((v) => v.labels.tool === tool && v.labels.status === status)?.value ?? 0;
  }

  test('runs with the scope, returns structuredContent and text, and counts success', async () => {
    const client = await connect(['accounts:read']);
    const r = await client.callTool({ name: 'test_echo', arguments: { word: 'hi' } });
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent).toEqual({ word: 'hi', caller: 'alice' });
    expect(r.content).toEqual([{ type: 'text', text: 'echo hi' }]);
    expect(await count('test_echo', 'success')).toBe(1);
  });

  test('refuses without the scope, naming it, counted as 403', async () => {
    const client = await connect(['transactions:read']);
    const r = await client.callTool({ name: 'test_echo', arguments: { word: 'hi' } });
    expect(r.isError).toBe(true);
    expect((r.content as Array<{ text: string }>)[0]!.text).toBe('E_FORBIDDEN: insufficient_scope: test_echo needs scope "accounts:read"');
    expect(await count('test_echo', '403')).toBe(1);
  });

  test('refuses finance tools in maintenance with E_MAINTENANCE; ops tools still run', async () => {
    await maintenance.set(true, { reason: 'drill', actor: 'bob' });
    const client = await connect(['accounts:read', 'ops:read']);
    const r = await client.callTool({ name: 'test_echo', arguments: { word: 'hi' } });
    expect(r.isError).toBe(true);
    expect((r.content as Array<{ text: string }>)[0]!.text).toMatch(/^E_MAINTENANCE: .*maintenance/);
    expect(await count('test_echo', '503')).toBe(1);
    const ops = await client.callTool({ name: 'test_fail', arguments: { kind: 'coded' } });
    expect((ops.content as Array<{ text: string }>)[0]!.text).toBe('E_NOT_FOUND: account acc_9 not found');
    await maintenance.set(false, { reason: 'done', actor: 'bob' });
    expect((await client.callTool({ name: 'test_echo', arguments: { word: 'x' } })).isError).toBeFalsy();
  });

  test('converts thrown errors to tool errors without stacks, counted as error', async () => {
    const client = await connect(['ops:admin']);
    const r = await client.callTool({ name: 'test_fail', arguments: { kind: 'plain' } });
    expect(r.isError).toBe(true);
    const text = (r.content as Array<{ text: string }>)[0]!.text;
    expect(text).toBe('E_INTERNAL: boom at secret place');
    expect(text).not.toMatch(/at .*\.ts:\d+/);
    expect(await count('test_fail', 'error')).toBe(1);
  });

  test('bad input is refused by the schema before the tool runs', async () => {
    const client = await connect(['accounts:read']);
    const r = await client.callTool({ name: 'test_echo', arguments: { word: 42 } });
    expect(r.isError).toBe(true);
    expect(await count('test_echo', 'success')).toBe(0);
  });

  test('scope implication: admin covers write and read, write covers read, nothing else', () => {
    expect(hasScope(['ops:admin'], 'ops:read')).toBe(true);
    expect(hasScope(['transactions:write'], 'transactions:read')).toBe(true);
    expect(hasScope(['transactions:read'], 'transactions:write')).toBe(false);
    expect(hasScope(['ops:read'], 'ops:admin')).toBe(false);
    expect(hasScope(['accounts:admin'], 'ops:read')).toBe(false);
  });
});
