import { CodedError, ErrorCode } from '../../lib/errors';
import type { ToolContext } from '../mcp/tool-context';
import { hasFinance, type FinanceBackends } from '../backends/types';
import type { Account, Money, Transaction } from '../backends/schemas';

const fractionDigits = new Map<string, number>();

/** Minor-unit exponent of an ISO 4217 code (USD 2, JPY 0, BHD 3), from Intl, cached. */
function digitsOf(currency: string): number {
  let d = fractionDigits.get(currency);
  if (d === undefined) {
    try {
      d = new Intl.NumberFormat('en-US', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
    } catch {
      d = 2;
    }
    fractionDigits.set(currency, d);
  }
  return d;
}

/**
 * "USD 1,234.56" from integer minor units by cutting the digit string: no
 * float ever touches money (and no Intl call per amount, which was ~1% of a
 * balance call's CPU).
 */
export function formatMoney(m: Money): string {
  const digits = digitsOf(m.currency);
  const sign = m.amountMinor < 0 ? '-' : '';
  const all = String(Math.abs(m.amountMinor)).padStart(digits + 1, '0');
  const major = all.slice(0, all.length - digits).replace(/\B(?=(\d{3})+$)/g, ',');
  const minor = digits > 0 ? `.${all.slice(all.length - digits)}` : '';
  return `${m.currency} ${sign}${major}${minor}`;
}

export function accountLine(a: Account): string {
  return `${a.id}  ${a.ownerName} (${a.type}, ${a.currency})  balance ${formatMoney(a.balance)}`;
}

export function transactionLine(t: Transaction): string {
  const parties = t.type === 'deposit' ? `→ ${t.toAccountId}` : t.type === 'withdrawal' ? `${t.fromAccountId} →` : `${t.fromAccountId} → ${t.toAccountId}`;
  const why = t.failureReason ? ` (${t.failureReason})` : '';
  const note = t.description ? `  "${t.description}"` : '';
  return `${t.id}  ${t.createdAt}  ${t.type} ${t.status}${why}  ${formatMoney(t.amount)}  ${parties}${note}`;
}

export function moreLine(nextCursor: string | null): string {
  return nextCursor ? `\nMore results: pass cursor "${nextCursor}".` : '';
}

/** The finance operations behind the context, or a clear error when the server runs without them. */
export function financeOf(ctx: ToolContext): FinanceBackends {
  if (!hasFinance(ctx.backends)) {
    throw new CodedError(ErrorCode.BackendUnavailable, 'finance backends are not configured on this server');
  }
  return ctx.backends;
}
