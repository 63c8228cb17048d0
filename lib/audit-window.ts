import { isDuration, parseDuration } from './duration';
import { ValidationError } from './errors';

/** What `--since` accepts, for usage lines. */
export const SINCE_HINT = 'a duration back from now (90m, 1h, 7d) or an ISO time (2026-12-02T09:00:00Z)';

/**
 * The start of an audit window, as `/ops audit --since` and `npm run audit --
 * --since` take it: a duration back from `now` (lib/duration.ts), or an ISO
 * 8601 date or date-time with an offset (UTC when only a date). Anything else
 * is a ValidationError.
 */
export function parseSince(text: string, now: Date): Date {
  if (isDuration(text)) return new Date(now.getTime() - parseDuration(text));
  if (/^\d{4}-\d{2}-\d{2}$/.test(text) || /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/.test(text)) {
    const at = new Date(text);
    if (!Number.isNaN(at.getTime())) return at;
  }
  throw new ValidationError(`--since "${text.slice(0, 60)}": expected ${SINCE_HINT}`);
}
