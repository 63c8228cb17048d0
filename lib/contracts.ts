import { z } from 'zod';
import { ROUTINE_REPORTS } from './ops-config-routine';

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
  /** The operations guide's routine: scheduled reports, checklists, backups, maintenance windows (workers). */
  Routine: 'routine',
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

export const RoutineReportName = z.enum(ROUTINE_REPORTS);
export type RoutineReportName = z.infer<typeof RoutineReportName>;

export const MaintenancePhase = z.enum(['announce', 'start', 'end']);
export type MaintenancePhase = z.infer<typeof MaintenancePhase>;

/**
 * One job of the routine queue: a report (from its job scheduler, or asked for
 * with `/ops report <name>`), the planner of maintenance windows, or one phase
 * of a planned window (a delayed job whose id names the window and its start).
 */
export const RoutineJobSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('report'),
    report: RoutineReportName,
    /** Slack user id of who asked; absent for scheduled runs. */
    requestedBy: z.string().regex(/^[UW][A-Z0-9]+$/).optional(),
  }),
  z.object({ kind: z.literal('maintenance-plan') }),
  z.object({
    kind: z.literal('maintenance'),
    window: z.string().regex(/^[a-z0-9-]{1,40}$/),
    phase: MaintenancePhase,
    startsAt: z.string().datetime(),
    endsAt: z.string().datetime(),
    /** For an announcement: how long before the start it is (ms). */
    beforeMs: z.number().int().positive().optional(),
  }),
]);
export type RoutineJob = z.infer<typeof RoutineJobSchema>;

/** Job scheduler id of a report (BullMQ ids cannot contain ':'). */
export const routineSchedulerId = (name: string) => `routine-${name}`;
