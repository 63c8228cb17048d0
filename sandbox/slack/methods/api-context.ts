import type { Logger } from '../../../lib/logger';
import type { SlackState } from '../state';
import type { SandboxChannel } from '../types';

/** A Web API failure: Slack answers HTTP 200 `{ok: false, error, ...extra}`. */
export class SlackApiFailure extends Error {
  constructor(
    readonly error: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(error);
    this.name = 'SlackApiFailure';
  }
}

/** `invalid_arguments` with Slack's `response_metadata.messages` lines. */
export function invalidArguments(...problems: string[]): SlackApiFailure {
  return new SlackApiFailure('invalid_arguments', {
    response_metadata: { messages: problems.map((p) => `[ERROR] ${p}`) },
  });
}

export type ApiArgs = Record<string, unknown>;

export interface ApiContext {
  state: SlackState;
  args: ApiArgs;
  /** Base URL of the sandbox, for permalinks and file URLs. */
  baseUrl: string;
  logger: Logger;
}

export type ApiMethod = (ctx: ApiContext) => Record<string, unknown> | Promise<Record<string, unknown>>;

export function optString(args: ApiArgs, key: string): string | undefined {
  const v = args[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v !== 'string') throw invalidArguments(`invalid type for field: ${key}, expected string`);
  return v;
}

export function reqString(args: ApiArgs, key: string): string {
  const v = optString(args, key);
  if (v === undefined) throw invalidArguments(`missing required field: ${key}`);
  return v;
}

/** Form bodies carry "true"/"1"; JSON bodies carry booleans. */
export function optBool(args: ApiArgs, key: string): boolean | undefined {
  const v = args[key];
  if (v === undefined || v === null || v === '') return undefined;
  return v === true || v === 'true' || v === '1' || v === 1;
}

export function optInt(args: ApiArgs, key: string): number | undefined {
  const v = args[key];
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isInteger(n)) throw invalidArguments(`invalid type for field: ${key}, expected integer`);
  return n;
}

/** WebClient sends arrays and objects as JSON strings inside a form body. */
export function optJson(args: ApiArgs, key: string, formatError: string): unknown {
  const v = args[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v);
  } catch {
    throw new SlackApiFailure(formatError);
  }
}

/**
 * The channel of a call. Posting accepts a name (`ops-critical`, `#ops-critical`)
 * or a user id (the IM with them), as Slack does; other methods want an id.
 */
export function channelArg(ctx: ApiContext, opts: { allowName?: boolean; allowUser?: boolean } = {}): SandboxChannel {
  const ref = optString(ctx.args, 'channel');
  if (!ref) throw new SlackApiFailure('channel_not_found');
  if (opts.allowUser && /^[UW][A-Z0-9]+$/.test(ref) && ctx.state.users.has(ref)) return ctx.state.imChannel(ref);
  const channel = ctx.state.resolveChannel(ref, opts.allowName ?? false);
  if (!channel) throw new SlackApiFailure('channel_not_found');
  return channel;
}

export const TS_PATTERN = /^\d+\.\d+$/;
