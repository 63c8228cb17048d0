import { z } from 'zod';

/**
 * Every runbook action the product runs, with its parameters and its guard
 * rails. The bot parses a request into these params (from a button value or
 * `/ops run <action> ...`), checks RBAC, confirmation and approval, and
 * enqueues a job; the worker parses the job with the same schema before it
 * acts. One definition, so the two sides cannot disagree.
 */

export const ACTION_NAMES = [
  'health_check',
  'query_prometheus',
  'restart',
  'deploy',
  'rollback',
  'scale',
  'block_ip',
  'unblock_ip',
  'backup',
  'verify_backup',
  'restore',
  'maintenance',
  'reset_circuit_breaker',
  'collect_evidence',
  'security_report',
  'list_blocked_ips',
] as const;
export const ActionNameSchema = z.enum(ACTION_NAMES, { error: `expected one of ${ACTION_NAMES.join(', ')}` });
export type ActionName = z.infer<typeof ActionNameSchema>;

/** A service the platform driver acts on: a name from the ops config's `platform.services` (checked by the bot). */
const ServiceName = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'expected a service name');
/** A release: v1.2.3, 1.2.3 or 1.2.3-rc.1 (never a path, never a shell word). */
export const VersionSchema = z.string().regex(/^v?\d{1,4}\.\d{1,4}\.\d{1,6}(-[0-9A-Za-z.]{1,32})?$/, 'expected a version like v1.2.3');
/** A backup's name as the MCP server reports it. */
const BackupId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/, 'expected a backup id');
/** Address or CIDR text; the bot checks it with ipaddr.js before it gets here, the server again. */
const Address = z.string().min(2).max(64);

export const ActionParamsSchemas = {
  health_check: z.strictObject({ mode: z.enum(['basic', 'full']).default('full') }),
  /** PromQL from the incident's runbook, or typed by the person. */
  query_prometheus: z.strictObject({ query: z.string().min(1).max(2000) }),
  restart: z.strictObject({ service: ServiceName }),
  deploy: z.strictObject({ service: ServiceName, version: VersionSchema }),
  rollback: z.strictObject({ service: ServiceName }),
  scale: z.strictObject({ service: ServiceName, replicas: z.number().int().min(0).max(1000) }),
  block_ip: z.strictObject({
    address: Address,
    ttlSeconds: z.number().int().min(60).max(30 * 86_400),
    reason: z.string().min(3).max(500),
  }),
  unblock_ip: z.strictObject({ address: Address }),
  backup: z.strictObject({ kind: z.enum(['config', 'logs', 'metrics', 'state']) }),
  verify_backup: z.strictObject({ id: BackupId }),
  restore: z.strictObject({ id: BackupId }),
  maintenance: z.strictObject({
    mode: z.enum(['on', 'off']),
    /** How long maintenance (and its Alertmanager silence) lasts; required for `on`. */
    durationSeconds: z.number().int().min(60).max(7 * 86_400).optional(),
    reason: z.string().min(3).max(500).optional(),
  }),
  reset_circuit_breaker: z.strictObject({ service: z.enum(['account-service', 'transaction-service']) }),
  collect_evidence: z.strictObject({}),
  security_report: z.strictObject({}),
  list_blocked_ips: z.strictObject({}),
} satisfies Record<ActionName, z.ZodType>;

export type ActionParams<A extends ActionName = ActionName> = z.output<(typeof ActionParamsSchemas)[A]>;

export interface ActionPolicy {
  /** Asks for confirmation (a button with Slack's `confirm` dialog) before it runs. */
  dangerous: boolean;
  /** During an open P1 also needs a second person's approval (expires after 10 minutes). */
  approvalDuringP1: boolean;
  /** The lock key: one action per target at a time. Undefined: a read that needs no lock. */
  target(params: Record<string, unknown>): string | undefined;
}

const service = (p: Record<string, unknown>) => `service:${String(p.service)}`;
export const ACTION_POLICIES: Record<ActionName, ActionPolicy> = {
  health_check: { dangerous: false, approvalDuringP1: false, target: () => undefined },
  query_prometheus: { dangerous: false, approvalDuringP1: false, target: () => undefined },
  restart: { dangerous: true, approvalDuringP1: false, target: service },
  deploy: { dangerous: true, approvalDuringP1: false, target: service },
  rollback: { dangerous: true, approvalDuringP1: true, target: service },
  scale: { dangerous: true, approvalDuringP1: false, target: service },
  block_ip: { dangerous: true, approvalDuringP1: false, target: (p) => `ip:${String(p.address)}` },
  unblock_ip: { dangerous: false, approvalDuringP1: false, target: (p) => `ip:${String(p.address)}` },
  backup: { dangerous: false, approvalDuringP1: false, target: (p) => `backup:${String(p.kind)}` },
  verify_backup: { dangerous: false, approvalDuringP1: false, target: (p) => `backup-id:${String(p.id)}` },
  restore: { dangerous: true, approvalDuringP1: true, target: () => 'restore' },
  maintenance: { dangerous: true, approvalDuringP1: true, target: () => 'maintenance' },
  reset_circuit_breaker: { dangerous: false, approvalDuringP1: false, target: (p) => `breaker:${String(p.service)}` },
  collect_evidence: { dangerous: false, approvalDuringP1: false, target: () => 'evidence' },
  security_report: { dangerous: false, approvalDuringP1: false, target: () => undefined },
  list_blocked_ips: { dangerous: false, approvalDuringP1: false, target: () => undefined },
};

/** How long a second person's approval (and a pending request waiting for it) stays valid. */
export const APPROVAL_TTL_MS = 10 * 60_000;

/** Parses params for `action`; throws the zod error (callers turn it into a usage line). */
export function parseActionParams<A extends ActionName>(action: A, params: unknown): ActionParams<A> {
  return ActionParamsSchemas[action].parse(params) as ActionParams<A>;
}
