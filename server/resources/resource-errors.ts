import { ErrorCode as McpErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { asCodedError, CodedError, ErrorCode } from '../../lib/errors';
import { hasScope, type ToolCaller, type ToolContext } from '../mcp/tool-context';

/** MCP's "resource not found" (spec, resources §Error Handling). */
export const RESOURCE_NOT_FOUND = -32002;

/**
 * Resources, prompts and completions have no `isError` result: a refusal is
 * a JSON-RPC error whose message starts with our stable code, as a tool's text does.
 */
export function protocolError(err: unknown): McpError {
  if (err instanceof McpError) return err;
  const coded = asCodedError(err);
  const text = `${coded.code}: ${coded.message}`;
  switch (coded.code) {
    case ErrorCode.NotFound:
    case ErrorCode.AccountNotFound:
      return new McpError(RESOURCE_NOT_FOUND, text);
    case ErrorCode.ValidationFailed:
      return new McpError(McpErrorCode.InvalidParams, text);
    case ErrorCode.Forbidden:
    case ErrorCode.Unauthorized:
    case ErrorCode.Maintenance:
      return new McpError(McpErrorCode.InvalidRequest, text);
    default:
      return new McpError(McpErrorCode.InternalError, text);
  }
}

/** The HTTP layer answers a missing scope with 403 first; this covers in-process transports. */
export function requireScopes(caller: ToolCaller, scopes: readonly string[], what: string): void {
  const missing = scopes.find((s) => !hasScope(caller.scopes, s));
  if (missing) throw new CodedError(ErrorCode.Forbidden, `insufficient_scope: ${what} needs scope "${missing}"`, { requiredScope: missing });
}

/** Finance data is refused in maintenance, as the finance tools are. */
export async function requireFinanceOpen(ctx: ToolContext): Promise<void> {
  if (await ctx.maintenance.isOn()) {
    throw new CodedError(ErrorCode.Maintenance, 'the server is in maintenance; account and transaction data are unavailable, retry later');
  }
}
