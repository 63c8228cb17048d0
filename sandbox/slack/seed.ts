import crypto from 'node:crypto';
import type { SandboxChannel, SandboxUser, SandboxUsergroup, SeedChannel, SeedUser, SeedUsergroup } from './types';

/** The sandbox workspace. Ids are stable so scripts, configs and tests can name them. */
export const SANDBOX_TEAM = { id: 'T0SANDBOX', domain: 'sandbox', name: 'Sandbox' } as const;

/** The app the bot token belongs to: what `auth.test` reports and what posts carry. */
export const SANDBOX_BOT = {
  userId: 'U0OPSBOT',
  botId: 'B0OPSBOT',
  appId: 'A0OPSBOT',
  name: 'opsbot',
} as const;

export const DEFAULT_CHANNELS: SeedChannel[] = [
  { id: 'C0OPSCRIT', name: 'ops-critical', purpose: 'P1 and P2 incidents' },
  { id: 'C0OPSALRT', name: 'ops-alerts', purpose: 'P3 and P4 alerts' },
  { id: 'C0OPSRPTS', name: 'ops-reports', purpose: 'Reports and post-mortems' },
  { id: 'C0GENERAL', name: 'general', purpose: 'Everyone' },
];

export const DEFAULT_USERS: SeedUser[] = [
  { id: 'U0ALICE', name: 'alice', realName: 'Alice Admin', isAdmin: true, title: 'admin' },
  { id: 'U0BOB', name: 'bob', realName: 'Bob Responder', title: 'responder' },
  { id: 'U0CAROL', name: 'carol', realName: 'Carol Viewer', title: 'viewer' },
];

/** The user groups the default ops config pages (`usergroup:ops-leads`, `usergroup:security`). */
export const DEFAULT_USERGROUPS: SeedUsergroup[] = [
  { id: 'S0OPSLEADS', handle: 'ops-leads', name: 'Ops leads', description: 'Escalation after the on-call pair', users: ['U0ALICE', 'U0BOB'] },
  { id: 'S0SECURITY', handle: 'security', name: 'Security', description: 'Auth and token anomalies', users: ['U0ALICE'] },
];

/** A stable Slack-looking id for a seed without one: the same name always maps to the same id. */
export function stableId(prefix: 'C' | 'U' | 'D' | 'S', name: string): string {
  const hash = crypto.createHash('sha256').update(name).digest('hex').toUpperCase();
  return `${prefix}0${hash.replace(/[^A-Z0-9]/g, '').slice(0, 8)}`;
}

export function channelFromSeed(seed: SeedChannel, created: number): SandboxChannel {
  return {
    id: seed.id ?? stableId('C', seed.name),
    name: seed.name.replace(/^#/, ''),
    isPrivate: seed.isPrivate ?? false,
    isIm: false,
    created,
    topic: seed.topic ?? '',
    purpose: seed.purpose ?? '',
    isArchived: false,
  };
}

export function userFromSeed(seed: SeedUser): SandboxUser {
  return {
    id: seed.id ?? stableId('U', seed.name),
    name: seed.name,
    realName: seed.realName ?? seed.name,
    email: seed.email ?? `${seed.name}@sandbox.example`,
    isAdmin: seed.isAdmin ?? false,
    isBot: false,
    title: seed.title,
  };
}

/** A seed group with its members' names turned into ids (unknown names are dropped, as Slack would refuse them). */
export function usergroupFromSeed(seed: SeedUsergroup, users: ReadonlyMap<string, SandboxUser>, created: number): SandboxUsergroup {
  const ids = seed.users
    .map((ref) => (users.has(ref) ? ref : [...users.values()].find((u) => u.name === ref.replace(/^@/, ''))?.id))
    .filter((id): id is string => Boolean(id));
  return {
    id: seed.id ?? stableId('S', seed.handle),
    handle: seed.handle,
    name: seed.name ?? seed.handle,
    description: seed.description ?? '',
    users: [...new Set(ids)],
    created,
    disabled: seed.disabled ?? false,
  };
}

export function botUser(): SandboxUser {
  return {
    id: SANDBOX_BOT.userId,
    name: SANDBOX_BOT.name,
    realName: 'Ops Bot',
    email: '',
    isAdmin: false,
    isBot: true,
    botId: SANDBOX_BOT.botId,
  };
}
