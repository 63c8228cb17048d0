import { z } from 'zod';
import { DURATION_HINT, isDuration } from './duration';

/**
 * The ops config's `remediation` section: whether the automatic remediations
 * runbooks declare (runbooks/*.yaml `remediation`) may run, and their limits.
 * Off unless a team turns it on.
 */
export const RemediationSchema = z.strictObject({
  enabled: z.boolean({ error: 'expected true or false' }).default(false),
  /** Per alert name, across every incident and replica. */
  max_per_hour: z.number({ error: 'expected a whole number > 0' }).int().min(1).max(100).default(3),
  /** How long an automatic block lasts. */
  block_ttl: z.string({ error: DURATION_HINT }).refine(isDuration, DURATION_HINT).default('1h'),
});

export type RemediationConfig = z.output<typeof RemediationSchema>;
