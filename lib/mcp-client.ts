import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CodedError, ErrorCode } from './errors';
import { mintToken, type MintTokenOptions } from './jwt';

export interface McpClientConfig {
  /** The server's Streamable HTTP endpoint, e.g. http://127.0.0.1:3000/mcp */
  url: string;
  /** How we authenticate: a fixed bearer token, or what to mint one from. */
  auth: { token: string } | { mint: Omit<MintTokenOptions, 'ttl'> & { ttl?: number } };
  /** Name the server sees in `initialize`. */
  clientName?: string;
  /** Per-call timeout in ms. @defaultValue 15000 */
  timeoutMs?: number;
}

export interface ToolCallResult {
  isError: boolean;
  text: string;
  structuredContent?: Record<string, unknown>;
}

/**
 * The one MCP client factory (workers, scripts, tests). Each call opens a short
 * session: the server runs stateless, so there is nothing to keep alive, and a
 * fresh token is minted when the cached one is close to expiry.
 */
export function createMcpClient(config: McpClientConfig) {
  let cached: { token: string; expiresAt: number } | undefined;

  async function bearer(): Promise<string> {
    if ('token' in config.auth) return config.auth.token;
    const ttl = config.auth.mint.ttl ?? 300;
    if (!cached || cached.expiresAt - Date.now() < 30_000) {
      cached = { token: await mintToken({ ...config.auth.mint, ttl }), expiresAt: Date.now() + ttl * 1000 };
    }
    return cached.token;
  }

  async function withClient<T>(fn: (client: Client) => Promise<T>): Promise<T> {
    const transport = new StreamableHTTPClientTransport(new URL(config.url), {
      requestInit: { headers: { Authorization: `Bearer ${await bearer()}` } },
    });
    const client = new Client({ name: config.clientName ?? 'mcp-financial-ops', version: '0.1.0' });
    try {
      await client.connect(transport);
      return await fn(client);
    } catch (err) {
      if (err instanceof CodedError) throw err;
      throw new CodedError(ErrorCode.McpCall, `MCP call to ${config.url} failed: ${describeFailure(err)}`);
    } finally {
      await client.close().catch(() => undefined);
    }
  }

  async function callTool(name: string, args: Record<string, unknown> = {}): Promise<ToolCallResult> {
    return withClient(async (client) => {
      const result = await client.callTool({ name, arguments: args }, undefined, {
        timeout: config.timeoutMs ?? 15_000,
      });
      const content = Array.isArray(result.content) ? result.content : [];
      const text = content
        .filter((c): c is { type: 'text'; text: string } => (c as { type?: string }).type === 'text')
        .map((c) => c.text)
        .join('\n');
      return {
        isError: result.isError === true,
        text,
        structuredContent: result.structuredContent as Record<string, unknown> | undefined,
      };
    });
  }

  async function listTools(): Promise<string[]> {
    return withClient(async (client) => (await client.listTools()).tools.map((t) => t.name));
  }

  return { callTool, listTools };
}

export type McpClient = ReturnType<typeof createMcpClient>;

/**
 * The error's message with its cause's code: fetch says only "fetch failed",
 * the reason (ECONNREFUSED, ETIMEDOUT, ...) is in `cause`, and a person reading the thread needs it.
 */
function describeFailure(err: unknown): string {
  const message = (err as Error)?.message ?? String(err);
  let cause = (err as { cause?: unknown })?.cause;
  for (let depth = 0; cause && depth < 3; depth++) {
    const c = cause as { code?: unknown; message?: unknown; cause?: unknown };
    const what = typeof c.code === 'string' ? c.code : typeof c.message === 'string' ? c.message : undefined;
    if (what && !message.includes(what)) return `${message} (${what})`;
    cause = c.cause;
  }
  return message;
}
