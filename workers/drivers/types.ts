/**
 * The platform driver contract: how lifecycle actions (restart, deploy,
 * rollback, scale) reach whatever runs the MCP server. The ops config's
 * `platform.driver` picks one: `process` (the local launcher, `npm start`),
 * `docker` (Engine API over its unix socket) or `kubernetes` (the API server).
 * Handlers in workers/handlers/ call these; drivers know nothing of Slack.
 */
export type PlatformDriverKind = 'process' | 'docker' | 'kubernetes';

export interface DriverCallContext {
  /**
   * The action's idempotency key (one per request). A driver that is asked
   * twice with the same key (a job retried after a worker was killed) must not
   * act on the target twice: it reports what the first call did.
   */
  requestId: string;
  /** Who asked, for release history and the platform's own records. */
  requestedBy: string;
  /** Aborted when the job's time budget runs out. */
  signal?: AbortSignal;
}

export interface DriverResult {
  ok: boolean;
  /** One line a person understands, e.g. "mcp-server restarted; ready after 2.1 s". */
  summary: string;
  /** Release now running, when the driver knows it. */
  version?: string;
  /** Longer output (rollout status, container ids) for a code block. */
  detail?: string;
}

export interface PlatformDriver {
  readonly kind: PlatformDriverKind;
  /** The services this driver can act on (from the ops config's `platform.services`). */
  services(): string[];
  restart(service: string, ctx: DriverCallContext): Promise<DriverResult>;
  /** Switches `service` to `version` (checked against a strict pattern before it gets here). */
  deploy(service: string, version: string, ctx: DriverCallContext): Promise<DriverResult>;
  /** Goes back to the previous release that was healthy (release history in Redis). */
  rollback(service: string, ctx: DriverCallContext): Promise<DriverResult>;
  scale(service: string, replicas: number, ctx: DriverCallContext): Promise<DriverResult>;
  close(): Promise<void>;
}
