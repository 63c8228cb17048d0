import fs from 'node:fs';
import path from 'node:path';
import { DateTime } from 'luxon';
import { parseDocument } from 'yaml';
import { parseDuration } from './duration';
import { ConfigError } from './errors';
import { PACKAGE_ROOT } from './package-root';
import { NEXT_BUSINESS_DAY, OpsConfigSchema, PRIORITIES, type OpsConfig } from './ops-config-schema';
import { cannotBeOnCall } from './ops-config-rbac';

export {
  NEXT_BUSINESS_DAY,
  OpsConfigSchema,
  PRIORITIES,
  PrioritySchema,
  WEEKDAYS,
  type BusinessHoursConfig,
  type EscalationPolicy,
  type EscalationStep,
  type OnCallConfig,
  type OnCallOverride,
  type OpsConfig,
  type Priority,
  type RbacConfig,
  type RotationConfig,
  type RoutingRule,
  type Weekday,
} from './ops-config-schema';

/** The built-in default: the documented example, which is also the local config. */
export const DEFAULT_OPS_CONFIG_PATH = path.join(PACKAGE_ROOT, 'config', 'ops.example.yaml');

type Issue = { path: ReadonlyArray<PropertyKey>; message: string; code?: string; keys?: string[] };

/** `['escalation', 'policies', 'p1', 'steps', 2, 'after']` → `escalation.policies.p1.steps[2].after` */
export function formatKeyPath(keys: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const key of keys) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out || '(root)';
}

function fail(source: string, issues: Issue[], input?: unknown): never {
  const problems = issues.flatMap((i) => {
    // Name each unknown key in its own path: "oncall.rotaton: unknown key" beats "oncall: Unrecognized key".
    if (i.code === 'unrecognized_keys' && i.keys) return i.keys.map((k) => `${formatKeyPath([...i.path, k])}: unknown key`);
    const message = input !== undefined && valueAt(input, i.path) === undefined ? 'required' : i.message;
    return [`${formatKeyPath(i.path)}: ${message}`];
  });
  throw new ConfigError(`invalid ops config (${source}): ${problems.join('; ')}`, problems);
}

/** The value at a zod issue's path in the input: undefined means the key is missing ("required"). */
export function valueAt(root: unknown, keys: ReadonlyArray<PropertyKey>): unknown {
  let node = root;
  for (const key of keys) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

let cachedDefault: Record<string, unknown> | undefined;

function defaultSections(): Record<string, unknown> {
  cachedDefault ??= readYaml(fs.readFileSync(DEFAULT_OPS_CONFIG_PATH, 'utf8'), DEFAULT_OPS_CONFIG_PATH);
  return cachedDefault;
}

function readYaml(text: string, source: string): Record<string, unknown> {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    fail(
      source,
      doc.errors.map((e) => ({ path: [], message: `YAML: ${e.message.split('\n')[0]?.replace(/:$/, '')}` })),
    );
  }
  const value: unknown = doc.toJS() ?? {};
  if (typeof value !== 'object' || Array.isArray(value)) fail(source, [{ path: [], message: 'expected a mapping of sections' }]);
  return value as Record<string, unknown>;
}

/**
 * Parses and validates an ops config. A top-level section the text leaves out
 * is taken whole from the built-in default, so a small file can change one
 * thing. Throws ConfigError naming every bad key path.
 */
export function parseOpsConfig(yamlText: string, source = 'ops config'): OpsConfig {
  const raw = readYaml(yamlText, source);
  const merged = { ...defaultSections(), ...raw };
  const parsed = OpsConfigSchema.safeParse(merged);
  if (!parsed.success) fail(source, parsed.error.issues as Issue[], merged);
  const problems = crossCheck(parsed.data).map((issue) => {
    const section = String(issue.path[0]);
    // A default section can clash with a section the file replaced: say where it came from.
    return section in raw ? issue : { ...issue, message: `${issue.message} (this section is the built-in default; set ${section} in your file)` };
  });
  if (problems.length > 0) fail(source, problems);
  return parsed.data;
}

/** Reads `file` (OPS_CONFIG), or the built-in default when no path is given. */
export function loadOpsConfig(file?: string): OpsConfig {
  const target = file ?? DEFAULT_OPS_CONFIG_PATH;
  let text: string;
  try {
    text = fs.readFileSync(target, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read ops config ${target}: ${(err as Error).message}`, [`OPS_CONFIG: cannot read ${target}`]);
  }
  return parseOpsConfig(text, target);
}

/** Everyone the config knows by name: rotation members and RBAC users. */
export function knownUsers(config: OpsConfig): Set<string> {
  const named = Object.values(config.oncall.rotations).flatMap((r) => r.members);
  return new Set([...config.oncall.rotation.members, ...named, ...Object.keys(config.rbac.users)]);
}

/** References between sections, which no single section's schema can see. */
function crossCheck(config: OpsConfig): Issue[] {
  const issues: Issue[] = [];
  const policies = config.escalation.policies;
  const users = knownUsers(config);

  for (const p of PRIORITIES) {
    const name = config.escalation.by_priority[p];
    if (!(name in policies)) issues.push({ path: ['escalation', 'by_priority', p], message: `no policy named "${name}"` });
  }
  config.routing.rules.forEach((rule, i) => {
    if (rule.policy !== undefined && !(rule.policy in policies)) {
      issues.push({ path: ['routing', 'rules', i, 'policy'], message: `no policy named "${rule.policy}"` });
    }
  });
  for (const [name, policy] of Object.entries(policies)) {
    const at = ['escalation', 'policies', name];
    policy.steps.forEach((step, i) => {
      if (step.notify.startsWith('oncall:') && !(step.notify.slice(7) in config.oncall.rotations)) {
        issues.push({ path: [...at, 'steps', i, 'notify'], message: `no rotation named "${step.notify.slice(7)}" in oncall.rotations` });
      }
      if (step.notify.startsWith('user:') && !users.has(step.notify.slice(5))) {
        issues.push({ path: [...at, 'steps', i, 'notify'], message: `unknown user "${step.notify.slice(5)}" (not a rotation member or RBAC user)` });
      }
      const prev = policy.steps[i - 1];
      if (prev && isTimed(prev.after) && isTimed(step.after) && parseDuration(step.after) < parseDuration(prev.after)) {
        issues.push({ path: [...at, 'steps', i, 'after'], message: `must not be earlier than the previous step (${prev.after})` });
      }
    });
    if (policy.repeat > 0) {
      if (policy.repeat_interval === undefined) {
        issues.push({ path: [...at, 'repeat_interval'], message: 'required when repeat > 0' });
      } else {
        const longest = Math.max(...policy.steps.filter((s) => isTimed(s.after)).map((s) => parseDuration(s.after)), 0);
        if (parseDuration(policy.repeat_interval) <= longest) {
          issues.push({ path: [...at, 'repeat_interval'], message: 'must be longer than the last step\'s "after"' });
        }
      }
    }
  }
  const rotations: Array<[PropertyKey[], OpsConfig['oncall']['rotation']]> = [
    [['oncall', 'rotation'], config.oncall.rotation],
    ...Object.entries(config.oncall.rotations).map(([name, r]): [PropertyKey[], OpsConfig['oncall']['rotation']] => [['oncall', 'rotations', name], r]),
  ];
  for (const [at, rotation] of rotations) {
    if (!rotation.start.includes('T')) continue;
    const local = DateTime.fromISO(rotation.start, { zone: rotation.timezone });
    if (local.toFormat('HH:mm') !== rotation.handoff) {
      issues.push({
        path: [...at, 'start'],
        message: `its time of day (${local.toFormat('HH:mm')} in ${rotation.timezone}) differs from handoff (${rotation.handoff}); give a date, or the handoff time`,
      });
    }
  }
  config.oncall.overrides.forEach((o, i) => {
    if (!users.has(o.user)) issues.push({ path: ['oncall', 'overrides', i, 'user'], message: `unknown user "${o.user}"` });
    if (o.rotation !== undefined && !(o.rotation in config.oncall.rotations)) {
      issues.push({ path: ['oncall', 'overrides', i, 'rotation'], message: `no rotation named "${o.rotation}" in oncall.rotations` });
    }
    const zone = config.oncall.rotation.timezone;
    if (parseInstant(o.to, zone).getTime() <= parseInstant(o.from, zone).getTime()) {
      issues.push({ path: ['oncall', 'overrides', i, 'to'], message: 'must be later than from' });
    }
  });
  for (const name of Object.keys(config.calendars.external)) {
    if (name !== 'main' && !(name in config.oncall.rotations)) {
      issues.push({ path: ['calendars', 'external', name], message: `no rotation named "${name}" (main or a name in oncall.rotations)` });
    }
  }
  for (const [user, entry] of Object.entries(config.rbac.users)) {
    if (!(entry.role in config.rbac.roles)) issues.push({ path: ['rbac', 'users', user], message: `no role named "${entry.role}"` });
    if (!entry.slack_id) {
      issues.push({ path: ['rbac', 'users', user], message: `needs a slack_id: people are matched by Slack user id, never by name (write ${user}: { role: ${entry.role}, slack_id: U... })` });
    }
  }
  for (const [group, entry] of Object.entries(config.rbac.groups)) {
    if (!(entry.role in config.rbac.roles)) issues.push({ path: ['rbac', 'groups', group], message: `no role named "${entry.role}"` });
  }
  // Whoever is on call must be able to acknowledge; a viewer would be paged and could do nothing.
  for (const [at, rotation] of rotations) {
    rotation.members.forEach((name, i) => {
      const why = cannotBeOnCall(config, name);
      if (why) issues.push({ path: [...at, 'members', i], message: why });
    });
  }
  config.oncall.overrides.forEach((o, i) => {
    const why = cannotBeOnCall(config, o.user);
    if (why) issues.push({ path: ['oncall', 'overrides', i, 'user'], message: why });
  });
  return issues;
}

/** An ISO date or date-time as an instant; text without an offset is wall-clock time in `zone`. */
export function parseInstant(text: string, zone: string): Date {
  const dt = DateTime.fromISO(text, { zone, setZone: false });
  if (!dt.isValid) throw new ConfigError(`invalid date-time "${text}"`, [`expected an ISO date-time, got "${text}"`]);
  return dt.toJSDate();
}

function isTimed(after: string): boolean {
  return after !== NEXT_BUSINESS_DAY;
}
