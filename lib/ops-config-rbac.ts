import type { OpsConfig } from './ops-config-schema';

/**
 * Who may do what, from the ops config's `rbac` section. A person is known by
 * their Slack user id (`rbac.users.<name>.slack_id`) and by the Slack user
 * groups they are in (`rbac.groups.<handle>`), never by a user name: names are
 * labels people can change (and anyone can type), ids are not.
 */
export interface SlackIdentity {
  /** The Slack user id from the signed request (U…, W…). */
  id?: string;
  /** The user groups the person is in, by handle and/or id (S…), as Slack's usergroups.users.list says. */
  groups?: readonly string[];
  /**
   * Ignored, always: a user name is a label anyone can type or change, never an
   * identity. Accepted only so callers that still pass `{ id, name }` compile.
   * @deprecated pass `id` (and `groups`)
   */
  name?: string;
}

export interface RbacMember {
  /** The name the config knows the person by. */
  name: string;
  role: string;
  slackId?: string;
}

/** The RBAC user entry whose `slack_id` is this id. Nothing else matches: not a name, not a key equal to the id. */
export function findRbacMember(config: OpsConfig, who: SlackIdentity): RbacMember | undefined {
  if (!who.id) return undefined;
  const found = Object.entries(config.rbac.users).find(([, u]) => u.slack_id !== undefined && u.slack_id === who.id);
  if (!found) return undefined;
  const [memberName, entry] = found;
  return { name: memberName, role: entry.role, slackId: entry.slack_id };
}

/** Every role the person holds: their own entry's and each configured group's they are in. Empty: no rights. */
export function rolesOf(config: OpsConfig, who: SlackIdentity): string[] {
  const roles = new Set<string>();
  const member = findRbacMember(config, who);
  if (member) roles.add(member.role);
  const groups = new Set(who.groups ?? []);
  for (const [handle, entry] of Object.entries(config.rbac.groups)) {
    if (groups.has(handle) || (entry.slack_id !== undefined && groups.has(entry.slack_id))) roles.add(entry.role);
  }
  return [...roles].filter((r) => r in config.rbac.roles);
}

/** The first of the person's roles, for messages ("you are viewer"). */
export function roleOf(config: OpsConfig, who: SlackIdentity): string | undefined {
  return rolesOf(config, who)[0];
}

function allows(list: readonly string[], item: string): boolean {
  return list.includes('*') || list.includes(item);
}

/** May this person run `/ops <command>`? Commands are verbs ("ack") or verb pairs ("oncall override"). */
export function mayRunCommand(config: OpsConfig, who: SlackIdentity, command: string): boolean {
  const wanted = command.trim().toLowerCase();
  return rolesOf(config, who).some((r) => allows(config.rbac.roles[r]!.commands, wanted));
}

/**
 * May this person run the runbook action `action`? With `channel` (the names
 * and/or id it is known by), also: does one of the roles that allow the
 * action allow it there (`rbac.roles.<role>.channels`)?
 */
export function mayRunAction(config: OpsConfig, who: SlackIdentity, action: string, channel?: readonly string[]): boolean {
  return rolesOf(config, who).some((r) => roleAllowsAction(config, r, action, channel));
}

/** Does `role` allow `action` (in `channel`, when given)? */
export function roleAllowsAction(config: OpsConfig, role: string, action: string, channel?: readonly string[]): boolean {
  const permissions = config.rbac.roles[role];
  if (!permissions || !allows(permissions.actions, action)) return false;
  if (!channel || !permissions.channels) return true;
  return permissions.channels.some((c) => channel.includes(c));
}

/** The roles that allow `action` (for "needs the role responder or admin"). */
export function rolesAllowingAction(config: OpsConfig, action: string): string[] {
  return Object.keys(config.rbac.roles).filter((r) => roleAllowsAction(config, r, action));
}

/** The roles that allow `/ops <command>`. */
export function rolesAllowingCommand(config: OpsConfig, command: string): string[] {
  return Object.entries(config.rbac.roles)
    .filter(([, p]) => allows(p.commands, command.trim().toLowerCase()))
    .map(([r]) => r);
}

/** "responder or admin": a list of roles for people to read. */
export function describeRoles(roles: readonly string[]): string {
  if (roles.length === 0) return 'a role that nobody has';
  if (roles.length === 1) return `the role ${roles[0]}`;
  return `the role ${roles.slice(0, -1).join(', ')} or ${roles[roles.length - 1]}`;
}

/** Of `commands`, the ones this person may run: what `/ops help` lists. */
export function allowedCommands(config: OpsConfig, who: SlackIdentity, commands: readonly string[]): string[] {
  return commands.filter((c) => mayRunCommand(config, who, c));
}

/** Of `actions`, the ones this person may run somewhere. */
export function allowedActions(config: OpsConfig, who: SlackIdentity, actions: readonly string[]): string[] {
  return actions.filter((a) => mayRunAction(config, who, a));
}

/**
 * Why the config user `name` cannot be on call, or undefined when they can:
 * whoever is paged must be able to acknowledge. A name without an RBAC entry
 * is not judged here (it gets no rights either way).
 */
export function cannotBeOnCall(config: OpsConfig, name: string): string | undefined {
  const entry = config.rbac.users[name];
  if (!entry) return undefined;
  const role = config.rbac.roles[entry.role];
  if (!role || allows(role.commands, 'ack')) return undefined;
  return `${name} is a ${entry.role}, who cannot acknowledge: only ${describeRoles(rolesAllowingCommand(config, 'ack')).replace(/^the role /, '')} can be on call`;
}
