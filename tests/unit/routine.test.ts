import { parseOpsConfig } from '../../lib/ops-config';
import { RoutineSchema } from '../../lib/ops-config-routine';
import { pngSize, renderCapacityChart } from '../../workers/routine/chart';
import { daysUntil, fitLinear, project } from '../../workers/routine/forecast';
import { occurrences } from '../../workers/routine/maintenance';
import { warningThreshold } from '../../workers/routine/tls-check';

const DAY = 86_400_000;

describe('routine config', () => {
  it('defaults to the guide: weekly Sunday 02:00-04:00 UTC and monthly first Sunday 02:00-06:00 UTC', () => {
    const r = RoutineSchema.parse({});
    expect(r.timezone).toBe('UTC');
    expect(r.maintenance.windows.map((w) => [w.name, w.cron, w.duration])).toEqual([
      ['weekly', '0 2 * * 0', '2h'],
      ['monthly', '0 2 * * 0#1', '4h'],
    ]);
    expect(r.maintenance.announce_before).toEqual(['1d', '1h']);
    expect(r.certificate_warn_days).toEqual([30, 14, 7]);
    expect(r.schedules.morning_health).toBe('0 8 * * *');
  });

  it('names the bad key and the reason', () => {
    expect(() => parseOpsConfig('routine:\n  schedules:\n    backup: "every day"\n')).toThrow(/routine\.schedules\.backup: expected a cron pattern/);
    expect(() => parseOpsConfig('routine:\n  timezone: Mars/Olympus\n')).toThrow(/routine\.timezone: expected an IANA time zone/);
    expect(() => parseOpsConfig('routine:\n  maintenance:\n    windows:\n      - { name: w, cron: "0 2 * * 0", duration: 0m }\n')).toThrow(
      /routine\.maintenance\.windows\[0\]\.duration: must be longer than 0/,
    );
    expect(() => parseOpsConfig('routine:\n  tls_endpoint: []\n')).toThrow(/routine\.tls_endpoint: unknown key/);
  });
});

describe('maintenance windows', () => {
  const windows = RoutineSchema.parse({}).maintenance.windows;

  it('plans the next weekly window, and merges the weekly one into the monthly on the first Sunday', () => {
    // Wednesday 2 Dec 2026: the next Sunday, 6 Dec, is the first Sunday of December.
    const planned = occurrences(windows, 'UTC', new Date('2026-12-02T12:00:00Z'), 12 * DAY);
    expect(planned.map((o) => [o.window.name, o.start.toISOString(), o.end.toISOString()])).toEqual([
      ['monthly', '2026-12-06T02:00:00.000Z', '2026-12-06T06:00:00.000Z'],
      ['weekly', '2026-12-13T02:00:00.000Z', '2026-12-13T04:00:00.000Z'],
    ]);
  });

  it('includes a window already under way', () => {
    const planned = occurrences(windows, 'UTC', new Date('2026-12-13T03:00:00Z'), DAY);
    expect(planned.map((o) => o.start.toISOString())).toEqual(['2026-12-13T02:00:00.000Z']);
  });

  it('reads the cron in the configured time zone', () => {
    const planned = occurrences([windows[0]!], 'Europe/London', new Date('2026-07-01T00:00:00Z'), 7 * DAY);
    // 02:00 in London in summer is 01:00 UTC.
    expect(planned[0]!.start.toISOString()).toBe('2026-07-05T01:00:00.000Z');
  });
});

describe('forecast', () => {
  it('fits a line exactly through points on a line, and projects it', () => {
    const t0 = Date.UTC(2026, 0, 1);
    const fit = fitLinear(Array.from({ length: 30 }, (_, i) => [t0 + i * DAY, 10 + 2 * i] as [number, number]))!;
    expect(fit.slopePerDay).toBeCloseTo(2, 10);
    expect(fit.intercept).toBeCloseTo(10, 10);
    expect(fit.r2).toBeCloseTo(1, 10);
    expect(project(fit, t0 + 119 * DAY)).toBeCloseTo(248, 8);
    expect(daysUntil(fit, 100, t0 + 29 * DAY)).toBeCloseTo(16, 8);
  });

  it('reports a poor fit for noise, and no fit for one point', () => {
    const t0 = Date.UTC(2026, 0, 1);
    const noisy = fitLinear([0, 1, 2, 3, 4, 5, 6, 7].map((i) => [t0 + i * DAY, i % 2 === 0 ? 0 : 10] as [number, number]))!;
    expect(noisy.r2).toBeLessThan(0.1);
    expect(fitLinear([[t0, 1]])).toBeUndefined();
    expect(daysUntil(fitLinear([[t0, 5], [t0 + DAY, 4]])!, 10, t0)).toBeUndefined();
  });
});

describe('certificate thresholds', () => {
  it('is the tightest threshold the certificate is inside of; 0 once expired', () => {
    expect(warningThreshold(45, [30, 14, 7])).toBeUndefined();
    expect(warningThreshold(29.5, [30, 14, 7])).toBe(30);
    expect(warningThreshold(10, [30, 14, 7])).toBe(14);
    expect(warningThreshold(3, [30, 14, 7])).toBe(7);
    expect(warningThreshold(-1, [30, 14, 7])).toBe(0);
  });
});

describe('capacity chart', () => {
  it('renders a PNG of exactly the asked size', async () => {
    const t0 = Date.now() - 10 * DAY;
    const history = Array.from({ length: 40 }, (_, i) => [t0 + i * 6 * 3600_000, 20 + i] as [number, number]);
    const png = await renderCapacityChart(
      [
        { title: 'CPU', unit: '%', history, trend: [history[0]!, [t0 + 100 * DAY, 300]] },
        { title: 'Memory', unit: 'MB', history, trend: [] },
      ],
      640,
      360,
    );
    expect(pngSize(png)).toEqual({ width: 640, height: 360 });
    expect(pngSize(Buffer.from('not a png at all, not at all'))).toBeUndefined();
  });
});
