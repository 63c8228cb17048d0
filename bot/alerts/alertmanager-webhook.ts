import crypto from 'node:crypto';
import express, { type NextFunction, type Request, type Response, Router } from 'express';
import type { Logger } from '../../lib/logger';
import { AlertmanagerWebhookSchema, describeIssues } from './alertmanager-payload';
import type { AlertIntake } from './alert-intake';
import type { BotMetrics } from '../metrics';

export interface AlertmanagerWebhookOptions {
  /** The bearer token Alertmanager sends (`http_config.authorization`). */
  token: string;
  intake: AlertIntake;
  logger: Logger;
  metrics: BotMetrics;
  /** @defaultValue '1mb' */
  bodyLimit?: string;
  /**
   * False while the store cannot take writes (Redis reconnecting): the delivery is answered 503 at once.
   * Without it, commands wait in the client's offline queue and the request hangs until Redis is back.
   */
  storeReady?: () => boolean;
  /** A notification not stored within this long is answered 503 (Alertmanager retries; the ingest is idempotent). @defaultValue 5000 */
  storeTimeoutMs?: number;
}

class StoreTimeout extends Error {}

const sha256 = (s: string) => crypto.createHash('sha256').update(s).digest();

/**
 * A check of given tokens against one expected token. Compares digests, so neither the content nor the length of
 * the token leaks through timing; the expected one's is computed once (a check per delivery).
 */
export function tokenMatcher(expected: string): (given: string) => boolean {
  const digest = sha256(expected);
  return (given) => crypto.timingSafeEqual(sha256(given), digest);
}

/**
 * `POST /alertmanager/webhook`: authenticate, parse, validate, hand over.
 * Authentication runs before the body is read, so an anonymous caller cannot
 * make us parse a megabyte.
 */
export function createAlertmanagerWebhookRouter(options: AlertmanagerWebhookOptions): Router {
  const { logger, metrics } = options;
  const router = Router();

  const reply = (res: Response, code: number, body: Record<string, unknown>) => {
    metrics.webhookRequests.inc({ code: String(code) });
    res.status(code).json(body);
  };

  const tokenMatches = tokenMatcher(options.token);
  const authenticate = (req: Request, res: Response, next: NextFunction) => {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (!match || !tokenMatches(match[1]!.trim())) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="alertmanager-webhook"');
      reply(res, 401, { ok: false, error: 'unauthorized', message: 'missing or invalid bearer token' });
      return;
    }
    next();
  };

  const parseJson = express.json({ limit: options.bodyLimit ?? '1mb', type: () => true });

  router.post('/alertmanager/webhook', authenticate, parseJson, async (req: Request, res: Response) => {
    const parsed = AlertmanagerWebhookSchema.safeParse(req.body);
    if (!parsed.success) {
      reply(res, 400, { ok: false, error: 'invalid_payload', message: describeIssues(parsed.error) });
      return;
    }
    if (options.storeReady && !options.storeReady()) {
      reply(res, 503, { ok: false, error: 'unavailable', message: 'the incident store (Redis) is unavailable; retry' });
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new StoreTimeout()), options.storeTimeoutMs ?? 5000);
      });
      const result = await Promise.race([options.intake.receive(parsed.data), deadline]);
      reply(res, 200, { ok: true, incident: result.incidentId || null, created: result.created, changed: result.changed });
    } catch (err) {
      // 5xx makes Alertmanager retry, which is what we want when Redis is briefly away. A timed-out
      // ingest may still complete when Redis answers again: the retry finds it done (idempotent by fingerprint).
      const timedOut = err instanceof StoreTimeout;
      logger.error(timedOut ? {} : { err }, timedOut ? 'alertmanager webhook: the store did not answer in time' : 'alertmanager webhook failed');
      reply(res, 503, { ok: false, error: 'unavailable', message: timedOut ? 'the incident store did not answer in time; retry' : 'could not store the notification; retry' });
    } finally {
      clearTimeout(timer);
    }
  });

  // Body parser errors (bad JSON, too large) become clear 4xx answers, never a crash.
  router.use('/alertmanager/webhook', (err: Error & { status?: number; type?: string }, _req: Request, res: Response, next: NextFunction) => {
    if (err.type === 'entity.too.large') return reply(res, 413, { ok: false, error: 'too_large', message: 'body exceeds the limit' });
    if (err.type === 'entity.parse.failed') return reply(res, 400, { ok: false, error: 'invalid_json', message: err.message });
    if (err.type === 'encoding.unsupported') return reply(res, 415, { ok: false, error: 'unsupported_encoding', message: 'unsupported Content-Encoding' });
    // A body that cannot be read (bad gzip, a cut connection): the client's fault, said in JSON, never a stack trace.
    if (typeof err.status === 'number' && err.status >= 400 && err.status < 500) {
      return reply(res, 400, { ok: false, error: 'invalid_body', message: 'the body could not be read (bad encoding or compression)' });
    }
    next(err);
  });

  return router;
}
