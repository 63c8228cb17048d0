import axios, { type AxiosError } from 'axios';
import { CodedError, ErrorCode } from '../../lib/errors';
import type { BackendOutcome } from './backend-metrics';
import { CONNECT_TIMEOUT_CODE } from './http-agent';
import type { BackendName } from './types';

/** The backends' own 4xx codes and what our tools answer for each. */
const BUSINESS_CODES: Record<string, ErrorCode> = {
  insufficient_funds: ErrorCode.InsufficientFunds,
  account_not_found: ErrorCode.AccountNotFound,
  currency_mismatch: ErrorCode.CurrencyMismatch,
  invalid_amount: ErrorCode.InvalidAmount,
  idempotency_conflict: ErrorCode.IdempotencyConflict,
  transaction_not_found: ErrorCode.NotFound,
  not_found: ErrorCode.NotFound,
};

const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ECONNABORTED', CONNECT_TIMEOUT_CODE]);

interface BackendErrorBody {
  error?: { code?: unknown; message?: unknown; details?: unknown };
}

/**
 * The breaker's rule: the backend failing (5xx, timeout, connection error)
 * counts; the backend answering "no" (4xx) and our own cancellation do not.
 */
export function isBreakerFailure(err: unknown): boolean {
  if (axios.isCancel(err)) return false;
  if (!axios.isAxiosError(err)) return false;
  return !err.response || err.response.status >= 500;
}

export function outcomeOf(err: unknown): BackendOutcome {
  if (err instanceof CodedError && err.code === ErrorCode.CircuitOpen) return 'circuit_open';
  if (axios.isCancel(err)) return 'cancelled';
  if (!axios.isAxiosError(err)) return 'bad_response';
  if (err.response) return err.response.status >= 500 ? 'server_error' : 'business_error';
  return TIMEOUT_CODES.has(String(err.code)) ? 'timeout' : 'connection_error';
}

/** Turns whatever a backend call threw into the CodedError a tool shows. Never leaks a stack or a URL query. */
export function toCodedError(service: BackendName, err: unknown): CodedError {
  if (err instanceof CodedError) return err;
  if (axios.isCancel(err)) return new CodedError(ErrorCode.BackendUnavailable, `call to ${service} was cancelled`, { service });
  if (!axios.isAxiosError(err)) return new CodedError(ErrorCode.Internal, `call to ${service} failed: ${(err as Error)?.message ?? String(err)}`);
  const e = err as AxiosError<BackendErrorBody>;
  if (!e.response) {
    const kind = TIMEOUT_CODES.has(String(e.code)) ? 'timed out' : 'could not connect';
    return new CodedError(ErrorCode.BackendUnavailable, `${service} ${kind}: ${e.message}`, { service, cause: e.code });
  }
  const { status } = e.response;
  const body = e.response.data?.error;
  const backendCode = typeof body?.code === 'string' ? body.code : undefined;
  const message = typeof body?.message === 'string' ? body.message : `HTTP ${status}`;
  const details = { service, status, backendCode, ...(isRecord(body?.details) ? body.details : {}) };
  if (status >= 500) {
    return new CodedError(ErrorCode.BackendUnavailable, `${service} failed (HTTP ${status}${backendCode ? ` ${backendCode}` : ''}): ${message}`, details);
  }
  const code = (backendCode ? BUSINESS_CODES[backendCode] : undefined) ?? ErrorCode.ValidationFailed;
  return new CodedError(code, message, details);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
