import { z } from 'zod';
import { DURATION_HINT, isDuration } from './duration';

const Duration = z.string({ error: DURATION_HINT }).refine(isDuration, DURATION_HINT);

/**
 * The ops config's `retention` section: how long what the bot keeps in Redis lives. Nothing the bot
 * writes is kept for ever: a resolved incident goes, with everything that belongs to it, once it has
 * been resolved this long. Optional: a config without it gets the defaults.
 */
export const RetentionSchema = z
  .strictObject({
    /**
     * A resolved incident is deleted this long after it resolved: its record, alerts, timeline, Slack
     * outbox lane and escalation state (a post-mortem export needs the timeline: export it before). @defaultValue 90d
     */
    incidents: Duration.default('90d'),
    /** How often the bot sweeps for what is past its retention. @defaultValue 1h */
    sweep_interval: Duration.default('1h'),
    /**
     * Entries an open incident's timeline keeps at most (a flapping alert adds two per flap); the oldest
     * beyond it are trimmed, logged and counted (retention_timeline_trimmed_total). @defaultValue 100000
     */
    timeline_max_entries: z.number({ error: 'expected a whole number ≥ 1000' }).int().min(1000, 'expected a whole number ≥ 1000').default(100_000),
    /**
     * The ops audit (`<prefix>:audit:ops`) keeps entries this long; the sweep trims older ones and the
     * kept chain still verifies (export what must be kept longer: `npm run audit`). @defaultValue 400d
     */
    audit: Duration.default('400d'),
    /** Entries the ops audit keeps at most; the oldest beyond it are trimmed by the sweep. @defaultValue 1000000 */
    audit_max_entries: z.number({ error: 'expected a whole number ≥ 1000' }).int().min(1000, 'expected a whole number ≥ 1000').default(1_000_000),
  })
  .prefault({});

export type RetentionConfig = z.output<typeof RetentionSchema>;
