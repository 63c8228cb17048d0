/**
 * Wire shapes of the simulated core-banking services. They are an outside
 * system's contract, so the server keeps its own schemas for them and never
 * imports these (production code does not import sandbox/).
 */

/** Money: integer minor units plus an ISO 4217 code. Never a float. */
export interface Money {
  amountMinor: number;
  currency: string;
}

export type AccountType = 'checking' | 'savings' | 'business';

export interface Account {
  id: string;
  ownerName: string;
  type: AccountType;
  currency: string;
  balance: Money;
  createdAt: string;
  updatedAt: string;
}

export type TransactionType = 'transfer' | 'deposit' | 'withdrawal';
/** `pending`: the ledger outcome is not known yet (the account-service did not answer); a retry settles it. */
export type TransactionStatus = 'pending' | 'completed' | 'failed';

export interface Transaction {
  id: string;
  type: TransactionType;
  status: TransactionStatus;
  fromAccountId: string | null;
  toAccountId: string | null;
  amount: Money;
  description: string | null;
  idempotencyKey: string | null;
  failureReason: string | null;
  createdAt: string;
  completedAt: string | null;
}

/** One balanced movement the account-service applies atomically. */
export interface Posting {
  transferId: string;
  fromAccountId: string;
  toAccountId: string;
  amount: Money;
  appliedAt: string;
}
