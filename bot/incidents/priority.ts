import { parseDuration } from '../../lib/duration';
import { ValidationError } from '../../lib/errors';
import { NEXT_BUSINESS_DAY, PRIORITIES, type OpsConfig, type Priority } from '../../lib/ops-config';
import { nextBusinessDayDeadline } from '../oncall/business-hours';

/** Which rule set the priority; the incident thread shows it. */
export type PriorityRule = 'label:priority' | `severity:${string}` | 'runbook' | 'default';

export interface PriorityDecision {
  priority: Priority;
  rule: PriorityRule;
}

/** "P2", "p2" and "2" all mean P2; anything else is not a priority. */
export function normalizePriority(value: string | undefined): Priority | undefined {
  const match = /^\s*[pP]?([1-4])\s*$/.exec(value ?? '');
  return match ? (`P${match[1]}` as Priority) : undefined;
}

/**
 * Priority for an alert group, in the order the design gives: an explicit
 * `priority` label, else the `severity` label through `priority.severity_map`,
 * else the runbook's default, else `priority.default`. A label that does not
 * parse is skipped rather than trusted, so a typo cannot silence a page.
 */
export function decidePriority(
  labels: Readonly<Record<string, string>>,
  runbookDefault: Priority | undefined,
  config: OpsConfig,
): PriorityDecision {
  const fromLabel = normalizePriority(labels.priority);
  if (fromLabel) return { priority: fromLabel, rule: 'label:priority' };

  const severity = labels.severity?.trim();
  if (severity) {
    const map = config.priority.severity_map;
    const mapped = map[severity] ?? map[severity.toLowerCase()];
    if (mapped) return { priority: mapped, rule: `severity:${severity.toLowerCase()}` };
  }
  if (runbookDefault) return { priority: runbookDefault, rule: 'runbook' };
  return { priority: config.priority.default, rule: 'default' };
}

/** Checks an ESCALATION_TIME_SCALE value: a finite number > 0. */
export function assertTimeScale(timeScale: number): void {
  if (!Number.isFinite(timeScale) || timeScale <= 0) {
    throw new ValidationError(`time scale must be a number > 0, got ${timeScale}`);
  }
}

/**
 * When the first response is due (the SLA clock): openedAt plus the priority's
 * response time, or the end of the next business day for `next_business_day`.
 * `timeScale` (ESCALATION_TIME_SCALE) multiplies the interval.
 */
export function responseDeadline(priority: Priority, openedAt: Date, config: OpsConfig, timeScale = 1): Date {
  assertTimeScale(timeScale);
  const spec = config.priority.response_times[priority];
  const intervalMs =
    spec === NEXT_BUSINESS_DAY ? nextBusinessDayDeadline(openedAt, config).getTime() - openedAt.getTime() : parseDuration(spec);
  return new Date(openedAt.getTime() + Math.round(intervalMs * timeScale));
}

/** Higher urgency first: P1 < P2 < P3 < P4 when sorting. */
export function comparePriority(a: Priority, b: Priority): number {
  return PRIORITIES.indexOf(a) - PRIORITIES.indexOf(b);
}
