/**
 * One set of stable error codes for the whole product. A test asserts the code;
 * a user sees it next to the message. Classes are tiny and are recognised by
 * `name`/`code` as well as `instanceof`, because errors cross queues and HTTP.
 */
export enum ErrorCode {
  ConfigInvalid = 'E_CONFIG_INVALID',
  ValidationFailed = 'E_VALIDATION_FAILED',
  Unauthorized = 'E_UNAUTHORIZED',
  Forbidden = 'E_FORBIDDEN',
  NotFound = 'E_NOT_FOUND',
  Conflict = 'E_CONFLICT',
  Maintenance = 'E_MAINTENANCE',
  BackendUnavailable = 'E_BACKEND_UNAVAILABLE',
  CircuitOpen = 'E_CIRCUIT_OPEN',
  /** Finance business refusals: nothing was written. */
  InsufficientFunds = 'E_INSUFFICIENT_FUNDS',
  AccountNotFound = 'E_ACCOUNT_NOT_FOUND',
  CurrencyMismatch = 'E_CURRENCY_MISMATCH',
  InvalidAmount = 'E_INVALID_AMOUNT',
  IdempotencyConflict = 'E_IDEMPOTENCY_CONFLICT',
  SlackApi = 'E_SLACK_API',
  McpCall = 'E_MCP_CALL',
  Internal = 'E_INTERNAL',
}

export class CodedError extends Error {
  readonly code: ErrorCode;
  readonly details?: unknown;

  constructor(code: ErrorCode, message: string, details?: unknown) {
    super(message);
    this.name = 'CodedError';
    this.code = code;
    this.details = details;
  }

  toJSON(): { code: ErrorCode; message: string; details?: unknown } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

export class ConfigError extends CodedError {
  constructor(message: string, details?: unknown) {
    super(ErrorCode.ConfigInvalid, message, details);
    this.name = 'ConfigError';
  }
}

export class ValidationError extends CodedError {
  constructor(message: string, details?: unknown) {
    super(ErrorCode.ValidationFailed, message, details);
    this.name = 'ValidationError';
  }
}

export class NotFoundError extends CodedError {
  constructor(message: string, details?: unknown) {
    super(ErrorCode.NotFound, message, details);
    this.name = 'NotFoundError';
  }
}

export function isCodedError(err: unknown): err is CodedError {
  return (
    err instanceof CodedError ||
    (typeof err === 'object' &&
      err !== null &&
      typeof (err as { code?: unknown }).code === 'string' &&
      String((err as { code: string }).code).startsWith('E_'))
  );
}

/** Normalises anything thrown into a CodedError without leaking stack traces. */
export function asCodedError(err: unknown): CodedError {
  if (err instanceof CodedError) return err;
  if (isCodedError(err)) {
    const e = err as { code: ErrorCode; message?: string; details?: unknown };
    return new CodedError(e.code, e.message ?? e.code, e.details);
  }
  const message = err instanceof Error ? err.message : String(err);
  return new CodedError(ErrorCode.Internal, message);
}
