import type { OpsConfig } from './ops-config-schema';

/** How Slack names a person: its user id (U0ALICE) and/or its user name (alice). */
export interface SlackIdentity {
  id?: string;
  name?: string;
}

export interface RbacMember {
  /** The name the config knows the person by. */
  name: string;
  role: string;
  slackId?: string;
}

/**
 * The RBAC entry for a Slack identity: by a configured `slack_id` first (ids
 * never change), then by user name. Unknown people get undefined, i.e. no rights.
 */
export function findRbacMember(config: OpsConfig, who: SlackIdentity): RbacMember | undefined {
  const entries = Object.entries(config.rbac.users);
  const byId = who.id ? entries.find(([, u]) => u.slack_id === who.id) : undefined;
  const name = who.name?.replace(/^@/, '');
  const found = byId ?? (name ? entries.find(([n]) => n === name) : undefined) ?? (who.id ? entries.find(([n]) => n === who.id) : undefined);
  if (!found) return undefined;
  const [memberName, entry] = found;
  return { name: memberName, role: entry.role, slackId: entry.slack_id };
}

export function roleOf(config: OpsConfig, who: SlackIdentity): string | undefined {
  return findRbacMember(config, who)?.role;
}

function allows(list: readonly string[], item: string): boolean {
  return list.includes('*') || list.includes(item);
}

/** May this person run `/ops <command>`? Commands are verbs ("ack") or verb pairs ("oncall override"). */
export function mayRunCommand(config: OpsConfig, who: SlackIdentity, command: string): boolean {
  const role = roleOf(config, who);
  const permissions = role === undefined ? undefined : config.rbac.roles[role];
  return permissions !== undefined && allows(permissions.commands, command.trim().toLowerCase());
}

/** May this person run the runbook action `action` (e.g. "restart")? */
export function mayRunAction(config: OpsConfig, who: SlackIdentity, action: string): boolean {
  const role = roleOf(config, who);
  const permissions = role === undefined ? undefined : config.rbac.roles[role];
  return permissions !== undefined && allows(permissions.actions, action);
}

/** Of `commands`, the ones this person may run: what `/ops help` lists. */
export function allowedCommands(config: OpsConfig, who: SlackIdentity, commands: readonly string[]): string[] {
  return commands.filter((c) => mayRunCommand(config, who, c));
}
