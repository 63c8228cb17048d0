import { z } from 'zod';

/**
 * Job contracts between the bot and the workers. BullMQ checks nothing at run
 * time, so every processor parses `job.data` with these schemas first.
 */
export const QueueName = {
  /** Runbook actions requested from Slack (buttons, /ops commands). */
  RunbookActions: 'runbook-actions',
} as const;
export type QueueName = (typeof QueueName)[keyof typeof QueueName];

export const RunbookActionName = z.enum(['health_check']);
export type RunbookActionName = z.infer<typeof RunbookActionName>;

/** Where a job reports back: the incident's Slack thread. */
export const SlackThreadRefSchema = z.object({
  channel: z.string().min(1),
  threadTs: z.string().regex(/^\d+\.\d+$/, 'must be a Slack ts'),
});
export type SlackThreadRef = z.infer<typeof SlackThreadRefSchema>;

export const RunbookActionJobSchema = z.object({
  action: RunbookActionName,
  incidentId: z.string().regex(/^INC-\d+$/),
  /** Slack user id of the person who asked, for the audit trail and the reply. */
  requestedBy: z.string().min(1),
  thread: SlackThreadRefSchema,
  params: z.record(z.string(), z.unknown()).default({}),
  requestedAt: z.string().datetime(),
});
export type RunbookActionJob = z.infer<typeof RunbookActionJobSchema>;

export const RunbookActionResultSchema = z.object({
  ok: z.boolean(),
  summary: z.string(),
  replyTs: z.string().optional(),
});
export type RunbookActionResult = z.infer<typeof RunbookActionResultSchema>;

/** BullMQ job ids cannot contain ':'; incident ids and Slack ts never do. */
export function runbookJobId(job: Pick<RunbookActionJob, 'action' | 'incidentId'>, nonce: string): string {
  return `${job.incidentId}-${job.action}-${nonce}`.replace(/[^A-Za-z0-9_.-]/g, '_');
}
