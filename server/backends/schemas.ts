import { z } from 'zod';

/**
 * What we accept from account-service and transaction-service, parsed at the
 * boundary. Unknown fields are dropped, so a backend adding one breaks nothing.
 * The finance tools reuse these shapes for their output.
 */
export const CurrencySchema = z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as USD');

/** Money: integer minor units and an ISO 4217 code. Never a float. */
export const MoneySchema = z.object({
  amountMinor: z.number().int().describe('amount in minor units (cents), an integer'),
  currency: CurrencySchema.describe('ISO 4217 currency code'),
});
export type Money = z.infer<typeof MoneySchema>;

export const AccountSchema = z.object({
  id: z.string(),
  ownerName: z.string(),
  type: z.string(),
  currency: CurrencySchema,
  balance: MoneySchema,
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Account = z.infer<typeof AccountSchema>;

export const AccountPageSchema = z.object({
  accounts: z.array(AccountSchema),
  nextCursor: z.string().nullable(),
});
export type AccountPage = z.infer<typeof AccountPageSchema>;

export const BalanceSchema = z.object({
  accountId: z.string(),
  balance: MoneySchema,
  asOf: z.string(),
});
export type Balance = z.infer<typeof BalanceSchema>;

export const TransactionStatusSchema = z.enum(['pending', 'completed', 'failed']);

export const TransactionSchema = z.object({
  id: z.string(),
  type: z.string(),
  status: TransactionStatusSchema,
  fromAccountId: z.string().nullable(),
  toAccountId: z.string().nullable(),
  amount: MoneySchema,
  description: z.string().nullable(),
  idempotencyKey: z.string().nullable(),
  failureReason: z.string().nullable(),
  createdAt: z.string(),
  completedAt: z.string().nullable(),
});
export type Transaction = z.infer<typeof TransactionSchema>;

export const TransactionPageSchema = z.object({
  transactions: z.array(TransactionSchema),
  nextCursor: z.string().nullable(),
});
export type TransactionPage = z.infer<typeof TransactionPageSchema>;

export const HealthBodySchema = z.object({ status: z.string() }).loose();
