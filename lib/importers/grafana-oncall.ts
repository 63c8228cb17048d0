import { DateTime } from 'luxon';
import { z } from 'zod';
import { emptyPlan, secondsToDuration, slug, uniqueName, type ImportPlan, type MappedUser, type PolicyInput, type RotationInput, type SourceUser, type StepInput } from './import-plan';
import type { SourceClient } from './source-client';

/**
 * Grafana OnCall (OSS or Cloud), public HTTP API v1: users, schedules and
 * their on-call shifts (rotations and overrides), escalation chains and
 * policies, integrations and routes. Auth is the bare token in
 * `Authorization`; lists are paginated `{count, next, previous, results}`.
 */

const page = <T extends z.ZodType>(item: T) =>
  z.looseObject({ count: z.number().int().optional(), next: z.string().nullable(), previous: z.string().nullable().optional(), results: z.array(item) });

export const GrafanaUserSchema = z.looseObject({ id: z.string(), email: z.string(), username: z.string().optional() });
export const GrafanaScheduleSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  type: z.enum(['ical', 'calendar', 'web']),
  time_zone: z.string().nullable().optional(),
  shifts: z.array(z.string()).default([]),
  ical_url_primary: z.string().nullable().optional(),
  ical_url_overrides: z.string().nullable().optional(),
});
export const GrafanaShiftSchema = z.looseObject({
  id: z.string(),
  name: z.string().optional(),
  type: z.enum(['single_event', 'recurrent_event', 'rolling_users', 'override']),
  time_zone: z.string().nullable().optional(),
  level: z.number().int().optional(),
  /** Naive local date-time in `time_zone` (UTC when null). */
  start: z.string(),
  duration: z.number().int().positive(),
  frequency: z.enum(['hourly', 'daily', 'weekly', 'monthly']).nullable().optional(),
  interval: z.number().int().positive().nullable().optional(),
  by_day: z.array(z.string()).nullable().optional(),
  until: z.string().nullable().optional(),
  rolling_users: z.array(z.array(z.string())).nullable().optional(),
  start_rotation_from_user_index: z.number().int().min(0).nullable().optional(),
  users: z.array(z.string()).nullable().optional(),
});
export const GrafanaChainSchema = z.looseObject({ id: z.string(), name: z.string() });
export const GrafanaPolicySchema = z.looseObject({
  id: z.string(),
  escalation_chain_id: z.string(),
  position: z.number().int(),
  type: z.string().nullable(),
  duration: z.number().int().nullable().optional(),
  important: z.boolean().optional(),
  persons_to_notify: z.array(z.string()).nullable().optional(),
  persons_to_notify_next_each_time: z.array(z.string()).nullable().optional(),
  notify_on_call_from_schedule: z.string().nullable().optional(),
  group_to_notify: z.string().nullable().optional(),
});
export const GrafanaIntegrationSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  type: z.string(),
  default_route: z.looseObject({ id: z.string().optional(), escalation_chain_id: z.string().nullable() }).nullable().optional(),
});
export const GrafanaRouteSchema = z.looseObject({
  id: z.string(),
  integration_id: z.string(),
  escalation_chain_id: z.string().nullable(),
  routing_type: z.enum(['regex', 'jinja2']).optional(),
  routing_regex: z.string().nullable().optional(),
  position: z.number().int().optional(),
  is_the_last_route: z.boolean().optional(),
});

export interface GrafanaSnapshot {
  users: Array<z.infer<typeof GrafanaUserSchema>>;
  schedules: Array<z.infer<typeof GrafanaScheduleSchema>>;
  shifts: Array<z.infer<typeof GrafanaShiftSchema>>;
  chains: Array<z.infer<typeof GrafanaChainSchema>>;
  policies: Array<z.infer<typeof GrafanaPolicySchema>>;
  integrations: Array<z.infer<typeof GrafanaIntegrationSchema>>;
  routes: Array<z.infer<typeof GrafanaRouteSchema>>;
}

/** Pages are followed through `next`; bounded so a looping source cannot keep us reading. */
const MAX_PAGES = 200;

async function all<T extends z.ZodType>(client: SourceClient, path: string, item: T): Promise<Array<z.output<T>>> {
  const out: Array<z.output<T>> = [];
  let next: string | null = path;
  for (let i = 0; next && i < MAX_PAGES; i++) {
    const answer: { next: string | null; results: Array<z.output<T>> } = await client.get(next, page(item));
    out.push(...answer.results);
    next = answer.next;
  }
  return out;
}

/** Reads everything the import needs (GET only). */
export async function fetchGrafanaOnCall(client: SourceClient): Promise<GrafanaSnapshot> {
  return {
    users: await all(client, 'api/v1/users/', GrafanaUserSchema),
    schedules: await all(client, 'api/v1/schedules/', GrafanaScheduleSchema),
    shifts: await all(client, 'api/v1/on_call_shifts/', GrafanaShiftSchema),
    chains: await all(client, 'api/v1/escalation_chains/', GrafanaChainSchema),
    policies: await all(client, 'api/v1/escalation_policies/', GrafanaPolicySchema),
    integrations: await all(client, 'api/v1/integrations/', GrafanaIntegrationSchema),
    routes: await all(client, 'api/v1/routes/', GrafanaRouteSchema),
  };
}

export function grafanaSourceUsers(snapshot: GrafanaSnapshot): SourceUser[] {
  return snapshot.users.map((u) => ({ id: u.id, email: u.email, ...(u.username ? { username: u.username } : {}) }));
}

const WEEK_S = 604_800;
const DAY_S = 86_400;

/**
 * Grafana OnCall → plan, pure. `users` are the source users matched (or not)
 * to Slack; both lists together cover every source user.
 */
export function mapGrafanaOnCall(snapshot: GrafanaSnapshot, users: { matched: MappedUser[]; unmatched: MappedUser[] }): ImportPlan {
  const plan = emptyPlan('Grafana OnCall');
  plan.users = users.matched;
  plan.unmatchedUsers = users.unmatched;
  const nameOf = new Map([...users.matched, ...users.unmatched].map((u) => [u.sourceId, u.name]));
  const shifts = new Map(snapshot.shifts.map((s) => [s.id, s]));
  const rotationNames = new Set<string>();
  const rotationOf = new Map<string, string>();

  for (const schedule of snapshot.schedules) {
    const name = uniqueName(slug(schedule.name, schedule.id.toLowerCase()), rotationNames);
    if (schedule.type === 'ical') {
      plan.unmapped.push({ what: 'schedule', name: schedule.name, why: 'an iCal-only schedule: its events live in an external calendar; publish a rotation and use the calendar for overrides' });
      continue;
    }
    const own = schedule.shifts.flatMap((id) => (shifts.has(id) ? [shifts.get(id)!] : []));
    const rotating = own.filter((s) => s.type !== 'override');
    const mapped: { why: string } | { rotation: RotationInput } = rotating.length === 1 ? mapRollingShift(rotating[0]!, schedule.time_zone ?? 'UTC', nameOf) : { why: rotating.length === 0 ? 'has no rotation' : `has ${rotating.length} layers/rotations; one rotation per schedule maps (split it into several schedules)` };
    if ('why' in mapped) {
      plan.unmapped.push({ what: 'schedule', name: schedule.name, why: mapped.why });
      continue;
    }
    plan.rotations[name] = mapped.rotation;
    rotationOf.set(schedule.id, name);
    // An overrides calendar keeps working: the bot reads it as this rotation's override source.
    if (schedule.ical_url_overrides && /^https?:\/\//.test(schedule.ical_url_overrides)) plan.calendars[name] = { url: schedule.ical_url_overrides };
    for (const o of own.filter((s) => s.type === 'override')) {
      const who = o.users?.[0];
      const zone = o.time_zone ?? schedule.time_zone ?? 'UTC';
      const from = DateTime.fromISO(o.start, { zone });
      if (!who || o.users!.length > 1 || !from.isValid) {
        plan.unmapped.push({ what: 'override', name: o.name ?? o.id, why: 'an override needs exactly one user' });
        continue;
      }
      plan.overrides.push({
        id: `grafana-oncall:${o.id}`,
        override: { user: nameOf.get(who) ?? who, from: from.toUTC().toISO()!, to: from.plus({ seconds: o.duration }).toUTC().toISO()!, reason: `imported from Grafana OnCall (${o.name ?? o.id})`, rotation: name },
      });
    }
  }

  const policyNames = new Set<string>();
  const policyOf = new Map<string, string>();
  for (const chain of snapshot.chains) {
    const name = uniqueName(slug(chain.name, chain.id.toLowerCase()), policyNames);
    const steps = snapshot.policies.filter((p) => p.escalation_chain_id === chain.id).sort((a, b) => a.position - b.position);
    const policy = mapChain(chain.name, steps, rotationOf, nameOf, plan);
    if (policy) {
      plan.policies[name] = policy;
      policyOf.set(chain.id, name);
    }
  }

  const ruleNames = new Set<string>();
  for (const integration of snapshot.integrations) {
    if (!['alertmanager', 'grafana_alerting', 'legacy_alertmanager'].includes(integration.type)) {
      plan.unmapped.push({ what: 'integration', name: integration.name, why: `type "${integration.type}": only Alertmanager-shaped alerts reach this product (point the sender at Alertmanager)` });
      continue;
    }
    const routes = snapshot.routes.filter((r) => r.integration_id === integration.id).sort((a, b) => (a.position ?? 0) - (b.position ?? 0));
    for (const route of routes) {
      const policy = route.escalation_chain_id ? policyOf.get(route.escalation_chain_id) : undefined;
      if (route.is_the_last_route) {
        if (policy) plan.defaultPolicy ??= policy;
        continue;
      }
      const match = route.routing_type === 'jinja2' ? undefined : labelMatch(route.routing_regex ?? '');
      if (!match || !policy) {
        plan.unmapped.push({ what: 'route', name: `${integration.name}: ${route.routing_regex ?? route.id}`, why: !policy ? 'its escalation chain did not map' : 'only regexes of the form "label": "value" map to a label match; write a routing rule by hand' });
        continue;
      }
      plan.rules.push({ name: uniqueName(slug(`${integration.name}-${match[0]}-${match[1]}`, route.id.toLowerCase()), ruleNames), match_re: { [match[0]]: match[1] }, policy });
    }
    const fallback = integration.default_route?.escalation_chain_id;
    if (fallback && policyOf.has(fallback)) plan.defaultPolicy ??= policyOf.get(fallback);
  }
  return plan;
}

/** `"severity": "critical"` or `severity=critical` → [severity, critical]; anything richer is not a label match. */
function labelMatch(regex: string): [string, string] | undefined {
  const m = /^\\?"?([A-Za-z_][A-Za-z0-9_]*)\\?"?\s*[:=]\s*\\?"?([A-Za-z0-9_.|-]+)\\?"?$/.exec(regex.trim());
  return m ? [m[1]!, m[2]!] : undefined;
}

function mapRollingShift(shift: z.infer<typeof GrafanaShiftSchema>, scheduleZone: string, nameOf: Map<string, string>): { why: string } | { rotation: RotationInput } {
  const zone = shift.time_zone ?? scheduleZone;
  if (shift.type !== 'rolling_users') return { why: `its rotation is a ${shift.type}; only rolling users rotations map` };
  const period = shift.frequency === 'weekly' ? WEEK_S : shift.frequency === 'daily' ? DAY_S : undefined;
  if (!period) return { why: `its rotation repeats ${shift.frequency ?? 'never'}; daily and weekly map` };
  if (shift.by_day && shift.by_day.length > 0 && !(shift.frequency === 'daily' && shift.by_day.length === 7)) return { why: 'its rotation covers some weekdays only; a rotation here covers every day' };
  if (shift.until) return { why: 'its rotation ends (until); a rotation here runs on' };
  const interval = shift.interval ?? 1;
  if (shift.duration !== period * interval) return { why: `its shifts last ${secondsToDuration(shift.duration)} every ${secondsToDuration(period * interval)}; a rotation here hands over without gaps` };
  const groups = shift.rolling_users ?? [];
  if (groups.length === 0 || groups.some((g) => g.length !== 1)) return { why: 'several people on shift at once; a rotation here has one primary at a time' };
  const start = DateTime.fromISO(shift.start, { zone });
  if (!start.isValid) return { why: `start "${shift.start}" is not a date-time` };
  const ids = groups.map((g) => g[0]!);
  const first = (shift.start_rotation_from_user_index ?? 0) % ids.length;
  const order = [...ids.slice(first), ...ids.slice(0, first)];
  const members = order.map((id) => nameOf.get(id) ?? id);
  if (new Set(members).size !== members.length) return { why: 'the same person appears twice in the rotation' };
  return {
    rotation: {
      members,
      start: start.toISODate()!,
      length: shift.frequency === 'weekly' ? `${interval}w` : `${interval}d`,
      handoff: start.toFormat('HH:mm'),
      timezone: zone,
    },
  };
}

function mapChain(
  chainName: string,
  steps: Array<z.infer<typeof GrafanaPolicySchema>>,
  rotationOf: Map<string, string>,
  nameOf: Map<string, string>,
  plan: ImportPlan,
): PolicyInput | undefined {
  const out: StepInput[] = [];
  let t = 0;
  let repeat: number | undefined;
  const skip = (why: string, step: { type: string | null; position: number }) =>
    plan.unmapped.push({ what: 'escalation step', name: `${chainName} #${step.position + 1} (${step.type})`, why });
  for (const step of steps) {
    if (step.important) skip('an "important" notification (phone call / SMS by personal rules): this product does not place calls; the step is kept as a Slack page', step);
    switch (step.type) {
      case 'wait':
        t += step.duration ?? 0;
        break;
      case 'notify_persons':
        for (const id of step.persons_to_notify ?? []) out.push({ after: secondsToDuration(t), notify: `user:${nameOf.get(id) ?? id}` });
        break;
      case 'notify_on_call_from_schedule': {
        const rotation = step.notify_on_call_from_schedule ? rotationOf.get(step.notify_on_call_from_schedule) : undefined;
        if (rotation) out.push({ after: secondsToDuration(t), notify: `oncall:${rotation}` });
        else skip('its schedule did not map to a rotation', step);
        break;
      }
      case 'notify_whole_channel':
        out.push({ after: secondsToDuration(t), notify: 'channel' });
        break;
      case 'repeat_escalation':
        // Grafana repeats the chain from the top, at most 5 times.
        repeat = 5;
        break;
      case 'notify_user_group':
        skip('a Slack user group by Grafana id: add `usergroup:<handle>` to the policy by hand', step);
        break;
      default:
        skip(step.type === 'trigger_webhook' || step.type === 'trigger_action' ? 'outgoing webhooks are runbook actions here' : 'no equivalent step', step);
    }
    if (repeat !== undefined) break;
  }
  if (out.length === 0) {
    plan.unmapped.push({ what: 'escalation chain', name: chainName, why: 'no step notifies anyone this product can page' });
    return undefined;
  }
  const policy: PolicyInput = { description: `Imported from Grafana OnCall: ${chainName}`, steps: out };
  if (repeat !== undefined) {
    const last = Math.max(...out.map((s) => durationSeconds(s.after)));
    if (t > last) {
      policy.repeat = repeat;
      policy.repeat_interval = secondsToDuration(t);
    } else {
      skip('repeats with no wait after its last page; a repeat here needs time between rounds (add a wait before "repeat")', { type: 'repeat_escalation', position: steps.length - 1 });
    }
  }
  return policy;
}

function durationSeconds(text: string): number {
  let total = 0;
  for (const m of text.matchAll(/(\d+)([dhms])/g)) total += Number(m[1]) * { d: 86_400, h: 3600, m: 60, s: 1 }[m[2] as 'd' | 'h' | 'm' | 's'];
  return total;
}
