import ipaddr from 'ipaddr.js';
import { ZodError } from 'zod';
import { ACTION_NAMES, ActionNameSchema, parseActionParams, type ActionName } from '../../lib/action-catalog';
import { isDuration, parseDuration } from '../../lib/duration';
import type { OpsConfig } from '../../lib/ops-config';

/**
 * `/ops run <action> [args] [INC-n]`: the words a person typed, parsed into an
 * action and its catalog params. Nothing is pattern-matched into a command
 * line: addresses go through ipaddr.js, services must be in the ops config's
 * `platform.services`, versions match the catalog's pattern, durations are
 * lib/duration.ts. A bad word gets that action's usage line.
 */
export const ACTION_USAGE: Record<ActionName, string> = {
  health_check: '/ops run health_check [basic|full] [INC-42]',
  query_prometheus: '/ops run query_prometheus <promql> [INC-42]  (in an incident, no query runs its runbook\'s first)',
  restart: '/ops run restart <service> [INC-42]',
  deploy: '/ops run deploy <service> <version, e.g. v1.4.2> [INC-42]',
  rollback: '/ops run rollback <service> [INC-42]',
  scale: '/ops run scale <service> <replicas> [INC-42]',
  block_ip: '/ops run block_ip <address|cidr> <ttl, e.g. 1h> <reason…> [INC-42]',
  unblock_ip: '/ops run unblock_ip <address|cidr> [INC-42]',
  backup: '/ops run backup config|logs|metrics|state [INC-42]',
  verify_backup: '/ops run verify_backup <backup id> [INC-42]',
  restore: '/ops run restore <backup id> [INC-42]',
  maintenance: '/ops run maintenance on <duration, e.g. 30m> [reason…] | off [INC-42]',
  reset_circuit_breaker: '/ops run reset_circuit_breaker account-service|transaction-service [INC-42]',
  collect_evidence: '/ops run collect_evidence [INC-42]',
  security_report: '/ops run security_report [INC-42]',
  list_blocked_ips: '/ops run list_blocked_ips [INC-42]',
};

export interface ParsedRun {
  action: ActionName;
  params: Record<string, unknown>;
  incidentId?: string;
}

/** A refusal to parse: the reason and the usage line to show. `action` when the action itself was understood. */
export class ActionArgsError extends Error {
  constructor(
    readonly reason: string,
    readonly usage: string,
    readonly action?: ActionName,
  ) {
    super(reason);
    this.name = 'ActionArgsError';
  }
}

export interface ParseContext {
  config: OpsConfig;
  /** The PromQL of the incident's runbook, for `query_prometheus` with no query. */
  runbookQuery?: (incidentId: string) => Promise<string | undefined>;
}

/** An IPv4/IPv6 address or CIDR, normalised (`10.0.0.7`, `10.0.0.0/8`, `2001:db8::/32`); undefined when it is neither. */
export function parseAddress(text: string): string | undefined {
  try {
    if (text.includes('/')) {
      const [addr, bits] = text.split('/');
      if (!addr || !bits || !/^\d{1,3}$/.test(bits)) return undefined;
      if (!(ipaddr.IPv4.isValidFourPartDecimal(addr) || ipaddr.IPv6.isValid(addr))) return undefined;
      const [range, prefix] = ipaddr.parseCIDR(text);
      return `${range.toString()}/${prefix}`;
    }
    if (ipaddr.IPv4.isValidFourPartDecimal(text)) return ipaddr.IPv4.parse(text).toString();
    if (ipaddr.IPv6.isValid(text)) return ipaddr.IPv6.parse(text).toString();
  } catch {
    return undefined;
  }
  return undefined;
}

function durationSeconds(text: string | undefined, what: string): number {
  if (!text || !isDuration(text)) throw new Error(`${what}: expected a duration like 30m or 1h`);
  return Math.round(parseDuration(text) / 1000);
}

function service(config: OpsConfig, text: string | undefined): string {
  const names = Object.keys(config.platform.services);
  if (!text || !names.includes(text)) throw new Error(`service: expected one of ${names.join(', ') || '(none configured in platform.services)'}`);
  return text;
}

function exactly(words: string[], n: number): void {
  if (words.length !== n) throw new Error(n === 0 ? 'this action takes no arguments' : `expected ${n} argument${n === 1 ? '' : 's'}, got ${words.length}`);
}

async function paramsFor(action: ActionName, words: string[], incidentId: string | undefined, ctx: ParseContext): Promise<Record<string, unknown>> {
  const { config } = ctx;
  switch (action) {
    case 'health_check':
      if (words.length > 1 || (words[0] && !['basic', 'full'].includes(words[0]))) throw new Error('mode: expected basic or full');
      return { mode: words[0] ?? 'full' };
    case 'query_prometheus': {
      // Slack escapes &, < and > in command text; PromQL needs them back (it is a query, never a shell word).
      const typed = words.join(' ').trim().replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
      const query = typed || (incidentId ? await ctx.runbookQuery?.(incidentId) : undefined);
      if (!query) throw new Error('query: give a PromQL expression (or an incident whose runbook has one)');
      return { query };
    }
    case 'restart':
    case 'rollback':
      exactly(words, 1);
      return { service: service(config, words[0]) };
    case 'deploy':
      exactly(words, 2);
      return { service: service(config, words[0]), version: words[1] };
    case 'scale': {
      exactly(words, 2);
      const name = service(config, words[0]);
      const max = config.platform.services[name]!.max_replicas;
      if (!/^\d{1,4}$/.test(words[1]!) || Number(words[1]) > max) throw new Error(`replicas: expected a whole number from 0 to ${max} (platform.services.${name}.max_replicas)`);
      return { service: name, replicas: Number(words[1]) };
    }
    case 'block_ip': {
      const [addr, ttl, ...reason] = words;
      const address = addr ? parseAddress(addr) : undefined;
      if (!address) throw new Error('address: expected an IPv4/IPv6 address or CIDR');
      return { address, ttlSeconds: durationSeconds(ttl, 'ttl'), reason: reason.join(' ') };
    }
    case 'unblock_ip': {
      exactly(words, 1);
      const address = parseAddress(words[0]!);
      if (!address) throw new Error('address: expected an IPv4/IPv6 address or CIDR');
      return { address };
    }
    case 'backup':
      exactly(words, 1);
      return { kind: words[0] };
    case 'verify_backup':
    case 'restore':
      exactly(words, 1);
      return { id: words[0] };
    case 'maintenance': {
      const [mode, duration, ...reason] = words;
      if (mode === 'off') {
        exactly(words, 1);
        return { mode: 'off' };
      }
      if (mode !== 'on') throw new Error('expected on <duration> [reason] or off');
      return { mode: 'on', durationSeconds: durationSeconds(duration, 'duration'), ...(reason.length ? { reason: reason.join(' ') } : {}) };
    }
    case 'reset_circuit_breaker':
      exactly(words, 1);
      return { service: words[0] };
    case 'collect_evidence':
    case 'security_report':
    case 'list_blocked_ips':
      exactly(words, 0);
      return {};
  }
}

function zodReason(err: ZodError): string {
  return err.issues.map((i) => `${i.path.join('.') || 'params'}: ${i.message}`).join('; ');
}

/** Parses the words after `/ops run`. Throws ActionArgsError (reason + usage) on anything it cannot use. */
export async function parseRunArgs(args: readonly string[], ctx: ParseContext): Promise<ParsedRun> {
  const [name, ...rest] = args;
  const known = ActionNameSchema.safeParse(name?.toLowerCase());
  if (!known.success) {
    throw new ActionArgsError(name ? `unknown action "${name.slice(0, 40)}"` : 'which action?', `/ops run <action> [args] [INC-42], action one of ${ACTION_NAMES.join(', ')}`);
  }
  const action = known.data;
  const words = [...rest];
  let incidentId: string | undefined;
  if (words.length && /^INC-\d+$/i.test(words[words.length - 1]!)) incidentId = words.pop()!.toUpperCase();
  try {
    const params = await paramsFor(action, words, incidentId, ctx);
    // The catalog's own schema has the last word: the worker parses the job with it too.
    return { action, params: parseActionParams(action, params) as Record<string, unknown>, ...(incidentId ? { incidentId } : {}) };
  } catch (err) {
    const reason = err instanceof ZodError ? zodReason(err) : (err as Error).message;
    throw new ActionArgsError(reason, ACTION_USAGE[action], action);
  }
}
