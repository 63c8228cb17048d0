import type { Account, AccountPage, Balance, Money, Transaction, TransactionPage } from './schemas';

/**
 * The contract between the MCP server core (auth, transport, ops tools) and the
 * backend layer (pooled axios clients + circuit breakers for account-service and
 * transaction-service). The core only sees this interface.
 */
export type BackendName = 'account-service' | 'transaction-service';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerStatus {
  service: BackendName;
  state: BreakerState;
  failures: number;
  /** ISO time the breaker last changed state. */
  since: string;
}

export interface BackendHealth {
  service: BackendName;
  url: string;
  healthy: boolean;
  latencyMs: number;
  breaker: BreakerState;
  error?: string;
}

export interface Backends {
  /** Probes each backend's own health endpoint (bypassing nothing: an open breaker reports unhealthy). */
  health(): Promise<BackendHealth[]>;
  breakers(): BreakerStatus[];
  /** Forces a breaker closed (ops_reset_circuit_breaker). */
  resetBreaker(service: BackendName): BreakerStatus;
  close(): Promise<void>;
}

// ---- Finance operations (the finance tools' side of the backend layer) ----

export type { Account, AccountPage, Balance, Money, Transaction, TransactionPage };

export interface CallOptions {
  /** The tool call's abort signal: a client that gave up cancels the backend call too. */
  signal?: AbortSignal;
}

export interface ListAccountsQuery {
  currency?: string;
  limit?: number;
  cursor?: string;
}

export interface ListTransactionsQuery {
  accountId?: string;
  status?: 'pending' | 'completed' | 'failed';
  /** ISO 8601; inclusive. */
  from?: string;
  /** ISO 8601; exclusive. */
  to?: string;
  minAmountMinor?: number;
  maxAmountMinor?: number;
  limit?: number;
  cursor?: string;
}

export interface TransferInput {
  fromAccountId: string;
  toAccountId: string;
  amount: Money;
  description?: string;
  /** Same key + same body returns the same transfer; same key + another body is E_IDEMPOTENCY_CONFLICT. */
  idempotencyKey: string;
}

export interface TransferResult {
  transaction: Transaction;
  /** True when the key had been used before with this body. */
  replayed: boolean;
}

/**
 * Account and transaction operations. Every method goes through the service's
 * circuit breaker and throws CodedError: E_ACCOUNT_NOT_FOUND, E_INSUFFICIENT_FUNDS,
 * E_CURRENCY_MISMATCH, E_INVALID_AMOUNT, E_IDEMPOTENCY_CONFLICT, E_NOT_FOUND,
 * E_VALIDATION_FAILED for the backend's 4xx answers; E_BACKEND_UNAVAILABLE for
 * 5xx, timeouts and connection errors; E_CIRCUIT_OPEN when the breaker is open.
 */
export interface FinanceBackends {
  listAccounts(query: ListAccountsQuery, options?: CallOptions): Promise<AccountPage>;
  getAccount(accountId: string, options?: CallOptions): Promise<Account>;
  getBalance(accountId: string, options?: CallOptions): Promise<Balance>;
  listTransactions(query: ListTransactionsQuery, options?: CallOptions): Promise<TransactionPage>;
  getTransaction(transactionId: string, options?: CallOptions): Promise<Transaction>;
  createTransfer(input: TransferInput, options?: CallOptions): Promise<TransferResult>;
}

/** True when a Backends object also carries the finance operations (createBackends' result does). */
export function hasFinance(backends: Backends): backends is Backends & FinanceBackends {
  const b = backends as Partial<FinanceBackends>;
  return typeof b.getBalance === 'function' && typeof b.createTransfer === 'function';
}
