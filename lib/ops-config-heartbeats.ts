import { z } from 'zod';
import { DURATION_HINT, isDuration } from './duration';

/**
 * The ops config's `heartbeats` section: dead-man's switches. A monitored
 * source POSTs `/heartbeats/<name>` with its own token at least every
 * `interval`; Alertmanager's always-firing `Watchdog` alert is the
 * `alertmanager` heartbeat. When one stops for longer than its interval an
 * incident opens (`HeartbeatMissing`), and it resolves when the beats return.
 */
const Duration = z
  .string({ error: DURATION_HINT })
  .refine(isDuration, DURATION_HINT)
  .refine((v) => !/^(0+[a-z]+)+$/.test(v), 'must be longer than 0');
// Declared here rather than imported: ops-config-schema.ts imports this file.
const Priority = z.enum(['P1', 'P2', 'P3', 'P4'], { error: 'expected one of P1, P2, P3, P4' });

export const HeartbeatSourceSchema = z.strictObject({
  description: z.string().optional(),
  /** Longest silence before the incident opens. */
  interval: Duration,
  priority: Priority.default('P2'),
  /**
   * SHA-256 (hex) of the source's bearer token, so the file holds no secret:
   * `printf %s "$TOKEN" | sha256sum`.
   */
  token_sha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected the 64 hex digits of the token\'s SHA-256'),
});

export const HeartbeatsSchema = z
  .strictObject({
    watchdog: z
      .strictObject({
        /** Alerts by this name on the Alertmanager webhook are heartbeats, never incidents. */
        alertname: z.string().min(1).default('Watchdog'),
        /** Longer than the Watchdog route's repeat_interval in alertmanager.yml. */
        interval: Duration.default('10m'),
        /** Silence from the alerting pipeline is the worst failure. */
        priority: Priority.default('P1'),
      })
      .default({ alertname: 'Watchdog', interval: '10m', priority: 'P1' }),
    sources: z.record(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'expected a heartbeat name (lowercase, digits, - _)'), HeartbeatSourceSchema).default({}),
  })
  .refine((h) => !('alertmanager' in h.sources), { message: '"alertmanager" is the Watchdog heartbeat; pick another name', path: ['sources'] });

export type HeartbeatsConfig = z.output<typeof HeartbeatsSchema>;
