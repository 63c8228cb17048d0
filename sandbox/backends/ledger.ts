import { SimError } from './http-errors';
import type { Account, Money, Posting } from './types';

/**
 * The account-service's books. It is the only writer of balances, and every
 * change is one synchronous step (check, debit, credit) with no `await` in
 * between: Node runs it to completion, so no concurrent request can interleave
 * between the funds check and the write. That is what keeps transfers from
 * overdrawing an account or losing a cent, without locks.
 *
 * Postings are keyed by `transferId`, so the transaction-service can retry a
 * posting whose answer it never saw without applying it twice.
 */
export interface Ledger {
  list(): Account[];
  get(id: string): Account | undefined;
  applyTransfer(input: Omit<Posting, 'appliedAt'>): { posting: Posting; replayed: boolean };
  getPosting(transferId: string): Posting | undefined;
  size(): number;
  /** Sum of balances per currency: the invariant tests check. */
  totals(): Record<string, number>;
}

/** Largest amount one transfer may move; keeps every sum far inside Number.MAX_SAFE_INTEGER. */
export const MAX_TRANSFER_MINOR = 1_000_000_000_000;

/** Accounts are flat apart from `balance`: a two-level copy is a full one, and much cheaper than structuredClone. */
const copy = (a: Account): Account => ({ ...a, balance: { ...a.balance } });

export function createLedger(accounts: Account[], now: () => Date = () => new Date()): Ledger {
  const byId = new Map<string, Account>(accounts.map((a) => [a.id, copy(a)]));
  const postings = new Map<string, Posting>();

  function mustGet(id: string): Account {
    const account = byId.get(id);
    if (!account) throw new SimError(404, 'account_not_found', `account ${id} not found`, { accountId: id });
    return account;
  }

  function checkAmount(amount: Money): void {
    const n = amount.amountMinor;
    if (!Number.isSafeInteger(n) || n <= 0 || n > MAX_TRANSFER_MINOR) {
      throw new SimError(400, 'invalid_amount', `amountMinor must be an integer between 1 and ${MAX_TRANSFER_MINOR}`, {
        amountMinor: n,
      });
    }
  }

  function applyTransfer(input: Omit<Posting, 'appliedAt'>): { posting: Posting; replayed: boolean } {
    const previous = postings.get(input.transferId);
    if (previous) {
      const same =
        previous.fromAccountId === input.fromAccountId &&
        previous.toAccountId === input.toAccountId &&
        previous.amount.amountMinor === input.amount.amountMinor &&
        previous.amount.currency === input.amount.currency;
      if (!same) throw new SimError(409, 'idempotency_conflict', `transfer ${input.transferId} was posted with a different body`);
      return { posting: previous, replayed: true };
    }
    checkAmount(input.amount);
    if (input.fromAccountId === input.toAccountId) throw new SimError(400, 'same_account', 'source and destination are the same account');
    const from = mustGet(input.fromAccountId);
    const to = mustGet(input.toAccountId);
    for (const account of [from, to]) {
      if (account.currency !== input.amount.currency) {
        throw new SimError(422, 'currency_mismatch', `account ${account.id} holds ${account.currency}, transfer is in ${input.amount.currency}`, {
          accountId: account.id,
          accountCurrency: account.currency,
          transferCurrency: input.amount.currency,
        });
      }
    }
    if (from.balance.amountMinor < input.amount.amountMinor) {
      throw new SimError(422, 'insufficient_funds', `account ${from.id} has insufficient funds`, {
        accountId: from.id,
        availableMinor: from.balance.amountMinor,
        requestedMinor: input.amount.amountMinor,
      });
    }
    const at = now().toISOString();
    from.balance.amountMinor -= input.amount.amountMinor;
    to.balance.amountMinor += input.amount.amountMinor;
    from.updatedAt = at;
    to.updatedAt = at;
    const posting: Posting = { ...input, amount: { ...input.amount }, appliedAt: at };
    postings.set(input.transferId, posting);
    return { posting, replayed: false };
  }

  return {
    list: () => [...byId.values()].map(copy),
    get: (id) => {
      const a = byId.get(id);
      return a && copy(a);
    },
    size: () => byId.size,
    applyTransfer,
    getPosting: (id) => postings.get(id),
    totals: () => {
      const sums: Record<string, number> = {};
      for (const a of byId.values()) sums[a.currency] = (sums[a.currency] ?? 0) + a.balance.amountMinor;
      return sums;
    },
  };
}
