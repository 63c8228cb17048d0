import { DateTime, IANAZone } from 'luxon';
import { z } from 'zod';
import { DURATION_HINT, isDuration } from './duration';
import { RetentionSchema } from './ops-config-retention';
import { CalendarsSchema } from './ops-config-calendars';
import { HeartbeatsSchema } from './ops-config-heartbeats';
import { PlatformSchema } from './ops-config-platform';
import { RemediationSchema } from './ops-config-remediation';
import { RoutineSchema } from './ops-config-routine';

/**
 * The ops config file (OPS_CONFIG), one zod schema per section. Keys mirror
 * the YAML exactly (snake_case), so an error's key path is the path a person
 * sees in the file. Cross-references (policy names, users) are checked in
 * ops-config.ts once the sections parse.
 */

export const PRIORITIES = ['P1', 'P2', 'P3', 'P4'] as const;
export const PrioritySchema = z.enum(PRIORITIES, { error: 'expected one of P1, P2, P3, P4' });
export type Priority = z.infer<typeof PrioritySchema>;

/** The special delay / response time: the next start of business hours. */
export const NEXT_BUSINESS_DAY = 'next_business_day';

export const DurationTextSchema = z.string({ error: DURATION_HINT }).refine(isDuration, DURATION_HINT);

/** A duration, or next_business_day. */
export const DelaySchema = z
  .string({ error: `${DURATION_HINT} or ${NEXT_BUSINESS_DAY}` })
  .refine((v) => v === NEXT_BUSINESS_DAY || isDuration(v), `${DURATION_HINT} or ${NEXT_BUSINESS_DAY}`);

export const TimeOfDaySchema = z
  .string({ error: 'expected a time like 09:00' })
  .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected a time like 09:00');

export const TimeZoneSchema = z
  .string({ error: 'expected an IANA time zone like Europe/London' })
  .refine((tz) => IANAZone.isValidZone(tz), 'expected an IANA time zone like Europe/London');

export const IsoDateSchema = z
  .string({ error: 'expected a date like 2025-12-25' })
  .refine((v) => /^\d{4}-\d{2}-\d{2}$/.test(v) && DateTime.fromISO(v).isValid, 'expected a date like 2025-12-25');

/** YAML turns unquoted timestamps into Date objects; accept both and keep ISO text. */
const isoText = (v: unknown) => (v instanceof Date ? v.toISOString() : v);

/** A date or a date-time (ISO 8601); without an offset it is read in the section's time zone. */
export const IsoDateTimeSchema = z.preprocess(
  isoText,
  z
    .string({ error: 'expected an ISO date-time like 2025-01-06T09:00:00Z' })
    .refine((v) => DateTime.fromISO(v, { setZone: true }).isValid, 'expected an ISO date-time like 2025-01-06T09:00:00Z'),
);

const NameSchema = z.string().regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, . _ and - only');

/** Channel names, stored without the '#'. */
const ChannelNameSchema = z
  .string({ error: 'expected a channel name' })
  .min(1, 'expected a channel name')
  .transform((s) => s.replace(/^#/, ''))
  .pipe(z.string().regex(/^[a-z0-9._-]{1,80}$/, 'expected a Slack channel name (lowercase, digits, - _ .)'));

export const ChannelsSchema = z.strictObject({
  P1: ChannelNameSchema,
  P2: ChannelNameSchema,
  P3: ChannelNameSchema,
  P4: ChannelNameSchema,
  reports: ChannelNameSchema,
  /**
   * Where an incident's thread goes when Slack refuses its own channel for good (channel_not_found,
   * not_in_channel, is_archived): without it, that incident's root and replies (pages) are dropped.
   */
  fallback: ChannelNameSchema.optional(),
});

const LabelMapSchema = z.record(z.string().min(1), z.string());

const RegexSchema = z.string().refine((re) => {
  try {
    new RegExp(re);
    return true;
  } catch {
    return false;
  }
}, 'expected a valid regular expression');

export const RoutingRuleSchema = z
  .strictObject({
    name: z.string().optional(),
    match: LabelMapSchema.optional(),
    match_re: z.record(z.string().min(1), RegexSchema).optional(),
    priorities: z.array(PrioritySchema).min(1).optional(),
    channel: ChannelNameSchema.optional(),
    policy: NameSchema.optional(),
  })
  .refine((r) => r.channel !== undefined || r.policy !== undefined, 'a rule sets a channel, a policy, or both');

export const RoutingSchema = z.strictObject({
  rules: z.array(RoutingRuleSchema).default([]),
});

export const PrioritySectionSchema = z.strictObject({
  severity_map: z.record(z.string().min(1), PrioritySchema),
  default: PrioritySchema,
  response_times: z.strictObject({ P1: DelaySchema, P2: DelaySchema, P3: DelaySchema, P4: DelaySchema }),
});

const NOTIFY_HINT = 'expected oncall_primary, oncall_secondary, oncall:<rotation>, channel, usergroup:<handle> or user:<name>';
export const NotifyTextSchema = z
  .string({ error: NOTIFY_HINT })
  .regex(/^(oncall_primary|oncall_secondary|channel|(oncall|usergroup|user):[A-Za-z0-9._-]+)$/, NOTIFY_HINT);

export const EscalationStepSchema = z.strictObject({
  after: DelaySchema,
  notify: NotifyTextSchema,
});

export const EscalationPolicySchema = z.strictObject({
  description: z.string().optional(),
  steps: z.array(EscalationStepSchema).min(1, 'a policy needs at least one step'),
  repeat: z.number({ error: 'expected a whole number ≥ 0' }).int('expected a whole number ≥ 0').min(0).max(100).default(0),
  repeat_interval: DurationTextSchema.optional(),
});

export const EscalationSchema = z.strictObject({
  policies: z.record(NameSchema, EscalationPolicySchema),
  by_priority: z.strictObject({ P1: NameSchema, P2: NameSchema, P3: NameSchema, P4: NameSchema }),
});

export const OnCallOverrideSchema = z.strictObject({
  user: NameSchema,
  from: IsoDateTimeSchema,
  to: IsoDateTimeSchema,
  reason: z.string().optional(),
  /** Who asked for it (set by `/ops oncall override`). */
  by: z.string().optional(),
  /** The named rotation (`oncall.rotations`) it covers; unset: the main `oncall.rotation`. */
  rotation: NameSchema.optional(),
});

export const RotationSchema = z.strictObject({
  members: z
    .array(NameSchema)
    .min(1, 'a rotation needs at least one member')
    .refine((m) => new Set(m).size === m.length, 'members must be unique'),
  start: IsoDateTimeSchema,
  length: DurationTextSchema.refine((v) => !/^0+[a-z]+$/.test(v), 'must be longer than 0').default('1w'),
  handoff: TimeOfDaySchema.default('09:00'),
  timezone: TimeZoneSchema,
  /** Where a handoff message is posted when a shift starts; unset: none. */
  channel: ChannelNameSchema.optional(),
});

export const OnCallSchema = z.strictObject({
  /** The main rotation: `oncall_primary` / `oncall_secondary` and `/ops oncall`. */
  rotation: RotationSchema,
  /** More rotations by name (one per imported schedule), paged with `notify: oncall:<name>`. */
  rotations: z.record(NameSchema, RotationSchema).default({}),
  max_override: DurationTextSchema.default('7d'),
  overrides: z.array(OnCallOverrideSchema).default([]),
});

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

export const BusinessHoursSchema = z
  .strictObject({
    timezone: TimeZoneSchema,
    days: z
      .array(z.enum(WEEKDAYS, { error: 'expected mon, tue, wed, thu, fri, sat or sun' }))
      .min(1, 'at least one business day'),
    start: TimeOfDaySchema,
    end: TimeOfDaySchema,
    holidays: z.array(z.preprocess((v) => (v instanceof Date ? v.toISOString().slice(0, 10) : v), IsoDateSchema)).default([]),
  })
  .refine((b) => b.end > b.start, { message: 'end must be later than start', path: ['end'] });

const PermissionListSchema = z.array(z.string().min(1));

export const RoleSchema = z.strictObject({
  description: z.string().optional(),
  /** /ops verbs ("ack", "oncall override", ...); "*" = all. */
  commands: PermissionListSchema.default([]),
  /** Runbook actions ("restart", ...); "*" = all. */
  actions: PermissionListSchema.default([]),
  /** Channels (names) this role's runbook actions may be run in; unset: any channel. */
  channels: z.array(ChannelNameSchema).min(1, 'list at least one channel, or leave channels out').optional(),
});

/**
 * `alice: { role: admin, slack_id: U0ALICE }`. People are matched by their
 * Slack user id only; the name is the config's label for them (rotation,
 * escalation). The short form `alice: admin` still parses but matches nobody,
 * so the config check asks for the slack_id.
 */
export const RbacUserSchema = z.union([
  NameSchema.transform((role) => ({ role, slack_id: undefined as string | undefined })),
  z.strictObject({ role: NameSchema, slack_id: z.string().regex(/^[UW][A-Z0-9]+$/, 'expected a Slack user id').optional() }),
]);

/** `ops-leads: responder`, or `ops-leads: { role: responder, slack_id: S0OPSLEADS }`: every member of the Slack user group gets the role. */
export const RbacGroupSchema = z.union([
  NameSchema.transform((role) => ({ role, slack_id: undefined as string | undefined })),
  z.strictObject({ role: NameSchema, slack_id: z.string().regex(/^S[A-Z0-9]+$/, 'expected a Slack user group id (S...)').optional() }),
]);

export const RbacSchema = z.strictObject({
  roles: z.record(NameSchema, RoleSchema),
  users: z.record(NameSchema, RbacUserSchema),
  /** Slack user groups by handle (without '@'). */
  groups: z.record(NameSchema, RbacGroupSchema).default({}),
});

export const StormSchema = z.strictObject({
  threshold_per_minute: z.number({ error: 'expected a whole number > 0' }).int().positive('expected a whole number > 0'),
});

export const OpsConfigSchema = z.strictObject({
  channels: ChannelsSchema,
  routing: RoutingSchema,
  priority: PrioritySectionSchema,
  escalation: EscalationSchema,
  oncall: OnCallSchema,
  business_hours: BusinessHoursSchema,
  rbac: RbacSchema,
  storm: StormSchema,
  retention: RetentionSchema,
  platform: PlatformSchema,
  remediation: RemediationSchema.default({ enabled: false, max_per_hour: 3, block_ttl: '1h' }),
  routine: RoutineSchema.prefault({}),
  calendars: CalendarsSchema.default({ feed: { days_back: 7, days_ahead: 56 }, external: {} }),
  heartbeats: HeartbeatsSchema.default({ watchdog: { alertname: 'Watchdog', interval: '10m', priority: 'P1' }, sources: {} }),
});

export type OpsConfig = z.output<typeof OpsConfigSchema>;
export type RoutingRule = OpsConfig['routing']['rules'][number];
export type EscalationPolicy = OpsConfig['escalation']['policies'][string];
export type EscalationStep = EscalationPolicy['steps'][number];
export type OnCallConfig = OpsConfig['oncall'];
export type OnCallOverride = OnCallConfig['overrides'][number];
export type RotationConfig = OnCallConfig['rotation'];
export type BusinessHoursConfig = OpsConfig['business_hours'];
export type RbacConfig = OpsConfig['rbac'];
export type Weekday = (typeof WEEKDAYS)[number];
