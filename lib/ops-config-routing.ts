import type { OpsConfig, Priority, RoutingRule } from './ops-config-schema';

export interface IncidentRoute {
  /** Channel name, without '#'. */
  channel: string;
  /** Escalation policy name (a key of escalation.policies). */
  policy: string;
  /** The rule that matched ("security", or "rules[2]" for an unnamed one); undefined when the defaults decided. */
  rule?: string;
}

/**
 * Where an incident goes and which policy escalates it. The first routing rule
 * that matches wins; what it leaves unset comes from the priority defaults.
 * A label that is absent matches as the empty string, as in Alertmanager.
 */
export function routeIncident(labels: Readonly<Record<string, string>>, priority: Priority, config: OpsConfig): IncidentRoute {
  const route: IncidentRoute = {
    channel: config.channels[priority],
    policy: config.escalation.by_priority[priority],
  };
  const index = config.routing.rules.findIndex((rule) => ruleMatches(rule, labels, priority));
  const rule = config.routing.rules[index];
  if (!rule) return route;
  return {
    channel: rule.channel ?? route.channel,
    policy: rule.policy ?? route.policy,
    rule: rule.name ?? `rules[${index}]`,
  };
}

export function ruleMatches(rule: RoutingRule, labels: Readonly<Record<string, string>>, priority: Priority): boolean {
  if (rule.priorities && !rule.priorities.includes(priority)) return false;
  for (const [name, value] of Object.entries(rule.match ?? {})) {
    if ((labels[name] ?? '') !== value) return false;
  }
  for (const [name, pattern] of Object.entries(rule.match_re ?? {})) {
    // Anchored like Alertmanager's matchers: "warn" must not match "warning".
    if (!new RegExp(`^(?:${pattern})$`).test(labels[name] ?? '')) return false;
  }
  return true;
}
