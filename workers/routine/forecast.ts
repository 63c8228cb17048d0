/**
 * The capacity report's forecast: a least-squares line through the history
 * (the guide's "project 3-month resource needs"), with its fit (r²) so a
 * reader can tell a trend from noise.
 */
export interface LinearFit {
  /** Change per day. */
  slopePerDay: number;
  /** Value at `originMs`. */
  intercept: number;
  originMs: number;
  /** Coefficient of determination, 0..1 (1 when every point is on the line). */
  r2: number;
  points: number;
}

const DAY_MS = 86_400_000;

/** Fits y = a + b·t to [epoch ms, value] points; undefined with fewer than two distinct times. */
export function fitLinear(points: ReadonlyArray<readonly [number, number]>): LinearFit | undefined {
  const n = points.length;
  if (n < 2) return undefined;
  const originMs = points[0]![0];
  const xs = points.map(([t]) => (t - originMs) / DAY_MS);
  const ys = points.map(([, v]) => v);
  const meanX = xs.reduce((a, b) => a + b, 0) / n;
  const meanY = ys.reduce((a, b) => a + b, 0) / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < n; i += 1) {
    const dx = xs[i]! - meanX;
    const dy = ys[i]! - meanY;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  if (sxx === 0) return undefined;
  const slopePerDay = sxy / sxx;
  const intercept = meanY - slopePerDay * meanX;
  // A flat series is fitted perfectly by a flat line.
  const r2 = syy === 0 ? 1 : Math.max(0, Math.min(1, (sxy * sxy) / (sxx * syy)));
  return { slopePerDay, intercept, originMs, r2, points: n };
}

/** The line's value at `atMs`. */
export function project(fit: LinearFit, atMs: number): number {
  return fit.intercept + fit.slopePerDay * ((atMs - fit.originMs) / DAY_MS);
}

/** Days from `fromMs` until the line reaches `limit`, or undefined when it never does (flat or falling). */
export function daysUntil(fit: LinearFit, limit: number, fromMs: number): number | undefined {
  const now = project(fit, fromMs);
  if (now >= limit) return 0;
  if (fit.slopePerDay <= 0) return undefined;
  return (limit - now) / fit.slopePerDay;
}
