import { stringify } from 'yaml';
import { ValidationError } from '../errors';
import { parseOpsConfig, type OnCallOverride, type OpsConfig } from '../ops-config';
import { rolesAllowingCommand } from '../ops-config-rbac';

/**
 * What an importer found, mapped to this product's concepts, before anything
 * is written. Every importer (Grafana OnCall, Opsgenie, PagerDuty) fills the
 * same plan with a pure mapping function; `--plan` prints it, `--apply`
 * writes the config fragment and stores the overrides.
 */

export type RotationInput = {
  members: string[];
  start: string;
  length: string;
  handoff: string;
  timezone: string;
};
export type StepInput = { after: string; notify: string };
export type PolicyInput = { description?: string; steps: StepInput[]; repeat?: number; repeat_interval?: string };
export type RuleInput = { name: string; match?: Record<string, string>; match_re?: Record<string, string>; policy: string };

/** A person in the source, by email (the key Slack is asked with). */
export interface SourceUser {
  id: string;
  email: string;
  /** The source's user name, used when Slack does not know the email. */
  username?: string;
}

/** A source user as the config names them: the Slack user name when matched. */
export interface MappedUser {
  sourceId: string;
  email: string;
  name: string;
  slackId?: string;
  /** How the Slack user id was found: `users.lookupByEmail`, or `--map <email>=<id>`. */
  via?: 'email' | 'map';
}

export interface Unmapped {
  /** "escalation step", "schedule", "route", ... */
  what: string;
  /** Which one, in the source's words. */
  name: string;
  why: string;
}

export interface ImportPlan {
  source: string;
  rotations: Record<string, RotationInput>;
  policies: Record<string, PolicyInput>;
  rules: RuleInput[];
  /** The policy the source's default route used: becomes every priority's default. */
  defaultPolicy?: string;
  users: MappedUser[];
  /** Users Slack does not know by email (and not given with --map): they cannot be paged; on call, they block --apply. */
  unmatchedUsers: MappedUser[];
  /** External override calendars by rotation (Grafana OnCall's `ical_url_overrides`). */
  calendars: Record<string, { url: string }>;
  /** Overrides to store in Redis, each under a stable id (the source's). */
  overrides: Array<{ id: string; override: OnCallOverride }>;
  unmapped: Unmapped[];
}

export function emptyPlan(source: string): ImportPlan {
  return { source, rotations: {}, policies: {}, rules: [], users: [], unmatchedUsers: [], calendars: {}, overrides: [], unmapped: [] };
}

/** A config name from a source's display name: "Primary On-Call" → "primary-on-call". */
export function slug(text: string, fallback: string): string {
  const s = text
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60);
  return s || fallback;
}

/** Makes names unique within one kind: a second "primary" becomes "primary-2". */
export function uniqueName(name: string, taken: Set<string>): string {
  let candidate = name;
  for (let i = 2; taken.has(candidate); i++) candidate = `${name}-${i}`;
  taken.add(candidate);
  return candidate;
}

/** Seconds to this product's duration text: 300 → "5m", 0 → "0m". */
export function secondsToDuration(seconds: number): string {
  if (seconds <= 0) return '0m';
  const parts: string[] = [];
  let rest = Math.round(seconds);
  for (const [unit, size] of [['d', 86_400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join('');
}

/** Where each person the plan names is on call: rotations, escalation steps, overrides. */
export function onCallPlaces(plan: ImportPlan): Map<string, string[]> {
  const places = new Map<string, string[]>();
  const add = (name: string, where: string): void => {
    const list = places.get(name) ?? [];
    if (!list.includes(where)) list.push(where);
    places.set(name, list);
  };
  for (const [name, r] of Object.entries(plan.rotations)) for (const m of r.members) add(m, name);
  for (const [name, p] of Object.entries(plan.policies)) {
    for (const s of p.steps) if (s.notify.startsWith('user:')) add(s.notify.slice('user:'.length), `escalation policy ${name}`);
  }
  for (const { override: o } of plan.overrides) add(o.user, `an override of ${o.rotation ?? 'the main rotation'} from ${o.from} to ${o.to}`);
  return places;
}

/** A person on call whom Slack does not know: cannot be paged or act, so `--apply` refuses. */
export interface BlockingUser {
  user: MappedUser;
  where: string[];
}

export function blockingUsers(plan: ImportPlan): BlockingUser[] {
  const places = onCallPlaces(plan);
  return plan.unmatchedUsers.filter((u) => places.has(u.name)).map((user) => ({ user, where: places.get(user.name)! }));
}

/** A matched person on call whose base-config role could not acknowledge. */
export interface RoleRaise {
  name: string;
  from: string;
  to: string;
  where: string[];
}

/**
 * The RBAC role of each matched person: whoever is on call gets a role that
 * may acknowledge (`role` if it may, else responder; a stronger base role is
 * kept); the others keep their base role, or get `role` when new.
 */
export function importRoles(plan: ImportPlan, base: OpsConfig, role = 'responder'): { roles: Record<string, string>; raised: RoleRaise[] } {
  if (!(role in base.rbac.roles)) throw new ValidationError(`no RBAC role named "${role}" in the base config`);
  const acking = rolesAllowingCommand(base, 'ack');
  const onCallRole = acking.includes(role) ? role : acking.includes('responder') ? 'responder' : undefined;
  const places = onCallPlaces(plan);
  const roles: Record<string, string> = {};
  const raised: RoleRaise[] = [];
  for (const u of plan.users) {
    const existing = base.rbac.users[u.name]?.role;
    const where = places.get(u.name);
    if (!where || (existing && acking.includes(existing))) {
      roles[u.name] = existing ?? role;
      continue;
    }
    if (!onCallRole) throw new ValidationError(`${u.name} is on call in ${where.join(', ')}, but the base config has no "responder" role and "${role}" cannot acknowledge: pass --role with a role that may`);
    roles[u.name] = onCallRole;
    if (existing) raised.push({ name: u.name, from: existing, to: onCallRole, where });
  }
  return { roles, raised };
}

/**
 * The ops config after the import: the base config's sections with the
 * plan's rotations, policies, routes and users added (an entry of the same
 * name is replaced, so importing twice gives the same file). Matched people
 * get their Slack id and the role `importRoles` gives; unmatched people are
 * not written (a user entry needs a slack_id). Validated by the ops config
 * schema; returns the YAML of the sections it touched.
 */
export function buildFragment(plan: ImportPlan, baseRaw: Record<string, unknown>, base: OpsConfig, role = 'responder'): { yaml: string; config: OpsConfig; raised: RoleRaise[] } {
  const { roles, raised } = importRoles(plan, base, role);
  const users: Record<string, unknown> = { ...(asRecord(asRecord(baseRaw.rbac).users)) };
  for (const u of plan.users) users[u.name] = { role: roles[u.name], ...(u.slackId ? { slack_id: u.slackId } : {}) };
  // One Slack user, one entry: a --map id already in the config under another name would make the identity ambiguous.
  const owner = new Map<string, string>();
  for (const [name, entry] of Object.entries(users)) {
    const id = asRecord(entry).slack_id;
    if (typeof id !== 'string') continue;
    if (owner.has(id)) throw new ValidationError(`${name} and ${owner.get(id)} would both be Slack user ${id}: give each person their own Slack user id`);
    owner.set(id, name);
  }
  const importedRules = new Set(plan.rules.map((r) => r.name));
  const baseRules = base.routing.rules.filter((r) => !r.name || !importedRules.has(r.name));
  const baseOncall = asRecord(baseRaw.oncall);
  const baseEscalation = asRecord(baseRaw.escalation);
  const fragment = {
    routing: { rules: [...plan.rules, ...baseRules] },
    escalation: {
      policies: { ...asRecord(baseEscalation.policies), ...plan.policies },
      by_priority: plan.defaultPolicy
        ? { P1: plan.defaultPolicy, P2: plan.defaultPolicy, P3: plan.defaultPolicy, P4: plan.defaultPolicy }
        : base.escalation.by_priority,
    },
    oncall: { ...baseOncall, rotation: baseOncall.rotation ?? base.oncall.rotation, rotations: { ...asRecord(baseOncall.rotations), ...plan.rotations } },
    rbac: { roles: asRecord(asRecord(baseRaw.rbac).roles ?? base.rbac.roles), users },
    ...(Object.keys(plan.calendars).length
      ? { calendars: { ...asRecord(baseRaw.calendars), external: { ...asRecord(asRecord(baseRaw.calendars).external), ...plan.calendars } } }
      : {}),
  };
  const header = `# Imported from ${plan.source} by \`npm run import\`. Merge these sections into your ops config.\n`;
  const yaml = header + stringify(fragment, { lineWidth: 0 });
  // The whole config as the bot would load it: the base file's sections, these replacing theirs.
  const config = parseOpsConfig(stringify({ ...baseRaw, ...fragment }), `${plan.source} import`);
  return { yaml, config, raised };
}

function asRecord(v: unknown): Record<string, unknown> {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** The `--plan` report: what would be created, what cannot be mapped and why, whose role is raised, who blocks `--apply`. */
export function describePlan(plan: ImportPlan, raised: readonly RoleRaise[] = []): string {
  const lines = [`Import from ${plan.source}`, ''];
  lines.push(`Rotations (${Object.keys(plan.rotations).length}):`);
  for (const [name, r] of Object.entries(plan.rotations)) {
    lines.push(`  + oncall.rotations.${name}: ${r.members.join(' → ')}, every ${r.length} at ${r.handoff} ${r.timezone} from ${r.start}`);
  }
  lines.push(`Escalation policies (${Object.keys(plan.policies).length}):`);
  for (const [name, p] of Object.entries(plan.policies)) {
    const steps = p.steps.map((s) => `${s.after} ${s.notify}`).join(', ');
    lines.push(`  + escalation.policies.${name}: ${steps}${p.repeat ? ` (repeat ${p.repeat}× every ${p.repeat_interval})` : ''}`);
  }
  if (plan.defaultPolicy) lines.push(`  + escalation.by_priority: P1..P4 → ${plan.defaultPolicy}`);
  lines.push(`Routing rules (${plan.rules.length}):`);
  for (const r of plan.rules) lines.push(`  + ${r.name}: ${JSON.stringify(r.match ?? r.match_re)} → ${r.policy}`);
  for (const [name, c] of Object.entries(plan.calendars)) lines.push(`  + calendars.external.${name}: overrides from ${c.url}`);
  lines.push(`Overrides (${plan.overrides.length}), stored in Redis:`);
  for (const { override: o } of plan.overrides) lines.push(`  + ${o.user} covers ${o.rotation ?? 'the main rotation'} from ${o.from} to ${o.to}`);
  lines.push(`Users matched to Slack (${plan.users.length}):`);
  for (const u of plan.users) lines.push(`  = ${u.email} → ${u.name} (${u.slackId}${u.via === 'map' ? ', from --map' : ''})`);
  lines.push(`Roles raised so that whoever is on call can acknowledge (${raised.length}):`);
  for (const r of raised) lines.push(`  ^ ${r.name}: ${r.from} → ${r.to} (on call in ${r.where.join(', ')})`);
  const blocking = blockingUsers(plan);
  lines.push(`BLOCKING: on call but not found in Slack (${blocking.length}); they cannot be paged or act, and --apply refuses until each is fixed:`);
  for (const b of blocking) lines.push(`  ! ${describeBlocking(b)}`);
  const offCall = plan.unmatchedUsers.filter((u) => !blocking.some((b) => b.user === u));
  lines.push(`Not found in Slack and on call nowhere, so not imported (${offCall.length}):`);
  for (const u of offCall) lines.push(`  - ${u.email} (as "${u.name}")`);
  lines.push(`Not mapped (${plan.unmapped.length}):`);
  for (const u of plan.unmapped) lines.push(`  - ${u.what} "${u.name}": ${u.why}`);
  return lines.join('\n');
}

/** One unmatched on-call person, where they are on call, and the two ways to fix it. */
export function describeBlocking(b: BlockingUser): string {
  return `${b.user.email} (as "${b.user.name}"), on call in ${b.where.join(', ')}: invite them to Slack with that email, or pass --map ${b.user.email}=<SlackUserId>`;
}
