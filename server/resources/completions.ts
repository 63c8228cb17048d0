import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { CompleteRequestSchema, ErrorCode as McpErrorCode, McpError, type CompleteResult } from '@modelcontextprotocol/sdk/types.js';
import { hasFinance } from '../backends/types';
import { callerFrom, hasScope, type ToolCaller, type ToolContext } from '../mcp/tool-context';
import { AccountIdSchema } from '../tools/finance-account-tools';
import { financeOf } from '../tools/finance-format';
import type { DocsCatalog } from './docs-catalog';
import { protocolError } from './resource-errors';
import { DOCS_SCOPE } from './resources';

/** Most values one completion answers (the spec allows 100). */
export const MAX_COMPLETIONS = 20;
/** Most backend items a completion looks at: one page, never a scan. */
const SCAN_LIMIT = 100;

type Completer = (value: string, caller: ToolCaller, context: Record<string, string>, signal: AbortSignal) => Promise<string[]>;

const startsWith = (value: string) => (candidate: string) => candidate.toLowerCase().startsWith(value.toLowerCase());

/**
 * completion/complete for prompt and resource-template arguments: account
 * ids, currencies, transaction ids and alert names. Bounded (one backend page
 * of 100 at most, 20 values back) and scoped: a caller without the scope the
 * data needs gets no values, not an error, so completions never reveal more
 * than the matching tool would. The SDK's own completion support is not used
 * because its completers are not told who is asking.
 */
export function createCompletions(ctx: ToolContext, docs: DocsCatalog) {
  const finance = async (caller: ToolCaller, scope: string) => hasScope(caller.scopes, scope) && hasFinance(ctx.backends) && !(await ctx.maintenance.isOn());

  const accountIds: Completer = async (value, caller, _context, signal) => {
    if (!(await finance(caller, 'accounts:read'))) return [];
    const page = await financeOf(ctx).listAccounts({ limit: SCAN_LIMIT }, { signal });
    return page.accounts.map((a) => a.id).filter(startsWith(value));
  };
  const currencies: Completer = async (value, caller, _context, signal) => {
    if (!(await finance(caller, 'accounts:read'))) return [];
    const page = await financeOf(ctx).listAccounts({ limit: SCAN_LIMIT }, { signal });
    return [...new Set(page.accounts.map((a) => a.currency))].sort().filter(startsWith(value));
  };
  const transactionIds: Completer = async (value, caller, context, signal) => {
    if (!(await finance(caller, 'transactions:read'))) return [];
    const account = AccountIdSchema.safeParse(context.accountId);
    const page = await financeOf(ctx).listTransactions({ limit: SCAN_LIMIT, accountId: account.success ? account.data : undefined }, { signal });
    return page.transactions.map((t) => t.id).filter(startsWith(value));
  };
  const alertNames: Completer = async (value, caller) => (hasScope(caller.scopes, DOCS_SCOPE) ? docs.alertNames.filter(startsWith(value)) : []);

  const prompts: Record<string, Record<string, Completer>> = {
    investigate_transaction: { transactionId: transactionIds },
    reconcile_account: { accountId: accountIds },
    triage_alert: { alertname: alertNames },
  };
  const templates: Record<string, Record<string, Completer>> = {
    'account://{accountId}': { accountId: accountIds },
    'account://{accountId}/transactions{?since}': { accountId: accountIds },
    'transaction://{id}': { id: transactionIds },
    'accounts://currency/{currency}': { currency: currencies },
  };

  return async function complete(
    ref: { type: string; name?: string; uri?: string },
    argument: { name: string; value: string },
    caller: ToolCaller,
    context: Record<string, string>,
    signal: AbortSignal,
  ): Promise<CompleteResult> {
    const table = ref.type === 'ref/prompt' ? prompts[ref.name ?? ''] : ref.type === 'ref/resource' ? templates[ref.uri ?? ''] : undefined;
    if (!table) throw new McpError(McpErrorCode.InvalidParams, `E_NOT_FOUND: nothing to complete for ${ref.type} ${ref.name ?? ref.uri ?? ''}`);
    const completer = table[argument.name];
    const matches = completer ? await completer(argument.value.slice(0, 128), caller, context, signal) : [];
    return { completion: { values: matches.slice(0, MAX_COMPLETIONS), total: matches.length, hasMore: matches.length > MAX_COMPLETIONS } };
  };
}

export function registerCompletionHandler(server: McpServer, complete: ReturnType<typeof createCompletions>): void {
  server.server.setRequestHandler(CompleteRequestSchema, async (request, extra) => {
    try {
      const { ref, argument, context } = request.params;
      return await complete(ref, argument, callerFrom(extra.authInfo), context?.arguments ?? {}, extra.signal);
    } catch (err) {
      throw protocolError(err);
    }
  });
}
