import { z } from 'zod';

/**
 * Job contracts between the bot and the workers. BullMQ checks nothing at run
 * time, so every processor parses `job.data` with these schemas first.
 */
export const QueueName = {
  /** Runbook actions requested from Slack (buttons, /ops commands). */
  RunbookActions: 'runbook-actions',
  /** Every Slack write: pump jobs of the Slack outbox (lib/slack-outbox.ts), consumed by the bot. */
  SlackOutbox: 'slack-outbox',
  /** Escalation steps, SLA clocks and snooze ends: delayed jobs the bot's escalation engine runs. */
  Escalations: 'escalations',
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

const IncidentIdSchema = z.string().regex(/^INC-\d+$/);

/**
 * One delayed job of the escalation engine. `generation` is the plan it belongs
 * to: every ack, re-plan or snooze starts a new one, so a job of an older plan
 * is recognised as stale when it fires.
 */
export const EscalationJobSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('step'),
    incidentId: IncidentIdSchema,
    generation: z.number().int().positive(),
    /** planEscalation's step id, e.g. "r0-s1". */
    stepId: z.string().regex(/^r\d+-s\d+$/),
    dueAt: z.string().datetime(),
  }),
  z.object({
    kind: z.literal('sla'),
    incidentId: IncidentIdSchema,
    generation: z.number().int().positive(),
    dueAt: z.string().datetime(),
  }),
  z.object({
    kind: z.literal('resume'),
    incidentId: IncidentIdSchema,
    generation: z.number().int().positive(),
    dueAt: z.string().datetime(),
  }),
]);
export type EscalationJob = z.infer<typeof EscalationJobSchema>;
