import crypto from 'node:crypto';
import { SimError } from './http-errors';
import type { TransactionStore } from './transaction-store';
import type { Money, Transaction } from './types';

export interface TransferRequest {
  fromAccountId: string;
  toAccountId: string;
  amount: Money;
  description?: string;
}

/** What the account-service answered to a posting. `unknown`: no answer (5xx, timeout, connection error). */
export type PostingOutcome =
  | { kind: 'applied'; appliedAt: string }
  | { kind: 'rejected'; status: number; code: string; message: string; details?: Record<string, unknown> }
  | { kind: 'unknown'; reason: string };

export interface TransferResult {
  transaction: Transaction;
  /** True when this answer repeats an earlier request with the same key. */
  replayed: boolean;
}

interface KeyEntry {
  fingerprint: string;
  transactionId: string;
  inflight?: Promise<Transaction>;
  /** A business refusal after the transfer was already visible as pending; replayed as is. */
  failure?: SimError;
}

/**
 * Idempotent transfers. A key is reserved synchronously before the first
 * `await`, so two concurrent requests with one key can never both post: the
 * second waits for the first's outcome. The posting itself carries the
 * transaction id as its own idempotency key at the account-service, so
 * re-driving a `pending` transfer (its first posting got no answer) can never
 * move money twice.
 *
 * A business refusal (insufficient funds, unknown account, currency mismatch)
 * writes nothing and frees the key, unless the transfer was already recorded
 * as pending, in which case it becomes `failed`.
 */
export function createTransferProcessor(deps: {
  store: TransactionStore;
  post: (transactionId: string, request: TransferRequest) => Promise<PostingOutcome>;
  now: () => Date;
}) {
  const keys = new Map<string, KeyEntry>();

  async function drive(key: string, entry: KeyEntry, request: TransferRequest): Promise<Transaction> {
    const existing = deps.store.get(entry.transactionId);
    const startedAt = deps.now().toISOString();
    const outcome = await deps.post(entry.transactionId, request);
    const base: Transaction = existing ?? {
      id: entry.transactionId,
      type: 'transfer',
      status: 'pending',
      fromAccountId: request.fromAccountId,
      toAccountId: request.toAccountId,
      amount: { ...request.amount },
      description: request.description ?? null,
      idempotencyKey: key,
      failureReason: null,
      createdAt: startedAt,
      completedAt: null,
    };
    if (outcome.kind === 'applied') {
      const done: Transaction = { ...base, status: 'completed', completedAt: outcome.appliedAt };
      deps.store.put(done);
      return done;
    }
    if (outcome.kind === 'rejected') {
      const error = new SimError(outcome.status, outcome.code as SimError['code'], outcome.message, outcome.details);
      if (!existing) {
        keys.delete(key);
        throw error;
      }
      deps.store.put({ ...existing, status: 'failed', failureReason: outcome.code });
      entry.failure = error;
      throw error;
    }
    deps.store.put(base);
    throw new SimError(503, 'upstream_unavailable', `account-service did not confirm the posting (${outcome.reason}); retry with the same Idempotency-Key`, {
      transactionId: entry.transactionId,
    });
  }

  function run(key: string, entry: KeyEntry, request: TransferRequest): Promise<Transaction> {
    const inflight = drive(key, entry, request).finally(() => {
      entry.inflight = undefined;
    });
    entry.inflight = inflight;
    return inflight;
  }

  async function create(key: string, request: TransferRequest): Promise<TransferResult> {
    const fingerprint = fingerprintOf(request);
    const entry = keys.get(key);
    if (!entry) {
      const fresh: KeyEntry = { fingerprint, transactionId: `txn_${crypto.randomBytes(10).toString('hex')}` };
      keys.set(key, fresh);
      return { transaction: await run(key, fresh, request), replayed: false };
    }
    if (entry.fingerprint !== fingerprint) {
      throw new SimError(409, 'idempotency_conflict', 'this Idempotency-Key was used with a different transfer', { transactionId: entry.transactionId });
    }
    if (entry.inflight) return { transaction: await entry.inflight, replayed: true };
    if (entry.failure) throw entry.failure;
    const stored = deps.store.get(entry.transactionId);
    if (stored && stored.status !== 'pending') return { transaction: stored, replayed: true };
    return { transaction: await run(key, entry, request), replayed: true };
  }

  return { create };
}

/** Canonical form of a request: key order and an absent vs empty description do not matter. */
export function fingerprintOf(r: TransferRequest): string {
  return JSON.stringify([r.fromAccountId, r.toAccountId, r.amount.amountMinor, r.amount.currency, r.description ?? '']);
}
