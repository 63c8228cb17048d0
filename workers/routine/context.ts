import type { Redis } from 'ioredis';
import { DateTime } from 'luxon';
import type { SilenceClient } from '../../lib/alertmanager-silences';
import type { Logger } from '../../lib/logger';
import type { McpClient, ToolCallResult } from '../../lib/mcp-client';
import type { OpsConfig } from '../../lib/ops-config';
import type { ChecklistStore } from '../../lib/routine-checklist';
import type { ChannelDirectory } from '../../lib/slack-channel-directory';
import type { SlackOutboxProducer } from '../../lib/slack-outbox';
import type { IncidentAlerts } from './incident-alerts';
import type { PrometheusClient } from './prometheus';

/** Everything a routine job may use. Optional parts are unset when their URL is not configured. */
export interface RoutineContext {
  config: OpsConfig;
  redis: Redis;
  prefix: string;
  mcp: McpClient;
  slack: Pick<SlackOutboxProducer, 'reply' | 'upload' | 'edit'>;
  channels: ChannelDirectory;
  checklists: ChecklistStore;
  prometheus?: PrometheusClient;
  silences?: SilenceClient;
  incidents: IncidentAlerts;
  logger: Logger;
  now: () => Date;
}

export type Blocks = Array<Record<string, unknown>>;

/** The report channel's id (or its name, until the bot has published the ids). */
export async function reportChannel(ctx: RoutineContext): Promise<string> {
  return ctx.channels.resolve(ctx.config.routine.report_channel ?? ctx.config.channels.reports);
}

/** Today's date (YYYY-MM-DD) in the routine's time zone, `offsetDays` from now. */
export function routineDay(ctx: RoutineContext, offsetDays = 0): string {
  return DateTime.fromJSDate(ctx.now()).setZone(ctx.config.routine.timezone).plus({ days: offsetDays }).toISODate()!;
}

/** A time for people, in the routine's time zone: "Sun 6 Dec 02:00 UTC". */
export function formatWhen(ctx: RoutineContext, at: Date): string {
  return DateTime.fromJSDate(at).setZone(ctx.config.routine.timezone).toFormat('ccc d LLL HH:mm ZZZZ');
}

/** A tool call whose refusal or failure becomes an Error with the server's text. */
export async function callTool(ctx: RoutineContext, name: string, args: Record<string, unknown> = {}): Promise<ToolCallResult> {
  const result = await ctx.mcp.callTool(name, args);
  if (result.isError) throw new Error(`${name}: ${result.text || 'refused'}`);
  return result;
}

export const section = (text: string): Record<string, unknown> => ({ type: 'section', text: { type: 'mrkdwn', text: text.slice(0, 3000) } });
export const header = (text: string): Record<string, unknown> => ({ type: 'header', text: { type: 'plain_text', text: text.slice(0, 150) } });
export const context = (text: string): Record<string, unknown> => ({ type: 'context', elements: [{ type: 'mrkdwn', text: text.slice(0, 3000) }] });

/** Posts a report to the report channel's feed. */
export async function postReport(ctx: RoutineContext, text: string, blocks: Blocks, id?: string): Promise<string> {
  const channel = await reportChannel(ctx);
  return ctx.slack.reply({ channel, text: text.slice(0, 3000), blocks: blocks.slice(0, 50), ...(id ? { id } : {}) });
}

/** Formatting for numbers in reports. */
export const fmt = {
  pct: (ratio: number | undefined, digits = 2) => (ratio === undefined ? 'n/a' : `${(ratio * 100).toFixed(digits)}%`),
  ms: (seconds: number | undefined) => (seconds === undefined ? 'n/a' : `${Math.round(seconds * 1000)} ms`),
  int: (n: number | undefined) => (n === undefined ? 'n/a' : Math.round(n).toLocaleString('en-US')),
  num: (n: number | undefined, digits = 1) => (n === undefined ? 'n/a' : n.toFixed(digits)),
  bytes: (n: number | undefined) => (n === undefined ? 'n/a' : `${(n / 1024 / 1024).toFixed(1)} MB`),
};

/** Runs a query and keeps going when it fails: a report shows "n/a (reason)" instead of not arriving. */
export async function settle<T>(work: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: string }> {
  try {
    return { ok: true, value: await work };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}
