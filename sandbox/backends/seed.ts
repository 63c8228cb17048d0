import crypto from 'node:crypto';
import type { Account, AccountType, Transaction } from './types';

/** A demo account before history is applied. */
export interface SeedAccount {
  ownerName: string;
  type: AccountType;
  currency: string;
  /** Opening deposit, minor units. */
  openingMinor: number;
}

export const DEMO_ACCOUNTS: SeedAccount[] = [
  { ownerName: 'Alice Johnson', type: 'checking', currency: 'USD', openingMinor: 1_250_000 },
  { ownerName: 'Bob Martinez', type: 'savings', currency: 'USD', openingMinor: 4_800_000 },
  { ownerName: 'Acme Corp', type: 'business', currency: 'USD', openingMinor: 25_000_000 },
  { ownerName: 'Carol Nguyen', type: 'checking', currency: 'EUR', openingMinor: 930_000 },
  { ownerName: 'Dmitri Petrov', type: 'savings', currency: 'EUR', openingMinor: 2_100_000 },
  { ownerName: 'Globex GmbH', type: 'business', currency: 'EUR', openingMinor: 18_000_000 },
  { ownerName: 'Emma Clarke', type: 'checking', currency: 'GBP', openingMinor: 640_000 },
  { ownerName: 'Farid Haddad', type: 'savings', currency: 'GBP', openingMinor: 1_575_000 },
];

/** Stable ids: the same owner and currency always give the same `acc_...`, across restarts. */
export function accountId(seed: Pick<SeedAccount, 'ownerName' | 'currency'>): string {
  return `acc_${crypto.createHash('sha256').update(`${seed.ownerName}|${seed.currency}`).digest('hex').slice(0, 12)}`;
}

/** mulberry32: a tiny seeded PRNG so the demo history is the same on every start. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SeedData {
  accounts: Account[];
  transactions: Transaction[];
}

const DAY_MS = 86_400_000;

/**
 * Accounts and a 30-day history that add up: each balance is its opening
 * deposit plus the completed history. Declined card payments appear as
 * `failed` withdrawals and move nothing.
 */
export function buildSeed(options: { accounts?: SeedAccount[]; now?: Date; historySize?: number; seed?: number } = {}): SeedData {
  const seeds = options.accounts ?? DEMO_ACCOUNTS;
  const now = (options.now ?? new Date()).getTime();
  const rand = prng(options.seed ?? 42);
  const start = now - 30 * DAY_MS;
  const balances = new Map<string, number>();
  const accounts: Account[] = seeds.map((s) => {
    const id = accountId(s);
    balances.set(id, 0);
    const at = new Date(start - DAY_MS).toISOString();
    return { id, ownerName: s.ownerName, type: s.type, currency: s.currency, balance: { amountMinor: 0, currency: s.currency }, createdAt: at, updatedAt: at };
  });
  const transactions: Transaction[] = [];
  let seq = 0;
  const record = (t: Omit<Transaction, 'id' | 'idempotencyKey' | 'completedAt'>) => {
    seq += 1;
    transactions.push({ ...t, id: `txn_seed${String(seq).padStart(4, '0')}`, idempotencyKey: null, completedAt: t.status === 'completed' ? t.createdAt : null });
  };

  accounts.forEach((a, i) => {
    const amount = seeds[i]!.openingMinor;
    balances.set(a.id, amount);
    record({ type: 'deposit', status: 'completed', fromAccountId: null, toAccountId: a.id, amount: { amountMinor: amount, currency: a.currency }, description: 'Opening deposit', failureReason: null, createdAt: new Date(start - DAY_MS).toISOString() });
  });

  const count = options.historySize ?? 60;
  for (let i = 0; i < count; i += 1) {
    const at = new Date(start + Math.floor(((i + rand()) / count) * 30 * DAY_MS)).toISOString();
    const from = accounts[Math.floor(rand() * accounts.length)]!;
    const peers = accounts.filter((a) => a.currency === from.currency && a.id !== from.id);
    const amountMinor = 100 * (5 + Math.floor(rand() * 995)) + Math.floor(rand() * 100);
    const money = { amountMinor, currency: from.currency };
    const roll = rand();
    if (roll < 0.6 && peers.length > 0) {
      const to = peers[Math.floor(rand() * peers.length)]!;
      if (balances.get(from.id)! < amountMinor) continue;
      balances.set(from.id, balances.get(from.id)! - amountMinor);
      balances.set(to.id, balances.get(to.id)! + amountMinor);
      record({ type: 'transfer', status: 'completed', fromAccountId: from.id, toAccountId: to.id, amount: money, description: `Transfer ${i + 1}`, failureReason: null, createdAt: at });
    } else if (roll < 0.8) {
      balances.set(from.id, balances.get(from.id)! + amountMinor);
      record({ type: 'deposit', status: 'completed', fromAccountId: null, toAccountId: from.id, amount: money, description: 'Payroll deposit', failureReason: null, createdAt: at });
    } else {
      const short = balances.get(from.id)! < amountMinor;
      const declined = short || roll > 0.95;
      if (!declined) balances.set(from.id, balances.get(from.id)! - amountMinor);
      record({ type: 'withdrawal', status: declined ? 'failed' : 'completed', fromAccountId: from.id, toAccountId: null, amount: money, description: 'Card payment', failureReason: short ? 'insufficient_funds' : declined ? 'card_declined' : null, createdAt: at });
    }
  }

  for (const a of accounts) a.balance.amountMinor = balances.get(a.id)!;
  transactions.sort((x, y) => (x.createdAt === y.createdAt ? x.id.localeCompare(y.id) : x.createdAt.localeCompare(y.createdAt)));
  return { accounts, transactions };
}
