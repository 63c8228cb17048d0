import { z } from 'zod';
import { silentLogger, type Logger } from '../../lib/logger';
import { paginate } from './cursor';
import { createFaultControl } from './faults';
import { SimError, zodReason } from './http-errors';
import { createLedger, type Ledger } from './ledger';
import { buildSeed, type SeedData } from './seed';
import { createServiceShell, type SimulatorService } from './service-shell';
import type { Account } from './types';

export interface AccountServiceOptions {
  /** Accounts to start with; defaults to the demo seed. Share one SeedData with the transaction-service so history matches balances. */
  seed?: SeedData;
  now?: () => Date;
  logger?: Logger;
  /** Randomness behind `errorRate`; tests may pin it. */
  random?: () => number;
}

export interface AccountService extends SimulatorService {
  readonly ledger: Ledger;
}

const Currency = z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as USD');

const ListQuerySchema = z.object({
  currency: Currency.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().min(1).optional(),
});

/** amountMinor is checked by the ledger (invalid_amount), not here, so a bad amount gets its own code. */
const PostingSchema = z
  .object({
    transferId: z.string().min(1).max(128),
    fromAccountId: z.string().min(1).max(64),
    toAccountId: z.string().min(1).max(64),
    amount: z.object({ amountMinor: z.number(), currency: Currency }).strict(),
  })
  .strict();

function parse<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new SimError(400, 'validation_failed', zodReason(parsed.error));
  return parsed.data;
}

/**
 * account-service: accounts, balances, and the ledger postings the
 * transaction-service asks for. It owns the books (see ledger.ts for why that
 * makes concurrent transfers safe).
 */
export function createAccountService(options: AccountServiceOptions = {}): AccountService {
  const now = options.now ?? (() => new Date());
  const seed = options.seed ?? buildSeed({ now: now() });
  const ledger = createLedger(seed.accounts, now);
  const faults = createFaultControl({ random: options.random });
  const logger = options.logger ?? silentLogger();

  const mustGet = (id: string): Account => {
    const account = ledger.get(id);
    if (!account) throw new SimError(404, 'account_not_found', `account ${id} not found`, { accountId: id });
    return account;
  };

  const shell = createServiceShell('account-service', faults, logger, (app) => {
    app.get('/health', (_req, res) => {
      res.json({ status: 'ok', service: 'account-service', accounts: ledger.size(), time: now().toISOString() });
    });
    app.get('/accounts', (req, res) => {
      const q = parse(ListQuerySchema, req.query);
      const all = ledger.list().filter((a) => !q.currency || a.currency === q.currency);
      const page = paginate(all, (a) => ({ k: a.id, id: a.id }), { limit: q.limit, cursor: q.cursor, descending: false });
      res.json({ accounts: page.items, nextCursor: page.nextCursor });
    });
    app.get('/accounts/:id', (req, res) => {
      res.json(mustGet(req.params.id));
    });
    app.get('/accounts/:id/balance', (req, res) => {
      const a = mustGet(req.params.id);
      res.json({ accountId: a.id, balance: a.balance, asOf: now().toISOString() });
    });
    app.post('/ledger/transfers', (req, res) => {
      const body = parse(PostingSchema, req.body);
      const { posting, replayed } = ledger.applyTransfer(body);
      res.status(replayed ? 200 : 201).json(posting);
    });
    app.get('/ledger/transfers/:transferId', (req, res) => {
      const posting = ledger.getPosting(req.params.transferId);
      if (!posting) throw new SimError(404, 'not_found', `no posting for transfer ${req.params.transferId}`);
      res.json(posting);
    });
    /** Sums per currency: drills and tests check that no cent was lost. */
    app.get('/_sandbox/ledger', (_req, res) => {
      res.json({ totals: ledger.totals(), accounts: ledger.size() });
    });
  });

  return Object.assign(shell, { ledger });
}
