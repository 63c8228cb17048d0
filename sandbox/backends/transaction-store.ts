import { paginate } from './cursor';
import type { Transaction, TransactionStatus, TransactionType } from './types';

export interface TransactionFilter {
  accountId?: string;
  status?: TransactionStatus;
  type?: TransactionType;
  /** Inclusive lower bound on createdAt. */
  from?: Date;
  /** Exclusive upper bound on createdAt. */
  to?: Date;
  minAmountMinor?: number;
  maxAmountMinor?: number;
  limit: number;
  cursor?: string;
}

/** The transaction-service's history: newest first, keyset-paginated. */
export interface TransactionStore {
  get(id: string): Transaction | undefined;
  put(txn: Transaction): void;
  list(filter: TransactionFilter): { transactions: Transaction[]; nextCursor: string | null };
  size(): number;
}

/** Transactions are flat apart from `amount`, so a two-level copy is a full one. */
const copy = (t: Transaction): Transaction => ({ ...t, amount: { ...t.amount } });

export function createTransactionStore(initial: Transaction[] = []): TransactionStore {
  const byId = new Map<string, Transaction>(initial.map((t) => [t.id, copy(t)]));

  function matches(t: Transaction, f: TransactionFilter): boolean {
    if (f.accountId && t.fromAccountId !== f.accountId && t.toAccountId !== f.accountId) return false;
    if (f.status && t.status !== f.status) return false;
    if (f.type && t.type !== f.type) return false;
    const at = Date.parse(t.createdAt);
    if (f.from && at < f.from.getTime()) return false;
    if (f.to && at >= f.to.getTime()) return false;
    if (f.minAmountMinor !== undefined && t.amount.amountMinor < f.minAmountMinor) return false;
    if (f.maxAmountMinor !== undefined && t.amount.amountMinor > f.maxAmountMinor) return false;
    return true;
  }

  return {
    get: (id) => {
      const t = byId.get(id);
      return t && copy(t);
    },
    put: (txn) => {
      byId.set(txn.id, copy(txn));
    },
    list: (f) => {
      const hits = [...byId.values()].filter((t) => matches(t, f));
      const page = paginate(hits, (t) => ({ k: t.createdAt, id: t.id }), { limit: f.limit, cursor: f.cursor, descending: true });
      return { transactions: page.items.map(copy), nextCursor: page.nextCursor };
    },
    size: () => byId.size,
  };
}
