import type { RunningServer } from '../../lib/http';
import type { Logger } from '../../lib/logger';
import { createAccountService, type AccountService } from './account-service';
import { buildSeed } from './seed';
import { createTransactionService, type TransactionService } from './transaction-service';

export { createAccountService, type AccountService, type AccountServiceOptions } from './account-service';
export { createTransactionService, type TransactionService, type TransactionServiceOptions } from './transaction-service';
export { buildSeed, accountId, DEMO_ACCOUNTS, type SeedAccount, type SeedData } from './seed';
export type { FaultState } from './faults';
export type { Account, Money, Transaction } from './types';

export interface BackendSimulatorsOptions {
  /** 0 picks a free port (tests). sandbox/main.ts passes 4001 / 4002. */
  accountPort?: number;
  transactionPort?: number;
  host?: string;
  logger?: Logger;
}

export interface RunningSimulators {
  accountService: AccountService;
  transactionService: TransactionService;
  accountUrl: string;
  transactionUrl: string;
  /** The listening servers, for tests that watch sockets. */
  accountServer: RunningServer;
  transactionServer: RunningServer;
  stop(): Promise<void>;
}

/**
 * Starts both simulators over one seed (so history matches balances), the
 * account-service first because the transaction-service posts to it.
 */
export async function startBackendSimulators(options: BackendSimulatorsOptions = {}): Promise<RunningSimulators> {
  const host = options.host ?? '127.0.0.1';
  const seed = buildSeed();
  const accountService = createAccountService({ seed, logger: options.logger });
  const account = await accountService.start(options.accountPort ?? 0, host);
  const transactionService = createTransactionService({ seed, accountServiceUrl: account.url, logger: options.logger });
  try {
    const transaction = await transactionService.start(options.transactionPort ?? 0, host);
    return {
      accountService,
      transactionService,
      accountUrl: account.url,
      transactionUrl: transaction.url,
      accountServer: account,
      transactionServer: transaction,
      async stop() {
        await transactionService.stop();
        await accountService.stop();
      },
    };
  } catch (err) {
    await accountService.stop();
    throw err;
  }
}
