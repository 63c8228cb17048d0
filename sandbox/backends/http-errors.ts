import type { NextFunction, Request, Response } from 'express';
import type { ZodError } from 'zod';

/**
 * The simulators' error codes: what a real core-banking API answers, in the
 * `{ error: { code, message } }` shape. The server maps these codes to its own.
 */
export type SimErrorCode =
  | 'validation_failed'
  | 'invalid_amount'
  | 'invalid_cursor'
  | 'same_account'
  | 'idempotency_key_required'
  | 'idempotency_conflict'
  | 'account_not_found'
  | 'transaction_not_found'
  | 'not_found'
  | 'currency_mismatch'
  | 'insufficient_funds'
  | 'upstream_unavailable'
  | 'service_unavailable'
  | 'internal_error';

export class SimError extends Error {
  constructor(
    readonly status: number,
    readonly code: SimErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'SimError';
  }
}

export function sendError(res: Response, status: number, code: SimErrorCode, message: string, details?: Record<string, unknown>): void {
  res.status(status).json({ error: details ? { code, message, details } : { code, message } });
}

/** One readable line out of a zod error: the first problem with its path. */
export function zodReason(error: ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
}

/**
 * Last middleware of each simulator: SimError keeps its status and code; a
 * malformed JSON body is a 400; anything else is a 500 without a stack trace.
 */
export function errorMiddleware(err: unknown, _req: Request, res: Response, _next: NextFunction): void {
  if (err instanceof SimError) return sendError(res, err.status, err.code, err.message, err.details);
  const e = err as { type?: string; status?: number; message?: string };
  if (e?.type === 'entity.parse.failed') return sendError(res, 400, 'validation_failed', 'request body is not valid JSON');
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
    return sendError(res, e.status, 'validation_failed', e.message ?? 'bad request');
  }
  sendError(res, 500, 'internal_error', 'unexpected error');
}

export function notFoundMiddleware(req: Request, res: Response): void {
  sendError(res, 404, 'not_found', `no route for ${req.method} ${req.path}`);
}
