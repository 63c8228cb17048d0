import { z } from 'zod';
import { defineTool } from '../mcp/tool-context';
import { AccountSchema, CurrencySchema, MoneySchema } from '../backends/schemas';
import { accountLine, financeOf, formatMoney, moreLine } from './finance-format';

/** Ids are opaque but never contain path or query characters. */
export const AccountIdSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only')
  .describe('account id, e.g. acc_12fe2e940e4a');

export const LimitSchema = z.number().int().min(1).max(100).default(20).describe('page size, 1..100');
export const CursorSchema = z.string().min(1).max(512).optional().describe('nextCursor from the previous page');

const READ_ONLY = { readOnlyHint: true, openWorldHint: true } as const;

export const listAccountsTool = defineTool({
  name: 'list_accounts',
  title: 'List accounts',
  description: 'Lists accounts with owner, type, currency and balance (integer minor units). Filter by currency; page with cursor.',
  scope: 'accounts:read',
  kind: 'finance',
  input: z.object({ currency: CurrencySchema.optional(), limit: LimitSchema, cursor: CursorSchema }),
  output: z.object({ accounts: z.array(AccountSchema), nextCursor: z.string().nullable() }),
  annotations: READ_ONLY,
  async run(args, { ctx, signal }) {
    const page = await financeOf(ctx).listAccounts(args, { signal });
    const lines = page.accounts.map(accountLine);
    const text = `${page.accounts.length} account(s)${args.currency ? ` in ${args.currency}` : ''}:\n${lines.join('\n')}${moreLine(page.nextCursor)}`;
    return { structured: page, text };
  },
});

export const getAccountTool = defineTool({
  name: 'get_account',
  title: 'Get account',
  description: 'One account: owner, type, currency, balance (integer minor units), created and updated times.',
  scope: 'accounts:read',
  kind: 'finance',
  input: z.object({ accountId: AccountIdSchema }),
  output: z.object({ account: AccountSchema }),
  annotations: READ_ONLY,
  async run(args, { ctx, signal }) {
    const account = await financeOf(ctx).getAccount(args.accountId, { signal });
    return { structured: { account }, text: `${accountLine(account)}\nupdated ${account.updatedAt}` };
  },
});

export const getAccountBalanceTool = defineTool({
  name: 'get_account_balance',
  title: 'Get account balance',
  description: 'Current balance of one account as { amountMinor, currency }: integer minor units and an ISO 4217 code.',
  scope: 'accounts:read',
  kind: 'finance',
  input: z.object({ accountId: AccountIdSchema }),
  output: z.object({ accountId: z.string(), balance: MoneySchema, asOf: z.string() }),
  annotations: READ_ONLY,
  async run(args, { ctx, signal }) {
    const b = await financeOf(ctx).getBalance(args.accountId, { signal });
    return { structured: b, text: `Balance of ${b.accountId}: ${formatMoney(b.balance)} (as of ${b.asOf})` };
  },
});
