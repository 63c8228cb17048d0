import { z } from 'zod';
import { CodedError, ErrorCode } from '../../lib/errors';
import { defineTool } from '../mcp/tool-context';
import { CurrencySchema, TransactionSchema, TransactionStatusSchema } from '../backends/schemas';
import { AccountIdSchema, CursorSchema, LimitSchema } from './finance-account-tools';
import { financeOf, formatMoney, moreLine, transactionLine } from './finance-format';

export const TransactionIdSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only')
  .describe('transaction id, e.g. txn_62b1000de0fdf51f3629');

const IsoTime = z.iso.datetime({ offset: true });
const MinorAmount = z.number().int().min(0);

export const listTransactionsTool = defineTool({
  name: 'list_transactions',
  title: 'List transactions',
  description:
    'Transaction history, newest first. Filters: accountId (either side), from (inclusive) / to (exclusive) ISO 8601 times, minAmountMinor / maxAmountMinor (integer minor units, inclusive), status. Page with cursor.',
  scope: 'transactions:read',
  kind: 'finance',
  input: z
    .object({
      accountId: AccountIdSchema.optional(),
      from: IsoTime.optional().describe('ISO 8601, inclusive'),
      to: IsoTime.optional().describe('ISO 8601, exclusive'),
      minAmountMinor: MinorAmount.optional().describe('integer minor units, inclusive'),
      maxAmountMinor: MinorAmount.optional().describe('integer minor units, inclusive'),
      status: TransactionStatusSchema.optional(),
      limit: LimitSchema,
      cursor: CursorSchema,
    })
    .refine((q) => !q.from || !q.to || Date.parse(q.from) <= Date.parse(q.to), { message: 'from must not be after to', path: ['from'] })
    .refine((q) => q.minAmountMinor === undefined || q.maxAmountMinor === undefined || q.minAmountMinor <= q.maxAmountMinor, {
      message: 'minAmountMinor must not exceed maxAmountMinor',
      path: ['minAmountMinor'],
    }),
  output: z.object({ transactions: z.array(TransactionSchema), nextCursor: z.string().nullable() }),
  annotations: { readOnlyHint: true, openWorldHint: true },
  async run(args, { ctx, signal }) {
    const page = await financeOf(ctx).listTransactions(args, { signal });
    const text = `${page.transactions.length} transaction(s):\n${page.transactions.map(transactionLine).join('\n')}${moreLine(page.nextCursor)}`;
    return { structured: page, text };
  },
});

export const getTransactionTool = defineTool({
  name: 'get_transaction',
  title: 'Get transaction',
  description: 'One transaction: type, status, parties, amount (integer minor units), times, failure reason.',
  scope: 'transactions:read',
  kind: 'finance',
  input: z.object({ transactionId: TransactionIdSchema }),
  output: z.object({ transaction: TransactionSchema }),
  annotations: { readOnlyHint: true, openWorldHint: true },
  async run(args, { ctx, signal }) {
    const transaction = await financeOf(ctx).getTransaction(args.transactionId, { signal });
    return { structured: { transaction }, text: transactionLine(transaction) };
  },
});

export const createTransferTool = defineTool({
  name: 'create_transfer',
  title: 'Create transfer',
  description:
    'Moves money between two accounts of the same currency. amount.amountMinor is a positive integer in minor units (cents). idempotencyKey is required: the same key with the same body returns the same transfer; with another body it is refused (E_IDEMPOTENCY_CONFLICT). Refusals write nothing: E_INSUFFICIENT_FUNDS, E_ACCOUNT_NOT_FOUND, E_CURRENCY_MISMATCH, E_INVALID_AMOUNT.',
  scope: 'transactions:write',
  kind: 'finance',
  input: z.object({
    fromAccountId: AccountIdSchema,
    toAccountId: AccountIdSchema,
    amount: z.object({
      // Any number gets through the schema so that 0, -5 or 1.5 answer E_INVALID_AMOUNT, not a generic schema error.
      amountMinor: z.number().describe('positive integer, minor units (e.g. 1050 = USD 10.50)'),
      currency: CurrencySchema,
    }),
    description: z.string().max(140).optional(),
    idempotencyKey: z
      .string()
      .regex(/^[\x21-\x7e]{1,255}$/, 'must be 1..255 visible ASCII characters')
      .describe('unique per intended transfer, e.g. a UUID; reuse it to retry safely'),
  }),
  output: z.object({ transaction: TransactionSchema, replayed: z.boolean() }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async run(args, { ctx, signal }) {
    const n = args.amount.amountMinor;
    if (!Number.isSafeInteger(n) || n <= 0) {
      throw new CodedError(ErrorCode.InvalidAmount, `amount.amountMinor must be a positive integer in minor units, got ${n}`, { amountMinor: n });
    }
    if (args.fromAccountId === args.toAccountId) {
      throw new CodedError(ErrorCode.ValidationFailed, 'fromAccountId and toAccountId are the same account');
    }
    const result = await financeOf(ctx)
      .createTransfer(args, { signal })
      .catch((err: unknown) => {
        // A timeout or 5xx leaves the outcome unknown; the key makes a retry safe, so say so.
        if (err instanceof CodedError && err.code === ErrorCode.BackendUnavailable) {
          throw new CodedError(err.code, `${err.message} (outcome unknown: retry with the same idempotencyKey, it never moves money twice)`, err.details);
        }
        throw err;
      });
    const t = result.transaction;
    const verb = result.replayed ? 'Already done (same idempotency key)' : 'Transferred';
    const text = `${verb}: ${formatMoney(t.amount)} from ${t.fromAccountId} to ${t.toAccountId}, ${t.status}, transaction ${t.id}`;
    return { structured: result, text };
  },
});
