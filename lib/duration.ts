import { ValidationError } from './errors';

/**
 * One duration syntax for the whole product: JWT lifetimes, escalation delays,
 * on-call shift lengths, response times. A number with a unit, optionally
 * several in a row, largest first: "90s", "15m", "1h30m", "1w", "250ms".
 */
const UNIT_MS = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
} as const;
type Unit = keyof typeof UNIT_MS;

const WHOLE = /^(?:\d+(?:ms|s|m|h|d|w))+$/;
const PART = /(\d+)(ms|s|m|h|d|w)/g;

export const DURATION_HINT = 'expected a duration like 5m';

/** True when `text` is a duration this module can parse. */
export function isDuration(text: string): boolean {
  return WHOLE.test(text);
}

/** Parses "1h30m" style durations into milliseconds; throws ValidationError otherwise. */
export function parseDuration(text: string): number {
  if (!WHOLE.test(text)) throw new ValidationError(`invalid duration "${text}": ${DURATION_HINT}, 90s, 1h30m or 1w`);
  let total = 0;
  for (const match of text.matchAll(PART)) {
    total += Number(match[1]) * UNIT_MS[match[2] as Unit];
  }
  return total;
}

/** Renders milliseconds back in the largest units that divide it: 5400000 → "1h30m". */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  const units: Unit[] = ['w', 'd', 'h', 'm', 's', 'ms'];
  let rest = Math.round(ms);
  let out = '';
  for (const unit of units) {
    const size = UNIT_MS[unit];
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return out;
}
