import http from 'node:http';
import axios, { type AxiosInstance } from 'axios';
import { z } from 'zod';
import { silentLogger, type Logger } from '../../lib/logger';
import { createFaultControl } from './faults';
import { SimError, zodReason } from './http-errors';
import { buildSeed, type SeedData } from './seed';
import { createServiceShell, type SimulatorService } from './service-shell';
import { createTransactionStore, type TransactionStore } from './transaction-store';
import { createTransferProcessor, type PostingOutcome, type TransferRequest } from './transfer-processor';

export interface TransactionServiceOptions {
  /** Where the account-service (the ledger) listens. Transfers are posted there over HTTP. */
  accountServiceUrl: string;
  /** History to start with; share one SeedData with the account-service so it matches the balances. */
  seed?: SeedData;
  /** How long to wait for the account-service. @defaultValue 10000 */
  accountTimeoutMs?: number;
  now?: () => Date;
  logger?: Logger;
  random?: () => number;
}

export interface TransactionService extends SimulatorService {
  readonly store: TransactionStore;
}

const Currency = z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as USD');

const TransferBodySchema = z
  .object({
    fromAccountId: z.string().min(1).max(64),
    toAccountId: z.string().min(1).max(64),
    // Any number passes here; the integer/positive rule answers `invalid_amount`, its own code.
    amount: z.object({ amountMinor: z.number(), currency: Currency }).strict(),
    description: z.string().max(140).optional(),
  })
  .strict();

const IdempotencyKeySchema = z.string().regex(/^[\x21-\x7e]{1,255}$/, 'must be 1..255 visible ASCII characters');

const ListQuerySchema = z
  .object({
    accountId: z.string().min(1).optional(),
    status: z.enum(['pending', 'completed', 'failed']).optional(),
    type: z.enum(['transfer', 'deposit', 'withdrawal']).optional(),
    from: z.iso.datetime({ offset: true }).optional(),
    to: z.iso.datetime({ offset: true }).optional(),
    minAmountMinor: z.coerce.number().int().min(0).optional(),
    maxAmountMinor: z.coerce.number().int().min(0).optional(),
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: z.string().min(1).optional(),
  })
  .refine((q) => !q.from || !q.to || Date.parse(q.from) <= Date.parse(q.to), { message: 'from must not be after to', path: ['from'] })
  .refine((q) => q.minAmountMinor === undefined || q.maxAmountMinor === undefined || q.minAmountMinor <= q.maxAmountMinor, {
    message: 'minAmountMinor must not exceed maxAmountMinor',
    path: ['minAmountMinor'],
  });

function parse<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new SimError(400, 'validation_failed', zodReason(parsed.error));
  return parsed.data;
}

/** Posts one transfer to the account-service and classifies the answer. */
function ledgerPoster(client: AxiosInstance) {
  return async (transferId: string, r: TransferRequest): Promise<PostingOutcome> => {
    try {
      const res = await client.post('/ledger/transfers', {
        transferId,
        fromAccountId: r.fromAccountId,
        toAccountId: r.toAccountId,
        amount: r.amount,
      });
      if (res.status === 200 || res.status === 201) return { kind: 'applied', appliedAt: String(res.data.appliedAt) };
      const error = res.data?.error;
      if (res.status >= 400 && res.status < 500 && typeof error?.code === 'string') {
        return { kind: 'rejected', status: res.status, code: error.code, message: String(error.message ?? error.code), details: error.details };
      }
      return { kind: 'unknown', reason: `HTTP ${res.status}` };
    } catch (err) {
      return { kind: 'unknown', reason: (err as Error).message };
    }
  };
}

/**
 * transaction-service: transaction history and transfers. It never touches a
 * balance itself: a transfer is one posting at the account-service, which owns
 * the books. History and idempotency keys live here.
 */
export function createTransactionService(options: TransactionServiceOptions): TransactionService {
  const now = options.now ?? (() => new Date());
  const seed = options.seed ?? buildSeed({ now: now() });
  const store = createTransactionStore(seed.transactions);
  const faults = createFaultControl({ random: options.random });
  const logger = options.logger ?? silentLogger();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const client = axios.create({
    baseURL: options.accountServiceUrl,
    timeout: options.accountTimeoutMs ?? 10_000,
    httpAgent: agent,
    validateStatus: () => true,
  });
  const processor = createTransferProcessor({ store, post: ledgerPoster(client), now });

  const shell = createServiceShell('transaction-service', faults, logger, (app) => {
    app.get('/health', (_req, res) => {
      res.json({ status: 'ok', service: 'transaction-service', transactions: store.size(), time: now().toISOString() });
    });
    app.get('/transactions', (req, res) => {
      const q = parse(ListQuerySchema, req.query);
      res.json(store.list({ ...q, from: q.from ? new Date(q.from) : undefined, to: q.to ? new Date(q.to) : undefined }));
    });
    app.get('/transactions/:id', (req, res) => {
      const txn = store.get(req.params.id);
      if (!txn) throw new SimError(404, 'transaction_not_found', `transaction ${req.params.id} not found`, { transactionId: req.params.id });
      res.json(txn);
    });
    app.post('/transfers', async (req, res) => {
      const rawKey = req.get('Idempotency-Key');
      if (rawKey === undefined) throw new SimError(400, 'idempotency_key_required', 'send an Idempotency-Key header');
      const key = parse(IdempotencyKeySchema, rawKey);
      const body = parse(TransferBodySchema, req.body);
      const n = body.amount.amountMinor;
      if (!Number.isSafeInteger(n) || n <= 0) {
        throw new SimError(400, 'invalid_amount', 'amountMinor must be a positive integer (minor units)', { amountMinor: n });
      }
      if (body.fromAccountId === body.toAccountId) throw new SimError(400, 'same_account', 'source and destination are the same account');
      const { transaction, replayed } = await processor.create(key, body);
      res.status(replayed ? 200 : 201).set('Idempotent-Replayed', String(replayed)).json(transaction);
    });
  });

  const stop = shell.stop;
  return Object.assign(shell, {
    store,
    async stop() {
      await stop();
      agent.destroy();
    },
  });
}
