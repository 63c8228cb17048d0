import { SimError } from './http-errors';

/**
 * Opaque keyset cursors: the sort key of the last item returned. Keyset rather
 * than offset, so a transfer created while someone pages never shifts a page
 * and never shows an item twice.
 */
export interface CursorKey {
  /** Primary sort value (an ISO time or an id). */
  k: string;
  /** Tie-breaker: the item id. */
  id: string;
}

export function encodeCursor(key: CursorKey): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

export function decodeCursor(cursor: string): CursorKey {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Partial<CursorKey>;
    if (typeof parsed.k === 'string' && typeof parsed.id === 'string') return { k: parsed.k, id: parsed.id };
  } catch {
    // fall through
  }
  throw new SimError(400, 'invalid_cursor', 'cursor is not one this service issued');
}

/** Orders by (k, id) with a direction; returns a page and the cursor for the next one. */
export function paginate<T>(
  items: T[],
  keyOf: (item: T) => CursorKey,
  options: { limit: number; cursor?: string; descending: boolean },
): { items: T[]; nextCursor: string | null } {
  const sign = options.descending ? -1 : 1;
  const compare = (a: CursorKey, b: CursorKey) => sign * (a.k === b.k ? cmp(a.id, b.id) : cmp(a.k, b.k));
  const sorted = [...items].sort((a, b) => compare(keyOf(a), keyOf(b)));
  const after = options.cursor ? decodeCursor(options.cursor) : undefined;
  const rest = after ? sorted.filter((item) => compare(keyOf(item), after) > 0) : sorted;
  const page = rest.slice(0, options.limit);
  const last = page[page.length - 1];
  return { items: page, nextCursor: rest.length > options.limit && last ? encodeCursor(keyOf(last)) : null };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
