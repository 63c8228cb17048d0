import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { registerGuardedTools, type GuardedTool, type ToolContext } from '../mcp/tool-context';
import { getAccountBalanceTool, getAccountTool, listAccountsTool } from './finance-account-tools';
import { createTransferTool, getTransactionTool, listTransactionsTool } from './finance-transaction-tools';

/** Every finance tool, defined once at module load (schemas included). */
export const FINANCE_TOOLS: readonly GuardedTool[] = Object.freeze([
  listAccountsTool,
  getAccountTool,
  getAccountBalanceTool,
  listTransactionsTool,
  getTransactionTool,
  createTransferTool,
]);

/**
 * Binds the finance tools to a (per-request) McpServer. The guard in
 * tool-context does scope, maintenance, metrics and the error shape; the
 * tools reach the backends through `ctx.backends` (createBackends' result).
 */
export function registerFinanceTools(server: McpServer, ctx: ToolContext): void {
  registerGuardedTools(server, ctx, FINANCE_TOOLS);
}
