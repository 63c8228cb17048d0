import type { SilenceClient } from '../../lib/alertmanager-silences';
import { escapeMrkdwn } from '../../lib/slack-text';
import type { RunbookActionJob } from '../../lib/contracts';
import type { Logger } from '../../lib/logger';
import type { McpClient, ToolCallResult } from '../../lib/mcp-client';
import type { SlackOutboxProducer } from '../../lib/slack-outbox';
import type { ActionJournal } from '../actions/journal';
import type { PlatformDriver } from '../drivers/types';

/** What a runbook action handler returns; the worker turns it into a thread reply. */
export interface ActionOutcome {
  ok: boolean;
  /** One line for the thread. */
  summary: string;
  /** Longer output shown in a code block under the summary. */
  detail?: string;
  /** A short table or list (mrkdwn, already escaped) shown as is under the summary. */
  body?: string;
  /** What the audit keeps of the result. */
  audit?: Record<string, unknown>;
  /** Not run, and not a failure: the workers lack what it needs and say so (counted as `skipped`). */
  skipped?: true;
  /** The result reply's outbox id instead of `<requestId>-result`: results that share one are posted once. */
  replyId?: string;
}

/** Everything a handler may use. Optional parts are optional in config: a handler that needs a missing one says so. */
export interface HandlerDeps {
  mcp: McpClient;
  journal: ActionJournal;
  logger: Logger;
  driver?: PlatformDriver;
  silences?: SilenceClient;
  /** Prometheus HTTP API base (PROMETHEUS_URL), for query_prometheus. */
  prometheusUrl?: string;
  /** Channel announcements (maintenance) go here; the outbox posts them. */
  announce?: { channel: string; outbox: Pick<SlackOutboxProducer, 'reply'> };
  /** Alertmanager matchers that select the MCP server's alerts (maintenance silences them). */
  serviceMatchers?: Array<{ name: string; value: string }>;
  signal?: AbortSignal;
}

export type ActionHandler = (job: RunbookActionJob, deps: HandlerDeps) => Promise<ActionOutcome>;

/** A tool's refusal as one line: the server's coded message. */
export function toolFailure(what: string, result: ToolCallResult): ActionOutcome {
  const reason = result.text.trim().split('\n')[0] || 'no reason given';
  return { ok: false, summary: `❌ ${what} failed: ${escapeMrkdwn(reason)}`, audit: { error: reason } };
}

/** Calls an MCP tool once per request (see journal.ts), returning the recorded result on a replay. */
export function callOnce(deps: HandlerDeps, step: string, tool: string, args: Record<string, unknown>): Promise<ToolCallResult> {
  return deps.journal.once(step, () => deps.mcp.callTool(tool, args));
}

/** Who asked, as the thread shows it: a mention for people, a label for the product itself. */
export function askedBy(job: RunbookActionJob): string {
  return job.requestedBy.startsWith('system:') ? job.requestedBy.slice('system:'.length) : `<@${job.requestedBy}>`;
}
