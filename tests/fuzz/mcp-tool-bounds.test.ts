import fc from 'fast-check';
import http from 'node:http';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { listen, type RunningServer } from '../../lib/http';
import { startBackendSimulators, type RunningSimulators } from '../../sandbox/backends';
import { startTestServer, type TestServer } from '../integration/server-harness';
import { runs } from './fuzz';
import { snapshotPrefix } from './redis-snapshot';

/**
 * Every tool the server registers (read from tools/list, so a new tool is
 * covered without touching this file), called over real HTTP with a valid
 * token holding every scope, with arguments at, just inside and just past
 * each bound of its input schema. Inside: never a validation error. Past: a
 * validation error naming the field, never a 5xx or a dropped connection,
 * nothing changed in the server's Redis and no call reaching the backend
 * simulators (counted by a pass-through proxy in front of each).
 */
jest.setTimeout(120_000);

interface Prop {
  type?: string;
  enum?: string[];
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  pattern?: string;
  format?: string;
  properties?: Record<string, Prop>;
  required?: string[];
}
interface Tool {
  name: string;
  inputSchema: { properties?: Record<string, Prop>; required?: string[] };
}

/** Values the schema alone cannot make valid (an IP, a backup name, a date): known-good ones by field. */
const KNOWN_GOOD: Record<string, unknown> = {
  ip: '203.0.113.7',
  name: 'x.tar.gz',
  target: 'fuzz-target',
  currency: 'USD',
  from: '2026-01-01T00:00:00Z',
  to: '2026-02-01T00:00:00Z',
  idempotencyKey: 'fuzz-key-1',
  reason: 'fuzz bounds',
  enabled: false,
};

/** A value inside the schema: the known-good one, else built from the bounds. */
function goodValue(field: string, p: Prop): unknown {
  if (field in KNOWN_GOOD) return KNOWN_GOOD[field];
  if (p.enum) return p.enum[0];
  if (p.type === 'integer' || p.type === 'number') return p.minimum ?? 1;
  if (p.type === 'boolean') return false;
  if (p.type === 'object') return Object.fromEntries(Object.entries(p.properties ?? {}).map(([k, v]) => [k, goodValue(k, v)]));
  return 'a'.repeat(Math.max(p.minLength ?? 1, 3));
}

function goodArgs(tool: Tool): Record<string, unknown> {
  const props = tool.inputSchema.properties ?? {};
  return Object.fromEntries((tool.inputSchema.required ?? []).map((k) => [k, goodValue(k, props[k]!)]));
}

/** A string of length n the pattern (if any) accepts: letters, or the known-good value padded. */
function stringOfLength(field: string, p: Prop, n: number): string | undefined {
  const base = 'a'.repeat(n);
  if (!p.pattern || new RegExp(p.pattern).test(base)) return base;
  return undefined;
}

interface Case {
  tool: string;
  field: string;
  what: string;
  args: Record<string, unknown>;
  inside: boolean;
}

/** At, just inside and just past every bound of every field (deterministic: the bounds are finite). */
function boundCases(tool: Tool): Case[] {
  const out: Case[] = [];
  const props = tool.inputSchema.properties ?? {};
  const with_ = (field: string, value: unknown) => ({ ...goodArgs(tool), [field]: value });
  const add = (field: string, what: string, value: unknown, inside: boolean) => out.push({ tool: tool.name, field, what, args: with_(field, value), inside });
  for (const [field, p] of Object.entries(props)) {
    if (p.type === 'string' && !p.enum) {
      if (p.minLength !== undefined) {
        for (const [n, inside] of [[p.minLength, true], [p.minLength + 1, true], [p.minLength - 1, false]] as const) {
          const s = n >= 0 ? stringOfLength(field, p, n) : undefined;
          if (s !== undefined && (inside || n >= 0)) add(field, `length ${n}`, s, inside);
        }
      }
      if (p.maxLength !== undefined) {
        for (const [n, inside] of [[p.maxLength, true], [p.maxLength - 1, true], [p.maxLength + 1, false], [p.maxLength * 10, false]] as const) {
          const s = stringOfLength(field, p, n);
          if (s !== undefined) add(field, `length ${n}`, s, inside);
        }
      }
      if (p.pattern) add(field, 'against the pattern', `${String(goodValue(field, p))} \u0000<>`, false);
      add(field, 'a number for a string', 42, false);
    }
    if (p.enum) {
      for (const v of p.enum) add(field, `enum ${v}`, v, true);
      add(field, 'not in the enum', `${p.enum[0]}x`, false);
      add(field, 'enum in another case', p.enum[0]!.toUpperCase() === p.enum[0] ? p.enum[0]!.toLowerCase() : p.enum[0]!.toUpperCase(), false);
    }
    if (p.type === 'integer' || p.type === 'number') {
      if (p.minimum !== undefined) {
        add(field, `minimum ${p.minimum}`, p.minimum, true);
        add(field, `minimum + 1`, p.minimum + 1, true);
        add(field, `minimum - 1`, p.minimum - 1, false);
      }
      if (p.maximum !== undefined) {
        add(field, `maximum ${p.maximum}`, p.maximum, true);
        add(field, `maximum - 1`, p.maximum - 1, true);
        if (p.maximum < Number.MAX_SAFE_INTEGER) add(field, `maximum + 1`, p.maximum + 1, false);
      }
      if (p.type === 'integer') add(field, 'a fraction', (p.minimum ?? 1) + 0.5, false);
      add(field, 'a string for a number', '1', false);
    }
    if (p.type === 'boolean') {
      add(field, 'true', true, true);
      add(field, 'a string for a boolean', 'true', false);
    }
    if (p.type === 'object') add(field, 'a string for an object', 'x', false);
  }
  for (const field of tool.inputSchema.required ?? []) {
    const args = goodArgs(tool);
    delete args[field];
    out.push({ tool: tool.name, field, what: 'missing (required)', args, inside: false });
  }
  return out;
}

/** A pass-through HTTP proxy that counts the requests reaching a simulator. */
async function countingProxy(target: string): Promise<{ server: RunningServer; count: () => number }> {
  let n = 0;
  const to = new URL(target);
  const server = await listen((req: http.IncomingMessage, res: http.ServerResponse) => {
    n += 1;
    const up = http.request({ host: to.hostname, port: to.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  }, 0);
  return { server, count: () => n };
}

describe('MCP tool arguments at and past every bound of every registered tool', () => {
  let sims: RunningSimulators;
  let accounts: Awaited<ReturnType<typeof countingProxy>>;
  let transactions: Awaited<ReturnType<typeof countingProxy>>;
  let t: TestServer;
  let client: Client;
  let tools: Tool[];
  const backendCalls = () => accounts.count() + transactions.count();
  const snapshot = () => snapshotPrefix(t.redis, t.env.REDIS_PREFIX);

  beforeAll(async () => {
    sims = await startBackendSimulators();
    accounts = await countingProxy(sims.accountUrl);
    transactions = await countingProxy(sims.transactionUrl);
    t = await startTestServer({ ACCOUNT_SERVICE_URL: accounts.server.url, TRANSACTION_SERVICE_URL: transactions.server.url }, { production: true });
    client = await t.client(await t.token('accounts:read transactions:read transactions:write ops:read ops:admin'));
    tools = (await client.listTools()).tools as unknown as Tool[];
  });
  afterAll(async () => {
    await t?.close();
    await accounts?.server.close();
    await transactions?.server.close();
    await sims?.stop();
  });

  async function call(name: string, args: Record<string, unknown>): Promise<{ isError: boolean; text: string }> {
    const r = await client.callTool({ name, arguments: args });
    return { isError: r.isError === true, text: (r.content as Array<{ text?: string }>).map((x) => x.text ?? '').join('\n') };
  }
  const isValidationError = (text: string) => /Input validation error|Invalid arguments/i.test(text);
  /** The message names the field as a path (`ip: …`, `amount.currency: …`), not merely inside the tool's name. */
  const namesField = (text: string, field: string) => new RegExp(`(^|[\\s;,"'\\[(])${field}["']?([.:\\]]|,|\\s)`).test(text);

  async function check(c: Case): Promise<void> {
    const before = c.inside ? undefined : { redis: await snapshot(), backend: backendCalls() };
    const r = await call(c.tool, c.args);
    const summary = { tool: c.tool, field: c.field, what: c.what };
    if (c.inside) {
      expect({ ...summary, validation: isValidationError(r.text) ? r.text.slice(0, 300) : false }).toEqual({ ...summary, validation: false });
      return;
    }
    expect({ ...summary, isError: r.isError, validation: isValidationError(r.text), namesField: namesField(r.text, c.field) }).toEqual({ ...summary, isError: true, validation: true, namesField: true });
    expect({ ...summary, redis: await snapshot(), backend: backendCalls() }).toEqual({ ...summary, ...before });
  }

  it('the server registers the tools this covers (ops and finance)', () => {
    const names = tools.map((x) => x.name);
    expect(names).toEqual(expect.arrayContaining(['ops_health_check', 'ops_block_ip', 'ops_backup_list', 'list_accounts', 'list_transactions', 'create_transfer']));
  });

  it('each bound: inside is no validation error; past is one naming the field, with nothing changed', async () => {
    const cases = tools.flatMap(boundCases);
    expect(cases.filter((c) => !c.inside).length).toBeGreaterThan(60);
    for (const c of cases) await check(c);
    // The control: an inside call that reaches the backend is counted by the proxy.
    const before = backendCalls();
    await call('list_accounts', {});
    expect(backendCalls()).toBeGreaterThan(before);
  });

  it('random values past the bounds (any length over, any number beyond, any wrong type) are refused the same way', async () => {
    const bounded = tools.flatMap((tool) => Object.entries(tool.inputSchema.properties ?? {}).map(([field, p]) => ({ tool, field, p })));
    const past = fc.constantFrom(...bounded).chain(({ tool, field, p }) => {
      const options: fc.Arbitrary<unknown>[] = [fc.oneof(fc.constant(null), fc.array(fc.integer(), { maxLength: 2 }))];
      if (p.type === 'string' && p.maxLength !== undefined) options.push(fc.integer({ min: p.maxLength + 1, max: p.maxLength * 4 + 10 }).map((n) => 'a'.repeat(n)));
      if (p.type === 'string') options.push(fc.oneof(fc.integer(), fc.boolean(), fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 })));
      if (p.enum) options.push(fc.string().filter((s) => !p.enum!.includes(s)));
      if ((p.type === 'integer' || p.type === 'number') && p.maximum !== undefined && p.maximum < Number.MAX_SAFE_INTEGER) options.push(fc.integer({ min: p.maximum + 1, max: p.maximum * 10 + 10 }));
      if ((p.type === 'integer' || p.type === 'number') && p.minimum !== undefined) options.push(fc.integer({ min: p.minimum - 1e6, max: p.minimum - 1 }));
      if (p.type === 'integer') options.push(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }).filter((x) => !Number.isInteger(x)));
      if (p.type === 'integer' || p.type === 'number' || p.type === 'boolean') options.push(fc.string());
      return fc.oneof(...options).map((value): Case => ({ tool: tool.name, field, what: `random ${JSON.stringify(value)?.slice(0, 40)}`, args: { ...goodArgs(tool), [field]: value }, inside: false }));
    });
    await fc.assert(fc.asyncProperty(past, check), runs(200));
  });
});
