import { z } from 'zod';
import { DURATION_HINT, isDuration } from './duration';

/**
 * The ops config's `calendars` section: each rotation published as an
 * iCalendar feed, `GET /oncall/<rotation>.ics?token=<token>` (`main` is
 * `oncall.rotation`, other names are `oncall.rotations`). Calendar apps cannot
 * send headers, so the token is in the URL; the file holds its SHA-256 only.
 */
export const CalendarsSchema = z.strictObject({
  feed: z
    .strictObject({
      /** SHA-256 (hex) of the feed token; unset: no feeds are served. */
      token_sha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected the 64 hex digits of the token\'s SHA-256').optional(),
      /** How far back and ahead the feed lists shifts. */
      days_back: z.number().int().min(0).max(90).default(7),
      days_ahead: z.number().int().min(1).max(366).default(56),
    })
    .default({ days_back: 7, days_ahead: 56 }),
  /**
   * External iCal calendars as override sources, by rotation (`main` or a name
   * in `oncall.rotations`): each event whose summary names a known user makes
   * that user the rotation's primary for the event's time (as Grafana OnCall's
   * override calendars did). Re-read every `refresh`; removed events go away.
   */
  external: z
    .record(
      z.string().regex(/^[A-Za-z0-9._-]+$/, 'a rotation name'),
      z.strictObject({
        url: z.string().url('expected an http(s) URL').refine((u) => /^https?:\/\//.test(u), 'expected an http(s) URL'),
        refresh: z.string().refine(isDuration, DURATION_HINT).default('15m'),
      }),
    )
    .default({}),
});

export type CalendarsConfig = z.output<typeof CalendarsSchema>;
