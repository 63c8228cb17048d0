import fs from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { ConfigError, NotFoundError, ValidationError } from './errors';
import { PACKAGE_ROOT } from './package-root';
import { formatKeyPath, valueAt, loadOpsConfig, PrioritySchema, type OpsConfig, type Priority } from './ops-config';

/**
 * Runbooks: one YAML file per alert in `runbooks/`, named `<alertname>.yaml`
 * (the alert rules' `runbook_url` points at it). A runbook gives the default
 * priority, what to look at when the incident opens, the actions offered in
 * its thread and what a person does, in order. Keys mirror the YAML exactly,
 * so an error's key path is the path a person sees in the file.
 */

/** Where the committed runbooks live. */
export const RUNBOOKS_DIR = path.join(PACKAGE_ROOT, 'runbooks');

/** An alert name as a file name: no dots or slashes, so no path can escape the directory. */
export const RUNBOOK_NAME_RE = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

/**
 * Alerts no Prometheus rule raises: the workers' routine sends them to the
 * bot's webhook itself (Alertmanager-v4-shaped), so they have a runbook but no
 * rule. Name → what raises it. The runbook/rule consistency checks skip these.
 */
export const RULE_FREE_ALERTS: Readonly<Record<string, string>> = {
  BackupFailed: 'workers/routine/backup.ts: the daily configuration backup failed, or no verified backup within routine.backup.max_age',
  HeartbeatMissing: 'bot/heartbeats/heartbeat-monitor.ts: a heartbeat source (or Alertmanager\'s Watchdog) went quiet for longer than its interval',
};

/** Every action a runbook may offer in an incident thread. */
export const RUNBOOK_ACTIONS = [
  'health_check',
  'restart',
  'rollback',
  'block_ip',
  'unblock_ip',
  'backup',
  'maintenance_on',
  'maintenance_off',
  'reset_circuit_breaker',
  'collect_evidence',
] as const;
export const RunbookActionSchema = z.enum(RUNBOOK_ACTIONS, { error: `expected one of ${RUNBOOK_ACTIONS.join(', ')}` });
export type RunbookAction = z.infer<typeof RunbookActionSchema>;

/** Actions that change what serves traffic: a runbook must put them behind a confirmation. */
export const GUARDED_ACTIONS: ReadonlySet<RunbookAction> = new Set<RunbookAction>([
  'restart',
  'rollback',
  'block_ip',
  'unblock_ip',
  'maintenance_on',
  'maintenance_off',
  'reset_circuit_breaker',
]);

/**
 * Read-only actions a diagnostic may run when the incident opens, each an MCP
 * ops tool: ops_health_check, ops_security_report, ops_list_blocked_ips,
 * ops_collect_evidence (writes an archive, changes nothing that serves traffic).
 */
export const DIAGNOSTIC_ACTIONS = ['health_check', 'security_report', 'list_blocked_ips', 'collect_evidence'] as const;
export const DiagnosticActionSchema = z.enum(DIAGNOSTIC_ACTIONS, { error: `expected one of ${DIAGNOSTIC_ACTIONS.join(', ')}` });

/** Plain YAML reads "Check X: then Y" as a mapping; say so, since that is the usual cause. */
const notText = (what: string) => (issue: { input?: unknown }) =>
  issue.input !== null && typeof issue.input === 'object' && !Array.isArray(issue.input)
    ? `expected ${what}, got a mapping (a ": " in unquoted YAML starts one; quote the text or use >-)`
    : `expected ${what}`;

const text = (what: string) => z.string({ error: notText(what) }).trim().min(1, `expected ${what}`);

/** Unbalanced (), [] or {} outside strings: the typo that makes a query fail at 3 a.m. */
function bracketsBalance(expr: string): boolean {
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  const stack: string[] = [];
  for (const ch of expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')) {
    if (ch === '(' || ch === '[' || ch === '{') stack.push(ch);
    else if (ch in pairs && stack.pop() !== pairs[ch]) return false;
  }
  return stack.length === 0;
}

export const RunbookDiagnosticSchema = z
  .strictObject({
    /** snake_case id, unique in the runbook: the key a result is shown under. */
    name: z.string({ error: 'expected a snake_case name' }).regex(/^[a-z][a-z0-9_]{0,63}$/, 'expected a snake_case name'),
    description: text('a description'),
    action: DiagnosticActionSchema.optional(),
    /** An instant query against PROMETHEUS_URL. */
    promql: text('a PromQL expression').refine(bracketsBalance, 'unbalanced brackets').optional(),
  })
  .refine((d) => d.action !== undefined || d.promql !== undefined, 'a diagnostic runs an action or a promql query (a step to read belongs in procedure)');

export const RunbookOfferedActionSchema = z
  .strictObject({
    action: RunbookActionSchema,
    /** Button text: Slack allows 75 characters. */
    label: text('a label').pipe(z.string().max(75, 'at most 75 characters (Slack button text)')),
    /** True: the person confirms before it runs. */
    guarded: z.boolean({ error: 'expected true or false' }),
    description: text('a description'),
  })
  .refine((a) => a.guarded || !GUARDED_ACTIONS.has(a.action), { message: 'this action changes the running service: guarded must be true', path: ['guarded'] });

const LinkSchema = z.strictObject({
  title: text('a title'),
  /** An http(s) URL, or a path in this repository (optionally with #anchor). */
  url: text('a URL').refine(
    (u) => /^https?:\/\/\S+$/.test(u) || (/^[A-Za-z0-9_][A-Za-z0-9_./-]*(#[A-Za-z0-9_-]+)?$/.test(u) && !u.split('/').includes('..')),
    'expected an http(s) URL or a repository path',
  ),
});

const uniqueBy = <T>(key: (item: T) => string, what: string) => (items: T[], ctx: z.RefinementCtx) => {
  const seen = new Set<string>();
  items.forEach((item, i) => {
    const k = key(item);
    if (seen.has(k)) ctx.addIssue({ code: 'custom', message: `duplicate ${what} "${k}"`, path: [i] });
    seen.add(k);
  });
};

export const RunbookSchema = z.strictObject({
  /** The alertname, equal to the file name without `.yaml`. */
  alert: z.string({ error: 'expected the alert name' }).regex(RUNBOOK_NAME_RE, 'expected an alert name (letters, digits, _ and -)'),
  title: text('a title'),
  summary: text('a summary'),
  /** Used when an alert carries neither a `priority` nor a `severity` label. */
  priority: PrioritySchema,
  /** The `severity` label the rule sets; must map to `priority` (priority.severity_map). */
  severity: text('a severity'),
  /** The response the priority promises, in the operations guide's words. */
  response_time: text('a response time'),
  diagnostics: z.array(RunbookDiagnosticSchema).min(1, 'at least one diagnostic').superRefine(uniqueBy((d) => d.name, 'diagnostic')),
  actions: z.array(RunbookOfferedActionSchema).min(1, 'at least one action').superRefine(uniqueBy((a) => a.action, 'action')),
  procedure: z.array(text('a step')).min(1, 'at least one step'),
  /**
   * Automatic remediation the runbook allows when its alert fires. It runs only
   * when the ops config's `remediation.enabled` is true, within its hourly limit,
   * and is always announced in the thread with an Undo button.
   */
  remediation: z
    .strictObject({
      kind: z.enum(['block_top_offender'], { error: 'expected block_top_offender' }),
      description: text('a description'),
    })
    .optional(),
  /** An escalation policy of the ops config, instead of the one for the priority. */
  escalation: z.string().regex(/^[A-Za-z0-9._-]+$/, 'expected a policy name').optional(),
  links: z.array(LinkSchema).optional(),
});

export type Runbook = z.output<typeof RunbookSchema>;
export type RunbookDiagnostic = Runbook['diagnostics'][number];
export type RunbookOfferedAction = Runbook['actions'][number];

export interface RunbookLoadOptions {
  /** severity → priority map the runbooks must agree with. @defaultValue the built-in ops config's */
  severityMap?: Readonly<Record<string, Priority>>;
}

let defaultSeverityMap: Readonly<Record<string, Priority>> | undefined;

function severityMapOf(options: RunbookLoadOptions): Readonly<Record<string, Priority>> {
  if (options.severityMap) return options.severityMap;
  defaultSeverityMap ??= loadOpsConfig().priority.severity_map;
  return defaultSeverityMap;
}

type Issue = { path: ReadonlyArray<PropertyKey>; message: string; code?: string; keys?: string[] };

function problemsOf(source: string, issues: Issue[], input: unknown): string[] {
  return issues.flatMap((i) => {
    if (i.code === 'unrecognized_keys' && i.keys) return i.keys.map((k) => `${source}: ${formatKeyPath([...i.path, k])}: unknown key`);
    const missing = i.path.length > 0 && valueAt(input, i.path) === undefined;
    return [`${source}: ${formatKeyPath(i.path)}: ${missing ? 'required' : i.message}`];
  });
}


/** Parses one runbook; returns it, or the problems as "source: key.path: reason" lines. */
function parseRunbookText(yamlText: string, source: string, expectedName: string | undefined, options: RunbookLoadOptions): Runbook | string[] {
  const doc = parseDocument(yamlText, { prettyErrors: true });
  if (doc.errors.length > 0) return doc.errors.map((e) => `${source}: (root): YAML: ${e.message.split('\n')[0]?.replace(/:$/, '')}`);
  const input: unknown = doc.toJS();
  const parsed = RunbookSchema.safeParse(input);
  if (!parsed.success) return problemsOf(source, parsed.error.issues as Issue[], input);
  const runbook = parsed.data;
  const problems: string[] = [];
  if (expectedName !== undefined && runbook.alert !== expectedName) {
    problems.push(`${source}: alert: "${runbook.alert}" differs from the file name (${expectedName}.yaml)`);
  }
  const map = severityMapOf(options);
  const mapped = map[runbook.severity];
  if (mapped === undefined) {
    problems.push(`${source}: severity: "${runbook.severity}" is not in priority.severity_map (${Object.keys(map).join(', ')})`);
  } else if (mapped !== runbook.priority) {
    problems.push(`${source}: priority: ${runbook.priority} disagrees with severity ${runbook.severity}, which maps to ${mapped}`);
  }
  return problems.length > 0 ? problems : runbook;
}

/** Validates runbook YAML text. Throws ConfigError naming `source` and each bad key path. */
export function parseRunbook(yamlText: string, source: string, expectedName?: string, options: RunbookLoadOptions = {}): Runbook {
  const result = parseRunbookText(yamlText, source, expectedName, options);
  if (Array.isArray(result)) throw new ConfigError(`invalid runbook: ${result.join('; ')}`, result);
  return result;
}

/** Throws ValidationError unless `name` is a plain alert name (no dots, slashes or other path tricks). */
export function assertRunbookName(name: string): void {
  if (!RUNBOOK_NAME_RE.test(name)) throw new ValidationError(`invalid runbook name "${name.slice(0, 80)}": expected ${RUNBOOK_NAME_RE.source}`);
}

/** Loads `<dir>/<name>.yaml`. ValidationError for a bad name, NotFoundError when absent, ConfigError when invalid. */
export function loadRunbook(dir: string, name: string, options: RunbookLoadOptions = {}): Runbook {
  assertRunbookName(name);
  const file = path.join(dir, `${name}.yaml`);
  let yamlText: string;
  try {
    yamlText = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`no runbook for alert "${name}" in ${dir}`);
    throw new ConfigError(`cannot read runbook ${file}: ${(err as Error).message}`, [`${file}: cannot read`]);
  }
  return parseRunbook(yamlText, file, name, options);
}

/**
 * Loads and validates every `*.yaml` in `dir`, keyed by alert name. Checks
 * every file before failing, so one ConfigError lists all the problems, each
 * as "file: key.path: reason". Other files (a README) are ignored.
 */
export function loadRunbooks(dir: string = RUNBOOKS_DIR, options: RunbookLoadOptions = {}): Map<string, Runbook> {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    throw new ConfigError(`cannot read the runbooks directory ${dir}: ${(err as Error).message}`, [`${dir}: cannot read`]);
  }
  const runbooks = new Map<string, Runbook>();
  const problems: string[] = [];
  for (const entry of entries.filter((e) => e.isFile()).sort((a, b) => a.name.localeCompare(b.name))) {
    const file = path.join(dir, entry.name);
    if (entry.name.endsWith('.yml')) {
      problems.push(`${file}: (root): runbooks are named <alertname>.yaml, as runbook_url says`);
      continue;
    }
    if (!entry.name.endsWith('.yaml')) continue;
    const name = entry.name.slice(0, -'.yaml'.length);
    if (!RUNBOOK_NAME_RE.test(name)) {
      problems.push(`${file}: (root): the file name is not an alert name (${RUNBOOK_NAME_RE.source})`);
      continue;
    }
    const result = parseRunbookText(fs.readFileSync(file, 'utf8'), file, name, options);
    if (Array.isArray(result)) problems.push(...result);
    else runbooks.set(name, result);
  }
  if (problems.length > 0) throw new ConfigError(`invalid runbooks: ${problems.join('; ')}`, problems);
  if (runbooks.size === 0) throw new ConfigError(`no runbooks (*.yaml) in ${dir}`, [`${dir}: no runbooks`]);
  return runbooks;
}

/**
 * What a runbook names that the ops config must have: its escalation policy.
 * Empty when all is well; the bot can refuse to start otherwise.
 */
export function runbookConfigProblems(runbooks: ReadonlyMap<string, Runbook>, config: OpsConfig): string[] {
  const problems: string[] = [];
  for (const [name, runbook] of runbooks) {
    if (runbook.escalation !== undefined && !(runbook.escalation in config.escalation.policies)) {
      problems.push(`${name}: escalation: no policy named "${runbook.escalation}" in the ops config`);
    }
  }
  return problems;
}
