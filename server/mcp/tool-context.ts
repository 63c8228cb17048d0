import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import {
  CallToolRequestSchema,
  ErrorCode as McpErrorCode,
  McpError,
  type CallToolResult,
  type LoggingLevel,
  type ServerNotification,
  type ToolAnnotations,
} from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import { asCodedError, CodedError, ErrorCode, ValidationError } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import type { Backends } from '../backends/types';
import type { ServerMetrics } from '../metrics';
import { DEFAULT_LOGGING_LEVEL, levelShown, type ClientLogLevels } from './client-log-levels';

/** Is the server in maintenance (the seed's status file)? Cheap: cached, invalidated on change. */
export interface MaintenanceGate {
  isOn(): Promise<boolean>;
}

/**
 * What every tool (ops and finance) gets. Built once per process; the
 * McpServer is built per HTTP request and only binds these.
 */
export interface ToolContext {
  backends: Backends;
  maintenance: MaintenanceGate;
  metrics: ServerMetrics;
  logger: Logger;
  /** Each caller's `logging/setLevel`; without it every message from `info` up is sent. */
  logLevels?: ClientLogLevels;
}

/** Who is calling, from the verified token (`extra.authInfo`). */
export interface ToolCaller {
  /** JWT `sub`; "anonymous" only over in-process transports without auth. */
  subject: string;
  clientId: string;
  scopes: readonly string[];
  /** Client address as the IP middleware saw it (after TRUST_PROXY). */
  clientIp?: string;
}

export interface ToolInvocation {
  ctx: ToolContext;
  caller: ToolCaller;
  signal: AbortSignal;
  /**
   * `notifications/progress` when the client sent a `progressToken` (a no-op
   * otherwise). Reaches the client only for tools with `streams: true`, whose
   * calls are answered as an SSE stream.
   */
  progress(done: number, total: number, message?: string): Promise<void>;
  /** `notifications/message` at or above the caller's `logging/setLevel`, same delivery rule as progress. */
  log(level: LoggingLevel, message: string): Promise<void>;
}

/** What a tool returns on success; the guard wraps it into a CallToolResult. */
export interface ToolOutput<O> {
  structured: O;
  /** The readable block a person (or a chat message) shows. */
  text: string;
}

/**
 * `finance` tools are refused in maintenance; `ops` tools keep working so an
 * operator can look and turn maintenance off.
 */
export type ToolKind = 'finance' | 'ops';

export interface ToolSpec<I extends z.ZodObject, O extends z.ZodObject> {
  name: string;
  title?: string;
  description: string;
  /** Required scope, e.g. "accounts:read". `x:admin` implies `x:write` and `x:read`; `x:write` implies `x:read`. */
  scope: string;
  kind: ToolKind;
  /** Built once at module load: a z.object, not a raw shape, so nothing is converted per request. */
  input: I;
  output: O;
  annotations?: ToolAnnotations;
  /**
   * Long tool that reports progress and log messages: its calls are answered
   * as an SSE stream (the JSON response mode cannot carry notifications).
   */
  streams?: boolean;
  run(args: z.output<I>, call: ToolInvocation): Promise<ToolOutput<z.output<O>>>;
}

export interface GuardedTool {
  readonly name: string;
  readonly spec: ToolSpec<z.ZodObject, z.ZodObject>;
}

/** Declares a tool. Call at module level so schemas exist once per process. */
export function defineTool<I extends z.ZodObject, O extends z.ZodObject>(spec: ToolSpec<I, O>): GuardedTool {
  return Object.freeze({ name: spec.name, spec: spec as unknown as ToolSpec<z.ZodObject, z.ZodObject> });
}

/** Scope check with the implication rule above. */
export function hasScope(granted: readonly string[], required: string): boolean {
  if (granted.includes(required)) return true;
  const idx = required.lastIndexOf(':');
  if (idx < 0) return false;
  const area = required.slice(0, idx);
  const level = required.slice(idx + 1);
  if (level === 'read') return granted.includes(`${area}:write`) || granted.includes(`${area}:admin`);
  if (level === 'write') return granted.includes(`${area}:admin`);
  return false;
}

export function callerFrom(authInfo: AuthInfo | undefined): ToolCaller {
  if (!authInfo) return { subject: 'anonymous', clientId: 'anonymous', scopes: [] };
  const extra = authInfo.extra ?? {};
  return {
    subject: typeof extra.sub === 'string' ? extra.sub : authInfo.clientId,
    clientId: authInfo.clientId,
    scopes: authInfo.scopes,
    clientIp: typeof extra.clientIp === 'string' ? extra.clientIp : undefined,
  };
}

/** A tool error as MCP wants it: `isError`, `<CODE>: message`, no stack. */
export function toolError(err: CodedError): CallToolResult {
  // No structuredContent here: the SDK Client validates any structuredContent
  // against the tool's output schema, even on errors, and would throw.
  return {
    isError: true,
    content: [{ type: 'text', text: `${err.code}: ${err.message}` }],
    _meta: { error: { code: err.code, message: err.message } },
  };
}

interface CallExtra {
  authInfo?: AuthInfo;
  signal: AbortSignal;
  _meta?: { progressToken?: string | number };
  sendNotification(notification: ServerNotification): Promise<void>;
}

type Callback = (args: unknown, extra: CallExtra) => Promise<CallToolResult>;

/** zod issues as one line: `amount.currency: must be an ISO 4217 code; limit: ...`. */
export function issuesText(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(arguments)'}: ${i.message}`).join('; ');
}

function notifier(ctx: ToolContext, caller: ToolCaller, extra: CallExtra) {
  const token = extra._meta?.progressToken;
  let threshold: Promise<LoggingLevel> | undefined;
  const send = (n: ServerNotification) => extra.sendNotification(n).catch(() => undefined);
  return {
    progress: async (done: number, total: number, message?: string) => {
      if (token === undefined) return;
      await send({ method: 'notifications/progress', params: { progressToken: token, progress: done, total, ...(message ? { message } : {}) } });
    },
    log: async (level: LoggingLevel, message: string) => {
      threshold ??= ctx.logLevels?.get(caller) ?? Promise.resolve(DEFAULT_LOGGING_LEVEL);
      if (!levelShown(level, await threshold)) return;
      await send({ method: 'notifications/message', params: { level, logger: 'mcp-financial-server', data: message } });
    },
  };
}

function refusalStatus(code: ErrorCode): string {
  if (code === ErrorCode.Forbidden) return '403';
  if (code === ErrorCode.Unauthorized) return '401';
  if (code === ErrorCode.Maintenance) return '503';
  return 'error';
}

/** The one wrapper every tool runs through: scope, maintenance, metrics, error shape. */
function guard(tool: GuardedTool, ctx: ToolContext): Callback {
  const { spec } = tool;
  // Series children bound once per tool, so a call does not hash its labels.
  const counted = new Map<string, { inc(): void }>();
  const count = (status: string) => {
    let child = counted.get(status);
    if (!child) counted.set(status, (child = ctx.metrics.requests.labels({ tool: spec.name, status })));
    child.inc();
  };
  const timer = ctx.metrics.duration.labels(spec.name);
  return async (args, extra) => {
    const end = timer.startTimer();
    let status = 'success';
    try {
      const caller = callerFrom(extra.authInfo);
      if (!hasScope(caller.scopes, spec.scope)) {
        throw new CodedError(ErrorCode.Forbidden, `insufficient_scope: ${spec.name} needs scope "${spec.scope}"`, {
          requiredScope: spec.scope,
        });
      }
      if (spec.kind === 'finance' && (await ctx.maintenance.isOn())) {
        throw new CodedError(ErrorCode.Maintenance, 'the server is in maintenance; finance tools are unavailable, retry later');
      }
      // Bad arguments are the model's to fix: an isError result with a code, not a protocol error.
      const input = spec.input.safeParse(args ?? {});
      if (!input.success) throw new ValidationError(`invalid arguments for ${spec.name}: ${issuesText(input.error)}`);
      const out = await spec.run(input.data as never, { ctx, caller, signal: extra.signal, ...notifier(ctx, caller, extra) });
      const output = spec.output.safeParse(out.structured);
      if (!output.success) throw new CodedError(ErrorCode.Internal, `${spec.name} produced a result outside its output schema: ${issuesText(output.error)}`);
      return { content: [{ type: 'text', text: out.text }], structuredContent: output.data as Record<string, unknown> };
    } catch (err) {
      const coded = asCodedError(err);
      status = refusalStatus(coded.code);
      if (coded.code === ErrorCode.Internal) ctx.logger.error({ err, tool: spec.name }, 'tool failed');
      else ctx.logger.debug({ tool: spec.name, code: coded.code }, coded.message);
      return toolError(coded);
    } finally {
      end();
      count(status);
    }
  };
}

// Guarded callbacks are built once per (context, tool); per request we only bind them.
const compiled = new WeakMap<ToolContext, Map<GuardedTool, Callback>>();

function compiledFor(ctx: ToolContext, tool: GuardedTool): Callback {
  let byTool = compiled.get(ctx);
  if (!byTool) compiled.set(ctx, (byTool = new Map()));
  let cb = byTool.get(tool);
  if (!cb) byTool.set(tool, (cb = guard(tool, ctx)));
  return cb;
}

// Scope of every tool bound under a context, so the HTTP layer can answer a
// missing scope with a real 403 before any MCP work is done.
const scopes = new WeakMap<ToolContext, Map<string, string>>();

/** The scope a tool registered under `ctx` needs, if such a tool exists. */
export function requiredScopeFor(ctx: ToolContext, toolName: string): string | undefined {
  return scopes.get(ctx)?.get(toolName);
}

/** Does a call to this tool stream (SSE) instead of answering JSON? */
export function streamsFor(ctx: ToolContext, toolName: string): boolean {
  return streaming.get(ctx)?.has(toolName) ?? false;
}
const streaming = new WeakMap<ToolContext, Set<string>>();

// The tools bound to each server, for our own tools/call handler.
const boundTools = new WeakMap<McpServer, Map<string, Callback>>();

/**
 * tools/call, ours instead of the SDK's: the SDK validates arguments before the
 * callback and answers a schema error as `MCP error -32602: ...`; the guard
 * validates after the scope check and answers `E_VALIDATION_FAILED: ...` like
 * every other refusal. An unknown tool stays a protocol error (-32602).
 */
function installCallHandler(server: McpServer, tools: Map<string, Callback>): void {
  server.server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const cb = tools.get(request.params.name);
    if (!cb) throw new McpError(McpErrorCode.InvalidParams, `Tool ${request.params.name} not found`);
    return cb(request.params.arguments, extra as unknown as CallExtra);
  });
}

/** Binds guarded tools to a (per-request) McpServer. */
export function registerGuardedTools(server: McpServer, ctx: ToolContext, tools: readonly GuardedTool[]): void {
  let index = scopes.get(ctx);
  if (!index) scopes.set(ctx, (index = new Map()));
  let streams = streaming.get(ctx);
  if (!streams) streaming.set(ctx, (streams = new Set()));
  let bound = boundTools.get(server);
  for (const tool of tools) {
    const { spec } = tool;
    index.set(spec.name, spec.scope);
    if (spec.streams) streams.add(spec.name);
    server.registerTool(
      spec.name,
      {
        title: spec.title,
        description: spec.description,
        inputSchema: spec.input,
        outputSchema: spec.output,
        annotations: spec.annotations,
      },
      compiledFor(ctx, tool) as never,
    );
    if (!bound) {
      boundTools.set(server, (bound = new Map()));
      installCallHandler(server, bound);
    }
    bound.set(spec.name, compiledFor(ctx, tool));
  }
}
