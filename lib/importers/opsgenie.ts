import { DateTime } from 'luxon';
import { z } from 'zod';
import { emptyPlan, slug, uniqueName, type ImportPlan, type MappedUser, type RotationInput, type SourceUser, type StepInput } from './import-plan';
import type { SourceClient } from './source-client';

/**
 * Opsgenie REST API v2: users, teams, schedules with their rotations and
 * overrides, escalations. `Authorization: GenieKey <key>`; answers are
 * `{data, paging?, took, requestId}`.
 */

const envelope = <T extends z.ZodType>(data: T) =>
  z.looseObject({ data, paging: z.looseObject({ next: z.string().optional() }).optional(), took: z.number().optional(), requestId: z.string().optional() });

const Participant = z.looseObject({ type: z.string(), id: z.string().optional(), username: z.string().optional(), name: z.string().optional() });
export const OgUserSchema = z.looseObject({ id: z.string(), username: z.string(), fullName: z.string().optional() });
export const OgTeamSchema = z.looseObject({ id: z.string(), name: z.string() });
export const OgScheduleSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  timezone: z.string(),
  enabled: z.boolean().default(true),
  ownerTeam: z.looseObject({ id: z.string(), name: z.string() }).optional(),
});
export const OgRotationSchema = z.looseObject({
  id: z.string(),
  name: z.string().optional(),
  startDate: z.string(),
  endDate: z.string().optional(),
  type: z.enum(['daily', 'weekly', 'hourly']),
  length: z.number().int().positive().default(1),
  participants: z.array(Participant),
  timeRestriction: z.unknown().optional(),
});
export const OgOverrideSchema = z.looseObject({
  alias: z.string(),
  user: Participant,
  startDate: z.string(),
  endDate: z.string(),
  rotations: z.array(z.looseObject({ id: z.string() })).optional(),
});
export const OgEscalationSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  ownerTeam: z.looseObject({ id: z.string(), name: z.string() }).optional(),
  rules: z.array(
    z.looseObject({
      condition: z.enum(['if-not-acked', 'if-not-closed']),
      notifyType: z.enum(['default', 'next', 'previous', 'users', 'admins', 'all']),
      delay: z.looseObject({ timeAmount: z.number().min(0), timeUnit: z.enum(['minutes', 'hours', 'days']).default('minutes') }),
      recipient: Participant,
    }),
  ),
  repeat: z.looseObject({ waitInterval: z.number().min(0), count: z.number().int().min(0), resetRecipientStates: z.boolean().optional(), closeAlertAfterAll: z.boolean().optional() }).optional(),
});

export interface OpsgenieSnapshot {
  users: Array<z.infer<typeof OgUserSchema>>;
  teams: Array<z.infer<typeof OgTeamSchema>>;
  schedules: Array<z.infer<typeof OgScheduleSchema> & { rotations: Array<z.infer<typeof OgRotationSchema>>; overrides: Array<z.infer<typeof OgOverrideSchema>> }>;
  escalations: Array<z.infer<typeof OgEscalationSchema>>;
}

const MAX_PAGES = 200;
const PAGE = 100;

async function list<T extends z.ZodType>(client: SourceClient, path: string, item: T): Promise<Array<z.output<T>>> {
  const out: Array<z.output<T>> = [];
  let next: string | undefined = `${path}${path.includes('?') ? '&' : '?'}limit=${PAGE}&offset=0`;
  for (let i = 0; next && i < MAX_PAGES; i++) {
    const answer: { data: Array<z.output<T>>; paging?: { next?: string } } = await client.get(next, envelope(z.array(item)));
    out.push(...answer.data);
    next = answer.paging?.next;
  }
  return out;
}

export async function fetchOpsgenie(client: SourceClient): Promise<OpsgenieSnapshot> {
  const users = await list(client, 'v2/users', OgUserSchema);
  const teams = await list(client, 'v2/teams', OgTeamSchema);
  const schedules = [];
  for (const s of await list(client, 'v2/schedules', OgScheduleSchema)) {
    const rotations = (await client.get(`v2/schedules/${encodeURIComponent(s.id)}/rotations`, envelope(z.array(OgRotationSchema)))).data;
    const overrides = (await client.get(`v2/schedules/${encodeURIComponent(s.id)}/overrides`, envelope(z.array(OgOverrideSchema)))).data;
    schedules.push({ ...s, rotations, overrides });
  }
  const escalations = await list(client, 'v2/escalations', OgEscalationSchema);
  return { users, teams, schedules, escalations };
}

export function opsgenieSourceUsers(snapshot: OpsgenieSnapshot): SourceUser[] {
  // An Opsgenie username is the person's email.
  return snapshot.users.map((u) => ({ id: u.id, email: u.username, username: u.username.split('@')[0] }));
}

const MINUTES = { minutes: 1, hours: 60, days: 1440 } as const;

export function mapOpsgenie(snapshot: OpsgenieSnapshot, users: { matched: MappedUser[]; unmatched: MappedUser[] }): ImportPlan {
  const plan = emptyPlan('Opsgenie');
  plan.users = users.matched;
  plan.unmatchedUsers = users.unmatched;
  const nameOf = new Map([...users.matched, ...users.unmatched].map((u) => [u.sourceId, u.name]));
  const byUsername = new Map(snapshot.users.map((u) => [u.username, u.id]));
  const person = (p: z.infer<typeof Participant>) => {
    const id = p.id ?? (p.username ? byUsername.get(p.username) : undefined);
    return id ? nameOf.get(id) : undefined;
  };
  const rotationNames = new Set<string>();
  const rotationOf = new Map<string, string>();
  for (const s of snapshot.schedules) {
    if (!s.enabled) {
      plan.unmapped.push({ what: 'schedule', name: s.name, why: 'disabled in Opsgenie' });
      continue;
    }
    const active = s.rotations.filter((r) => !r.endDate);
    if (active.length !== 1) {
      plan.unmapped.push({ what: 'schedule', name: s.name, why: active.length ? `has ${active.length} rotations on call together; one rotation per schedule maps` : 'has no open-ended rotation' });
      continue;
    }
    const r = active[0]!;
    if (r.timeRestriction) {
      plan.unmapped.push({ what: 'schedule', name: s.name, why: 'its rotation has a time restriction (some hours or days only); a rotation here covers all the time' });
      continue;
    }
    const members = r.participants.map((p) => (p.type === 'user' ? person(p) : undefined));
    if (members.some((m) => m === undefined) || new Set(members).size !== members.length) {
      plan.unmapped.push({ what: 'schedule', name: s.name, why: 'its rotation has teams, escalations or "none" as participants, or a person twice; only people map' });
      continue;
    }
    const start = DateTime.fromISO(r.startDate, { zone: s.timezone });
    const name = uniqueName(slug(s.name, s.id.toLowerCase()), rotationNames);
    const rotation: RotationInput = {
      members: members as string[],
      start: r.type === 'hourly' ? start.toISO({ suppressMilliseconds: true })! : start.toISODate()!,
      length: `${r.length}${r.type === 'weekly' ? 'w' : r.type === 'daily' ? 'd' : 'h'}`,
      handoff: start.toFormat('HH:mm'),
      timezone: s.timezone,
    };
    plan.rotations[name] = rotation;
    rotationOf.set(s.id, name);
    for (const o of s.overrides) {
      const who = person(o.user);
      if (!who) {
        plan.unmapped.push({ what: 'override', name: `${s.name} ${o.alias}`, why: 'its user is not an Opsgenie user we read' });
        continue;
      }
      plan.overrides.push({
        id: `opsgenie:${s.id}:${o.alias}`,
        override: { user: who, from: new Date(o.startDate).toISOString(), to: new Date(o.endDate).toISOString(), reason: `imported from Opsgenie (${o.alias})`, rotation: name },
      });
    }
  }

  const policyNames = new Set<string>();
  const policyOfTeam = new Map<string, string>();
  for (const e of snapshot.escalations) {
    const steps: StepInput[] = [];
    let last = 0;
    for (const [i, rule] of e.rules.entries()) {
      const minutes = rule.delay.timeAmount * MINUTES[rule.delay.timeUnit];
      const where = { what: 'escalation rule', name: `${e.name} #${i + 1}` };
      if (rule.condition === 'if-not-closed') plan.unmapped.push({ ...where, why: '"if not closed": escalation here stops at acknowledge; the rule is kept as "if not acked"' });
      let notify: string | undefined;
      if (rule.recipient.type === 'schedule' && rule.notifyType === 'default') {
        notify = rule.recipient.id ? rotationOf.get(rule.recipient.id) : undefined;
        notify = notify && `oncall:${notify}`;
        if (!notify) plan.unmapped.push({ ...where, why: 'its schedule did not map to a rotation' });
      } else if (rule.recipient.type === 'schedule') {
        plan.unmapped.push({ ...where, why: `notifies the ${rule.notifyType} on-call of a schedule; only the current on-call maps` });
      } else if (rule.recipient.type === 'user') {
        const who = person(rule.recipient);
        notify = who && `user:${who}`;
        if (!notify) plan.unmapped.push({ ...where, why: 'its user is unknown' });
      } else {
        plan.unmapped.push({ ...where, why: `a ${rule.recipient.type} recipient; page a user group (usergroup:<handle>) instead` });
      }
      if (notify) {
        steps.push({ after: `${minutes}m`, notify });
        last = Math.max(last, minutes);
      }
    }
    if (!steps.length) {
      plan.unmapped.push({ what: 'escalation', name: e.name, why: 'no rule pages anyone this product can page' });
      continue;
    }
    // Delays are from the alert's creation in Opsgenie, as `after` is here; keep them in order.
    steps.sort((a, b) => parseInt(a.after) - parseInt(b.after));
    const name = uniqueName(slug(e.name, e.id.toLowerCase()), policyNames);
    plan.policies[name] = {
      description: `Imported from Opsgenie: ${e.name}`,
      steps,
      ...(e.repeat && e.repeat.count > 0 && e.repeat.waitInterval > 0 ? { repeat: Math.min(e.repeat.count, 100), repeat_interval: `${last + e.repeat.waitInterval}m` } : {}),
    };
    if (e.ownerTeam) policyOfTeam.set(e.ownerTeam.id, name);
  }
  for (const team of snapshot.teams) {
    const policy = policyOfTeam.get(team.id);
    if (!policy) continue;
    plan.rules.push({ name: `opsgenie-team-${slug(team.name, team.id.toLowerCase())}`, match: { team: slug(team.name, team.id.toLowerCase()) }, policy });
  }
  if (snapshot.teams.length) {
    plan.unmapped.push({ what: 'team routing rules', name: snapshot.teams.map((t) => t.name).join(', '), why: 'a team maps to a rule on a `team` label sending to the team\'s escalation; its own routing rules and time conditions are not read' });
  }
  return plan;
}
