import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { GetPromptResult, PromptMessage } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { callerFrom, type ToolContext } from '../mcp/tool-context';
import { checkHealth, renderHealthText, type HealthDeps } from '../ops/health';
import type { DocsCatalog } from '../resources/docs-catalog';
import { protocolError, requireFinanceOpen, requireScopes } from '../resources/resource-errors';
import { AccountIdSchema } from '../tools/finance-account-tools';
import { financeOf, formatMoney } from '../tools/finance-format';
import { TransactionIdSchema } from '../tools/finance-transaction-tools';

/** The scopes `prompts/get` of each prompt needs (checked with 403 at the HTTP layer, and again here). */
export const PROMPT_SCOPES: Readonly<Record<string, readonly string[]>> = Object.freeze({
  investigate_transaction: ['transactions:read'],
  reconcile_account: ['accounts:read', 'transactions:read'],
  triage_alert: ['ops:read'],
});

export interface OpsPromptsDeps {
  ctx: ToolContext;
  docs: DocsCatalog;
  health: HealthDeps;
}

const text = (t: string): PromptMessage => ({ role: 'user', content: { type: 'text', text: t } });
const embedded = (uri: string, mimeType: string, body: string): PromptMessage => ({
  role: 'user',
  content: { type: 'resource', resource: { uri, mimeType, text: body } },
});
const asJson = (v: unknown) => JSON.stringify(v, null, 2);

type Extra = Parameters<Parameters<McpServer['registerPrompt']>[2]>[1];

/**
 * Prompts an agent operator starts from. Arguments are zod-validated by the
 * SDK (a bad one is a -32602 naming the argument); each prompt fetches what it
 * talks about with the caller's own scopes and embeds it as a resource, so
 * the model starts from facts, not from a guess.
 */
export function createOpsPrompts(deps: OpsPromptsDeps) {
  const { ctx, docs, health } = deps;
  const alertNames = new Set(docs.alertNames);

  const investigateArgs = { transactionId: TransactionIdSchema.describe('the transaction to look into, e.g. txn_62b1000de0fdf51f3629') };
  const reconcileArgs = {
    accountId: AccountIdSchema.describe('the account to reconcile'),
    since: z.iso.datetime({ offset: true }).describe('ISO 8601 start of the period, e.g. 2026-01-01T00:00:00Z'),
  };
  const triageArgs = {
    alertname: z
      .string()
      .refine((a) => alertNames.has(a), { message: `must be an alert with a runbook: ${docs.alertNames.join(', ')}` })
      .describe('the alertname label of the firing alert, e.g. HighErrorRate'),
  };

  const guarded =
    <A>(name: string, build: (args: A, extra: Extra) => Promise<GetPromptResult>) =>
    async (args: A, extra: Extra): Promise<GetPromptResult> => {
      try {
        requireScopes(callerFrom(extra.authInfo), PROMPT_SCOPES[name] ?? [], `prompt ${name}`);
        return await build(args, extra);
      } catch (err) {
        throw protocolError(err);
      }
    };

  const investigate = guarded<{ transactionId: string }>('investigate_transaction', async ({ transactionId }, extra) => {
    await requireFinanceOpen(ctx);
    const t = await financeOf(ctx).getTransaction(transactionId, { signal: extra.signal });
    return {
      description: `Investigate transaction ${t.id} (${t.status}, ${formatMoney(t.amount)})`,
      messages: [
        text(
          `Investigate transaction ${t.id}. Its record is attached. Explain in plain words what happened: type, status, the two accounts, the amount (integer minor units, ${t.amount.currency}), when it was created and completed, and the failure reason if any. ` +
            `If it failed or is still pending, say what an operator should check next (the accounts with get_account, their recent history with list_transactions). Do not move money: never call create_transfer from this investigation.`,
        ),
        embedded(`transaction://${t.id}`, 'application/json', asJson({ transaction: t })),
      ],
    };
  });

  const reconcile = guarded<{ accountId: string; since: string }>('reconcile_account', async ({ accountId, since }, extra) => {
    await requireFinanceOpen(ctx);
    const finance = financeOf(ctx);
    const [account, page] = await Promise.all([
      finance.getAccount(accountId, { signal: extra.signal }),
      finance.listTransactions({ accountId, from: since, limit: 100 }, { signal: extra.signal }),
    ]);
    const more = page.nextCursor ? ` More than 100 transactions match: page on with list_transactions (accountId ${accountId}, from ${since}, cursor "${page.nextCursor}") before concluding.` : '';
    return {
      description: `Reconcile ${account.id} (${account.currency}) since ${since}`,
      messages: [
        text(
          `Reconcile account ${account.id} (${account.ownerName}, ${account.currency}) from ${since} to now. The account and its transactions in that period are attached. ` +
            `Sum the completed transactions into and out of the account in integer minor units (never floats), list pending and failed ones apart, and state whether the movements are consistent with the current balance of ${formatMoney(account.balance)}. ` +
            `Name every transaction that does not add up by its id.${more}`,
        ),
        embedded(`account://${account.id}`, 'application/json', asJson({ account })),
        embedded(`account://${account.id}/transactions?since=${encodeURIComponent(since)}`, 'application/json', asJson({ accountId, since, ...page })),
      ],
    };
  });

  const triage = guarded<{ alertname: string }>('triage_alert', async ({ alertname }) => {
    const runbook = docs.runbook(alertname)!;
    const report = await checkHealth(health, 'full');
    return {
      description: `Triage ${alertname}: runbook and a full health check`,
      messages: [
        text(
          `The alert ${alertname} is firing. Its runbook and a full health check taken just now are attached. ` +
            `Follow the runbook: read what the alert means, compare its diagnostics with the health check (status ${report.status}), say which procedure step applies, and propose the runbook action to take, with its reason. ` +
            `Changing actions (maintenance, restart, IP blocks) need an operator's confirmation: propose them, do not run them.`,
        ),
        embedded(runbook.uri, runbook.mimeType, runbook.text),
        // Not an embedded resource: a health check is a tool result (ops_health_check), not a resource URI.
        text(`ops_health_check {"mode":"full"} answered:\n${renderHealthText(report)}\n\n${asJson(report)}`),
      ],
    };
  });

  return (server: McpServer): void => {
    server.registerPrompt(
      'investigate_transaction',
      { title: 'Investigate a transaction', description: 'Explains one transaction from its record (needs transactions:read).', argsSchema: investigateArgs },
      investigate,
    );
    server.registerPrompt(
      'reconcile_account',
      {
        title: 'Reconcile an account',
        description: 'Checks an account’s movements since a time against its balance (needs accounts:read and transactions:read).',
        argsSchema: reconcileArgs,
      },
      reconcile,
    );
    server.registerPrompt(
      'triage_alert',
      { title: 'Triage an alert', description: 'Pulls the alert’s runbook and a full health check (needs ops:read).', argsSchema: triageArgs },
      triage,
    );
  };
}
