import { AccountPageSchema, AccountSchema, BalanceSchema, TransactionPageSchema, TransactionSchema } from './schemas';
import type { ServiceClient } from './service-client';
import type { FinanceBackends, ListTransactionsQuery } from './types';

const id = (value: string) => encodeURIComponent(value);

/** Drops undefined so axios does not send `?status=undefined`. */
function query(q: object): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(q)) if (v !== undefined) out[k] = v as string | number;
  return out;
}

/**
 * The finance operations over the two service clients: accounts and balances
 * from account-service; history and transfers from transaction-service (which
 * posts the transfer to account-service's ledger itself).
 */
export function createFinanceClient(accounts: ServiceClient, transactions: ServiceClient): FinanceBackends {
  return {
    listAccounts: (q, o) => accounts.request('list_accounts', { method: 'GET', url: '/accounts', params: query(q) }, AccountPageSchema, o),
    getAccount: (accountId, o) => accounts.request('get_account', { method: 'GET', url: `/accounts/${id(accountId)}` }, AccountSchema, o),
    getBalance: (accountId, o) => accounts.request('get_balance', { method: 'GET', url: `/accounts/${id(accountId)}/balance` }, BalanceSchema, o),
    listTransactions: (q: ListTransactionsQuery, o) =>
      transactions.request('list_transactions', { method: 'GET', url: '/transactions', params: query(q) }, TransactionPageSchema, o),
    getTransaction: (txnId, o) => transactions.request('get_transaction', { method: 'GET', url: `/transactions/${id(txnId)}` }, TransactionSchema, o),
    async createTransfer(input, o) {
      const { idempotencyKey, ...body } = input;
      const res = await transactions.call(
        'create_transfer',
        { method: 'POST', url: '/transfers', data: body, headers: { 'Idempotency-Key': idempotencyKey } },
        TransactionSchema,
        o,
      );
      return { transaction: res.data, replayed: res.status === 200 };
    },
  };
}
