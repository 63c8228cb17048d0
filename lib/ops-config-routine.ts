import { CronExpressionParser } from 'cron-parser';
import { IANAZone } from 'luxon';
import { z } from 'zod';
import { DURATION_HINT, isDuration, parseDuration } from './duration';

/**
 * The `routine:` section of the ops config: the operations guide's daily,
 * weekly and monthly routine (morning health check, daily checklist, backups,
 * certificates, security and capacity reports, maintenance windows) that the
 * workers run as BullMQ job schedulers. Every key is optional; the defaults
 * are the guide's (maintenance: weekly Sunday 02:00-04:00 UTC, monthly first
 * Sunday 02:00-06:00 UTC).
 */

/** The reports `/ops report <name>` runs and the schedules key them by (with `_` for `-`). */
export const ROUTINE_REPORTS = ['morning-health', 'daily-checklist', 'backup', 'certificates', 'security-report', 'capacity-report'] as const;
export type RoutineReport = (typeof ROUTINE_REPORTS)[number];

const CRON_HINT = 'expected a cron pattern like "0 8 * * *" (5 fields, or 6 with seconds first)';

/** A cron pattern as BullMQ's job schedulers (cron-parser) read it; `0 2 * * 0#1` is the first Sunday. */
export const CronSchema = z.string({ error: CRON_HINT }).refine((p) => {
  const fields = p.trim().split(/\s+/).length;
  if (fields < 5 || fields > 6) return false;
  try {
    CronExpressionParser.parse(p, { tz: 'UTC' });
    return true;
  } catch {
    return false;
  }
}, CRON_HINT);

const Duration = z.string({ error: DURATION_HINT }).refine(isDuration, DURATION_HINT).refine((d) => parseDuration(d) > 0, 'must be longer than 0');

const ChannelName = z
  .string()
  .transform((s) => s.replace(/^#/, ''))
  .pipe(z.string().regex(/^[a-z0-9._-]{1,80}$/, 'expected a Slack channel name (lowercase, digits, - _ .)'));

export const RoutineSchedulesSchema = z.strictObject({
  morning_health: CronSchema.default('0 8 * * *'),
  daily_checklist: CronSchema.default('5 8 * * *'),
  backup: CronSchema.default('0 1 * * *'),
  certificates: CronSchema.default('0 7 * * *'),
  security_report: CronSchema.default('0 9 * * 1'),
  capacity_report: CronSchema.default('0 9 1 * *'),
  /** How often the next maintenance windows are planned (their announcements, start and end are delayed jobs). */
  maintenance_plan: CronSchema.default('0 * * * *'),
});

export const TlsEndpointSchema = z.strictObject({
  /** What the report calls it. */
  name: z.string().min(1).max(80),
  host: z.string().min(1).max(253),
  port: z.number().int().min(1).max(65535).default(443),
  /** SNI name, when it differs from host (an address). */
  servername: z.string().min(1).max(253).optional(),
});

export const MaintenanceWindowSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9-]{1,40}$/, 'lowercase letters, digits and - only'),
  /** When it starts, in `routine.timezone`. */
  cron: CronSchema,
  duration: Duration,
  description: z.string().max(500).optional(),
});

const DEFAULT_WINDOWS = [
  { name: 'weekly', cron: '0 2 * * 0', duration: '2h', description: 'Security updates, configuration changes, performance optimization, log rotation' },
  { name: 'monthly', cron: '0 2 * * 0#1', duration: '4h', description: 'Major updates, database maintenance, infrastructure changes, capacity adjustments' },
];

export const RoutineMaintenanceSchema = z.strictObject({
  /** The `service` label whose alerts are silenced during a window. */
  service: z.string().min(1).default('mcp-financial-server'),
  /** Announcements this long before a window starts. */
  announce_before: z.array(Duration).default(['1d', '1h']),
  /** A window inside a longer one that starts at the same time or earlier (weekly inside monthly) is merged into it. */
  windows: z
    .array(MaintenanceWindowSchema)
    .default(DEFAULT_WINDOWS)
    .refine((w) => new Set(w.map((x) => x.name)).size === w.length, 'window names must be unique'),
});

export const RoutineSchema = z.strictObject({
  /** Time zone of every schedule and window. @defaultValue UTC */
  timezone: z
    .string()
    .refine((tz) => IANAZone.isValidZone(tz), 'expected an IANA time zone like Europe/London')
    .default('UTC'),
  /** Where reports go. @defaultValue `channels.reports` */
  report_channel: ChannelName.optional(),
  schedules: RoutineSchedulesSchema.prefault({}),
  /** The morning report's "overnight" window. */
  overnight: Duration.default('12h'),
  /** Security report window (weekly). */
  security_window: Duration.default('7d'),
  capacity: z
    .strictObject({
      /** History the forecast is fitted on. */
      history: Duration.default('30d'),
      /** Spacing of the fitted points. */
      step: Duration.default('1h'),
      horizon: Duration.default('90d'),
      chart_width: z.number().int().min(200).max(2000).default(800),
      chart_height: z.number().int().min(150).max(1500).default(400),
    })
    .prefault({}),
  /** TLS endpoints whose certificates are checked (a real handshake). */
  tls_endpoints: z.array(TlsEndpointSchema).default([]),
  /** Days before expiry a certificate is warned about, once per threshold. */
  certificate_warn_days: z.array(z.number().int().min(1).max(365)).min(1).default([30, 14, 7]),
  backup: z
    .strictObject({
      /** What the server backs up (ops_backup_create archives BACKUP_PATHS: the configuration). */
      kinds: z.array(z.enum(['config'])).min(1).default(['config']),
      /** No verified backup younger than this: the daily checklist's item stays open. */
      max_age: Duration.default('26h'),
    })
    .prefault({}),
  maintenance: RoutineMaintenanceSchema.prefault({}),
});

export type RoutineConfig = z.output<typeof RoutineSchema>;
export type MaintenanceWindow = RoutineConfig['maintenance']['windows'][number];
export type TlsEndpoint = RoutineConfig['tls_endpoints'][number];
