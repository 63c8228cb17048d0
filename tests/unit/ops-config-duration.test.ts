import { formatDuration, isDuration, parseDuration } from '../../lib/duration';
import { ErrorCode } from '../../lib/errors';
import { durationSeconds } from '../../lib/jwt';

describe('parseDuration', () => {
  it.each([
    ['250ms', 250],
    ['90s', 90_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['4h', 14_400_000],
    ['7d', 604_800_000],
    ['1w', 604_800_000],
    ['0m', 0],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
    expect(isDuration(text)).toBe(true);
  });

  it.each(['', '5', 'm5', '5 m', '-5m', '1.5h', '5mins', 'next_business_day'])('rejects %j with a coded error', (text) => {
    expect(isDuration(text)).toBe(false);
    expect(() => parseDuration(text)).toThrow(expect.objectContaining({ code: ErrorCode.ValidationFailed }));
  });

  it('formats back in the largest units', () => {
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(604_800_000)).toBe('1w');
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(3_000)).toBe('3s');
    expect(parseDuration(formatDuration(93_784_005))).toBe(93_784_005);
  });
});

describe('durationSeconds (JWT lifetimes) shares the parser', () => {
  it('keeps its contract: seconds, bare numbers as seconds, at least 1', () => {
    expect(durationSeconds(42)).toBe(42);
    expect(durationSeconds('15m')).toBe(900);
    expect(durationSeconds('90')).toBe(90);
    expect(durationSeconds('1w')).toBe(604_800);
    expect(durationSeconds('10ms')).toBe(1);
    expect(() => durationSeconds('soon')).toThrow(expect.objectContaining({ code: ErrorCode.ValidationFailed }));
  });
});
