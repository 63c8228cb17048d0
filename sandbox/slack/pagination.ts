/** Slack's cursors are opaque base64 strings such as base64("next_ts:1512085861000543"). */
export function encodeCursor(kind: 'next_ts' | 'next_id', value: string): string {
  return Buffer.from(`${kind}:${value}`).toString('base64');
}

export function decodeCursor(cursor: string | undefined, kind: 'next_ts' | 'next_id'): string | undefined | null {
  if (cursor === undefined) return undefined;
  const decoded = Buffer.from(cursor, 'base64').toString('utf8');
  const prefix = `${kind}:`;
  // null: a cursor was given but is not one we handed out (Slack says invalid_cursor).
  return decoded.startsWith(prefix) ? decoded.slice(prefix.length) : null;
}

/** A ts as integer microseconds, so "1700000000", "1700000000.5" and "1700000000.500000" compare right. */
export function tsMicros(ts: string): bigint {
  const [sec = '0', frac = ''] = ts.split('.');
  return BigInt(sec || '0') * 1_000_000n + BigInt((frac + '000000').slice(0, 6) || '0');
}

/** Slack's `limit`: a default when absent, clamped to the method's maximum. */
export function clampLimit(limit: number | undefined, def: number, max: number): number {
  if (limit === undefined || limit <= 0) return def;
  return Math.min(limit, max);
}
