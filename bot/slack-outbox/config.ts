import { z } from 'zod';


const ms = (def: number) => z.number().int().positive().default(def);

/**
 * Limits and storm settings of the outbox. Defaults follow Slack's published
 * limits; every value can be overridden (tests, a workspace with other limits).
 */
export const SlackOutboxConfigSchema = z.strictObject({
  /** Minimum gap between two chat.postMessage calls in one channel (Slack: 1 per second). @defaultValue 1000 */
  postIntervalMs: ms(1000),
  /** chat.update budget across the workspace (Slack Tier 3: 50+ per minute). @defaultValue 50 */
  updatesPerMinute: z.number().positive().default(50),
  /** chat.update calls allowed at once before the per-minute rate applies. @defaultValue 10 */
  updateBurst: z.number().int().positive().default(10),
  /** Edits of one message are coalesced: at most one per this window, showing the latest state. @defaultValue 1000 */
  editIntervalMs: ms(1000),
  /** New incidents per minute in a channel above which they go into a digest (ops config `storm.threshold_per_minute`). @defaultValue 10 */
  stormThresholdPerMinute: z.number().int().positive().default(10),
  /**
   * Incidents per digest message; more start another digest. Lines are packed
   * into sections of ≤ 3000 chars, so even 100 long lines stay under Block Kit's 50 blocks. @defaultValue 50
   */
  digestSize: z.number().int().min(1).max(100).default(50),
  /** A storm's digest takes new incidents until this long after its last one; later ones start a new digest. @defaultValue 600000 */
  digestWindowMs: ms(10 * 60_000),
  /** Pumps for channels with work run at once in this process. @defaultValue 4 */
  concurrency: z.number().int().positive().default(4),
  /** Longest a pump sleeps before it looks again (new work, a backoff ending). @defaultValue 1000 */
  maxSleepMs: ms(1000),
  /** Writes a pump sends before it yields the worker slot to other channels. @defaultValue 20 */
  maxOpsPerRun: z.number().int().positive().default(20),
  /** Lease on a lane while one of its writes is in flight (a crashed sender's lane frees after it). @defaultValue 30000 */
  inFlightLeaseMs: ms(30_000),
  /** Backoff after a failed call: doubles per attempt from the base, up to the max. */
  retryBaseMs: ms(1000),
  retryMaxMs: ms(60_000),
  /** How often the consumer makes sure every channel with work has a pump. @defaultValue 30000 */
  sweepIntervalMs: ms(30_000),
});

export type SlackOutboxConfig = z.output<typeof SlackOutboxConfigSchema>;
export type SlackOutboxConfigInput = z.input<typeof SlackOutboxConfigSchema>;
