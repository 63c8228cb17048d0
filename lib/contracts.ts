import { z } from 'zod';
import { ActionNameSchema, ActionParamsSchemas, type ActionName } from './action-catalog';
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
  /** Automatic remediations a runbook declares, queued by the bot when the incident opens. */
  Remediations: 'remediations',
  /** The operations guide's routine: scheduled reports, checklists, backups, maintenance windows (workers). */
  Routine: 'routine',
} as const;
export type QueueName = (typeof QueueName)[keyof typeof QueueName];

/**
 * How many finished runbook-action jobs BullMQ keeps (their hashes and the completed/failed sets):
 * every job added to the runbook-actions queue, by the bot or the workers, carries these (docs/redis.md).
 */
export const RUNBOOK_JOB_RETENTION = { removeOnComplete: 1000, removeOnFail: 5000 } as const;

/**
 * The options of every runbook-action job (the bot's queue defaults, and the `maintenance off` the workers queue
 * for a window's end): RUNBOOK_JOB_ATTEMPTS attempts with exponential backoff from RUNBOOK_JOB_BACKOFF_MS, kept as above.
 */
export function runbookJobOptions(settings: { RUNBOOK_JOB_ATTEMPTS?: number; RUNBOOK_JOB_BACKOFF_MS?: number } = {}) {
  return { attempts: settings.RUNBOOK_JOB_ATTEMPTS ?? 5, backoff: { type: 'exponential' as const, delay: settings.RUNBOOK_JOB_BACKOFF_MS ?? 2000 }, ...RUNBOOK_JOB_RETENTION };
}

export const RunbookActionName = ActionNameSchema;
export type RunbookActionName = ActionName;

/** Where a job reports back: the incident's Slack thread. */
export const SlackThreadRefSchema = z.object({
  channel: z.string().min(1),
  threadTs: z.string().regex(/^\d+\.\d+$/, 'must be a Slack ts'),
});
export type SlackThreadRef = z.infer<typeof SlackThreadRefSchema>;

/** An idempotency key: also the BullMQ job id and the outbox id of the result, so it has no ':'. */
export const RequestIdSchema = z.string().regex(/^[A-Za-z0-9_.-]{8,128}$/, 'expected a request id (8-128 of A-Z a-z 0-9 _ . -)');

/**
 * One runbook action to run. The bot has checked RBAC, confirmation, approval
 * and the target lock before it enqueues; the worker parses this (and the
 * params against lib/action-catalog.ts) before it acts.
 */
export const RunbookActionJobSchema = z
  .object({
    action: RunbookActionName,
    /** One per request: a double click, a second replica or a retried job carry the same one. */
    requestId: RequestIdSchema,
    /** The incident it is for; absent for an action run from a channel. */
    incidentId: z.string().regex(/^INC-\d+$/).optional(),
    /** Slack user id of the person who asked (`system:<component>` for diagnostics and remediation). */
    requestedBy: z.string().min(1),
    /** Slack user id of the second person, when the action needed an approval. */
    approvedBy: z.string().min(1).optional(),
    /** Progress and the result go here: the incident thread, or a channel when `threadTs` is absent. */
    reply: z.object({ channel: z.string().min(1), threadTs: z.string().regex(/^\d+\.\d+$/).optional() }),
    params: z.record(z.string(), z.unknown()).default({}),
    requestedAt: z.string().datetime(),
    origin: z.enum(['button', 'command', 'diagnostics', 'remediation', 'schedule']).default('command'),
    /** The target lock the bot took (lib/action-catalog ACTION_POLICIES.target); the worker releases it when done. */
    lock: z.object({ key: z.string().min(1), token: z.string().min(1) }).optional(),
  })
  .superRefine((job, ctx) => {
    const parsed = ActionParamsSchemas[job.action].safeParse(job.params);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', path: ['params', ...issue.path.map(String)], message: issue.message });
    }
  });
export type RunbookActionJob = z.infer<typeof RunbookActionJobSchema>;

export const RunbookActionResultSchema = z.object({
  ok: z.boolean(),
  summary: z.string(),
  replyTs: z.string().optional(),
});
export type RunbookActionResult = z.infer<typeof RunbookActionResultSchema>;

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

/**
 * One automatic remediation (runbooks/*.yaml `remediation`), queued by the bot
 * when an incident opens and the ops config allows it. The worker enforces the
 * hourly limit, acts, and announces it in the thread with an Undo button.
 */
export const RemediationJobSchema = z.object({
  kind: z.literal('block_top_offender'),
  /** Also the job id and the announcement's outbox id: one run per incident. */
  requestId: RequestIdSchema,
  incidentId: z.string().regex(/^INC-\d+$/),
  alertname: z.string().min(1).max(200),
  /** The incident's channel (id); replies thread behind its root in the outbox. */
  channel: z.string().min(1),
  ttlSeconds: z.number().int().min(60).max(30 * 86_400),
  maxPerHour: z.number().int().min(1).max(100),
  requestedAt: z.string().datetime(),
});
export type RemediationJob = z.infer<typeof RemediationJobSchema>;

/** What the Undo button of an automatic remediation undoes; the button's value is only the requestId. */
export const RemediationUndoSchema = z.object({
  requestId: RequestIdSchema,
  incidentId: z.string().regex(/^INC-\d+$/),
  address: z.string().min(2).max(64),
  channel: z.string().min(1),
});
export type RemediationUndo = z.infer<typeof RemediationUndoSchema>;

export const remediationKeys = (prefix: string) => ({
  /** Runs per alert name and clock hour. */
  count: (alertname: string, hour: number) => `${prefix}:remediation:count:${alertname}:${hour}`,
  undo: (requestId: string) => `${prefix}:remediation:undo:${requestId}`,
});

/** The Undo button's action id. */
export const REMEDIATION_UNDO_ACTION = 'remediation_undo';
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
