import { DateTime } from 'luxon';
import { z } from 'zod';
import { emptyPlan, secondsToDuration, slug, uniqueName, type ImportPlan, type MappedUser, type SourceUser, type StepInput } from './import-plan';
import type { SourceClient } from './source-client';

/**
 * PagerDuty REST API v2: users, schedules (with layers and overrides),
 * escalation policies, services. `Authorization: Token token=<key>`;
 * classic offset pagination `{limit, offset, more, total}`.
 */

const Ref = z.looseObject({ id: z.string(), type: z.string(), summary: z.string().optional() });
export const PdUserSchema = z.looseObject({ id: z.string(), name: z.string(), email: z.string() });
export const PdLayerSchema = z.looseObject({
  id: z.string(),
  name: z.string().optional(),
  start: z.string(),
  end: z.string().nullable().optional(),
  rotation_virtual_start: z.string(),
  rotation_turn_length_seconds: z.number().int().positive(),
  users: z.array(z.looseObject({ user: Ref })),
  restrictions: z.array(z.unknown()).default([]),
});
export const PdScheduleSchema = z.looseObject({ id: z.string(), name: z.string(), time_zone: z.string(), schedule_layers: z.array(PdLayerSchema).default([]) });
export const PdOverrideSchema = z.looseObject({ id: z.string(), start: z.string(), end: z.string(), user: Ref });
export const PdPolicySchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  num_loops: z.number().int().min(0).default(0),
  escalation_rules: z.array(z.looseObject({ id: z.string().optional(), escalation_delay_in_minutes: z.number().int().min(0), targets: z.array(Ref) })),
});
export const PdServiceSchema = z.looseObject({ id: z.string(), name: z.string(), status: z.string().optional(), escalation_policy: Ref });

export interface PagerDutySnapshot {
  users: Array<z.infer<typeof PdUserSchema>>;
  schedules: Array<z.infer<typeof PdScheduleSchema> & { overrides: Array<z.infer<typeof PdOverrideSchema>> }>;
  policies: Array<z.infer<typeof PdPolicySchema>>;
  services: Array<z.infer<typeof PdServiceSchema>>;
}

const MAX_PAGES = 200;
const LIMIT = 100;

async function list<T extends z.ZodType>(client: SourceClient, path: string, key: string, item: T): Promise<Array<z.output<T>>> {
  const schema = z.looseObject({ [key]: z.array(item), limit: z.number().optional(), offset: z.number().optional(), more: z.boolean().default(false), total: z.number().nullable().optional() });
  const out: Array<z.output<T>> = [];
  let offset = 0;
  for (let i = 0; i < MAX_PAGES; i++) {
    const answer = (await client.get(path, schema, { limit: LIMIT, offset })) as Record<string, unknown> & { more: boolean };
    const items = answer[key] as Array<z.output<T>>;
    out.push(...items);
    if (!answer.more || items.length === 0) break;
    offset += items.length;
  }
  return out;
}

/** `since`/`until` bound the overrides read: the ones still to come. */
export async function fetchPagerDuty(client: SourceClient, now: Date): Promise<PagerDutySnapshot> {
  const users = await list(client, 'users', 'users', PdUserSchema);
  const schedules = [];
  for (const s of await list(client, 'schedules', 'schedules', z.looseObject({ id: z.string() }))) {
    const full = (await client.get(`schedules/${encodeURIComponent(s.id)}`, z.looseObject({ schedule: PdScheduleSchema }))).schedule;
    const until = new Date(now.getTime() + 366 * 86_400_000);
    const overrides = (await client.get(`schedules/${encodeURIComponent(s.id)}/overrides`, z.looseObject({ overrides: z.array(PdOverrideSchema) }), { since: now.toISOString(), until: until.toISOString() })).overrides;
    schedules.push({ ...full, overrides });
  }
  const policies = await list(client, 'escalation_policies', 'escalation_policies', PdPolicySchema);
  const services = await list(client, 'services', 'services', PdServiceSchema);
  return { users, schedules, policies, services };
}

export function pagerDutySourceUsers(snapshot: PagerDutySnapshot): SourceUser[] {
  return snapshot.users.map((u) => ({ id: u.id, email: u.email, username: u.email.split('@')[0] }));
}

const DAY_S = 86_400;

export function mapPagerDuty(snapshot: PagerDutySnapshot, users: { matched: MappedUser[]; unmatched: MappedUser[] }): ImportPlan {
  const plan = emptyPlan('PagerDuty');
  plan.users = users.matched;
  plan.unmatchedUsers = users.unmatched;
  const nameOf = new Map([...users.matched, ...users.unmatched].map((u) => [u.sourceId, u.name]));
  const rotationNames = new Set<string>();
  const rotationOf = new Map<string, string>();
  for (const s of snapshot.schedules) {
    const layers = s.schedule_layers.filter((l) => !l.end);
    const l = layers[0];
    const why =
      layers.length !== 1
        ? `has ${layers.length} layers; one layer per schedule maps (the highest layer wins in PagerDuty)`
        : l!.restrictions.length
          ? 'its layer is restricted to some hours or days; a rotation here covers all the time'
          : l!.rotation_turn_length_seconds % DAY_S !== 0 && l!.rotation_turn_length_seconds % 3600 !== 0
            ? 'its turns are not whole hours'
            : l!.users.some((u) => !nameOf.has(u.user.id))
              ? 'a layer member is not a user we read'
              : undefined;
    if (why) {
      plan.unmapped.push({ what: 'schedule', name: s.name, why });
      continue;
    }
    const layer = l!;
    const anchor = DateTime.fromISO(layer.rotation_virtual_start, { zone: s.time_zone });
    const turn = layer.rotation_turn_length_seconds;
    const name = uniqueName(slug(s.name, s.id.toLowerCase()), rotationNames);
    const whole = turn % DAY_S === 0;
    plan.rotations[name] = {
      members: layer.users.map((u) => nameOf.get(u.user.id)!),
      start: whole ? anchor.toISODate()! : anchor.toISO({ suppressMilliseconds: true })!,
      length: whole && turn % (7 * DAY_S) === 0 ? `${turn / (7 * DAY_S)}w` : whole ? `${turn / DAY_S}d` : `${turn / 3600}h`,
      handoff: anchor.toFormat('HH:mm'),
      timezone: s.time_zone,
    };
    rotationOf.set(s.id, name);
    for (const o of s.overrides) {
      const who = nameOf.get(o.user.id);
      if (!who) {
        plan.unmapped.push({ what: 'override', name: `${s.name} ${o.id}`, why: 'its user is not a user we read' });
        continue;
      }
      plan.overrides.push({ id: `pagerduty:${o.id}`, override: { user: who, from: new Date(o.start).toISOString(), to: new Date(o.end).toISOString(), reason: `imported from PagerDuty (${o.id})`, rotation: name } });
    }
  }

  const policyNames = new Set<string>();
  const policyOf = new Map<string, string>();
  for (const p of snapshot.policies) {
    const steps: StepInput[] = [];
    let t = 0;
    for (const [i, rule] of p.escalation_rules.entries()) {
      for (const target of rule.targets) {
        const rotation = target.type === 'schedule_reference' ? rotationOf.get(target.id) : undefined;
        const user = target.type === 'user_reference' ? nameOf.get(target.id) : undefined;
        if (rotation) steps.push({ after: secondsToDuration(t * 60), notify: `oncall:${rotation}` });
        else if (user) steps.push({ after: secondsToDuration(t * 60), notify: `user:${user}` });
        else plan.unmapped.push({ what: 'escalation rule target', name: `${p.name} #${i + 1} ${target.summary ?? target.id}`, why: target.type === 'schedule_reference' ? 'its schedule did not map to a rotation' : `a ${target.type}; only schedules and users map` });
      }
      // PagerDuty's delay is the wait after this rule before the next one.
      t += rule.escalation_delay_in_minutes;
    }
    if (!steps.length) {
      plan.unmapped.push({ what: 'escalation policy', name: p.name, why: 'no rule pages anyone this product can page' });
      continue;
    }
    const name = uniqueName(slug(p.name, p.id.toLowerCase()), policyNames);
    plan.policies[name] = {
      description: `Imported from PagerDuty: ${p.name}`,
      steps,
      ...(p.num_loops > 0 && t > 0 ? { repeat: Math.min(p.num_loops, 100), repeat_interval: secondsToDuration(t * 60) } : {}),
    };
    policyOf.set(p.id, name);
  }
  const ruleNames = new Set<string>();
  for (const svc of snapshot.services) {
    const policy = policyOf.get(svc.escalation_policy.id);
    if (!policy) {
      plan.unmapped.push({ what: 'service', name: svc.name, why: 'its escalation policy did not map' });
      continue;
    }
    const label = slug(svc.name, svc.id.toLowerCase());
    plan.rules.push({ name: uniqueName(`pagerduty-service-${label}`, ruleNames), match: { service: label }, policy });
  }
  if (snapshot.services.length) {
    plan.unmapped.push({ what: 'service integrations', name: snapshot.services.map((s) => s.name).join(', '), why: 'a service maps to a rule on a `service` label; its integrations and event rules are not read: point Alertmanager at this bot' });
  }
  return plan;
}
