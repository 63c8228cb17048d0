import { parseDuration } from '../../lib/duration';
import { ValidationError } from '../../lib/errors';
import { NEXT_BUSINESS_DAY, type OpsConfig, type Priority } from '../../lib/ops-config';
import { nextBusinessDayStart } from '../oncall/business-hours';
import { assertTimeScale } from '../incidents/priority';

/**
 * Escalation as a pure plan: which step notifies whom, when. The engine turns
 * each planned step into a BullMQ delayed job (job id from `id`, so planning
 * twice never schedules twice) and cancels the rest on acknowledge.
 */

export type NotifyTarget =
  | { kind: 'oncall_primary' }
  | { kind: 'oncall_secondary' }
  | { kind: 'oncall'; rotation: string }
  | { kind: 'channel' }
  | { kind: 'usergroup'; handle: string }
  | { kind: 'user'; name: string };

export function parseNotifyTarget(text: string): NotifyTarget {
  if (text === 'oncall_primary' || text === 'oncall_secondary' || text === 'channel') return { kind: text };
  const match = /^(oncall|usergroup|user):([A-Za-z0-9._-]+)$/.exec(text);
  if (match?.[1] === 'oncall') return { kind: 'oncall', rotation: match[2]! };
  if (match?.[1] === 'usergroup') return { kind: 'usergroup', handle: match[2]! };
  if (match?.[1] === 'user') return { kind: 'user', name: match[2]! };
  throw new ValidationError(`unknown notify target "${text}"`);
}

export function formatNotifyTarget(target: NotifyTarget): string {
  if (target.kind === 'oncall') return `oncall:${target.rotation}`;
  if (target.kind === 'usergroup') return `usergroup:${target.handle}`;
  if (target.kind === 'user') return `user:${target.name}`;
  return target.kind;
}

export interface PlannedStep {
  /** Stable within one plan: "r1-s2" is round 1, step 2. Use it in the job id. */
  id: string;
  policy: string;
  stepIndex: number;
  /** 0 for the first pass through the chain, 1.. for the repeats. */
  repeatRound: number;
  dueAt: Date;
  /** Milliseconds from `now` to `dueAt`, never negative: the BullMQ `delay`. */
  delayMs: number;
  /** Already due at `now` (a plan made late, e.g. after downtime): fire at once or skip, the engine decides. */
  pastDue: boolean;
  notify: NotifyTarget;
}

export interface EscalationIncident {
  priority: Priority;
  /** The escalation anchor: when the incident opened (or when it was reclassified, to restart the chain). */
  openedAt: Date;
  /** A policy chosen by routing; the priority's default policy when absent. */
  policy?: string;
}

export interface PlanOptions {
  /** ESCALATION_TIME_SCALE: multiplies every delay. @defaultValue 1 */
  timeScale?: number;
  /** The time the plan is made, for `delayMs` and `pastDue`. @defaultValue incident.openedAt */
  now?: Date;
}

/**
 * Every step of the incident's policy, each round, in firing order. Round r
 * starts r × repeat_interval after openedAt; a step is due `after` past its
 * round's start (`next_business_day`: the next start of business hours after
 * it). The interval from openedAt to each due time is multiplied by timeScale.
 */
export function planEscalation(incident: EscalationIncident, config: OpsConfig, options: PlanOptions = {}): PlannedStep[] {
  const timeScale = options.timeScale ?? 1;
  assertTimeScale(timeScale);
  const policyName = incident.policy ?? config.escalation.by_priority[incident.priority];
  const policy = config.escalation.policies[policyName];
  if (!policy) throw new ValidationError(`no escalation policy named "${policyName}"`);

  const opened = incident.openedAt.getTime();
  const now = (options.now ?? incident.openedAt).getTime();
  const intervalMs = policy.repeat_interval === undefined ? 0 : parseDuration(policy.repeat_interval);
  const steps: PlannedStep[] = [];
  for (let round = 0; round <= policy.repeat; round++) {
    const roundStart = opened + round * intervalMs;
    policy.steps.forEach((step, stepIndex) => {
      const unscaledDue =
        step.after === NEXT_BUSINESS_DAY
          ? nextBusinessDayStart(new Date(roundStart), config).getTime()
          : roundStart + parseDuration(step.after);
      const dueMs = opened + Math.round((unscaledDue - opened) * timeScale);
      steps.push({
        id: `r${round}-s${stepIndex}`,
        policy: policyName,
        stepIndex,
        repeatRound: round,
        dueAt: new Date(dueMs),
        delayMs: Math.max(0, dueMs - now),
        pastDue: dueMs < now,
        notify: parseNotifyTarget(step.notify),
      });
    });
  }
  // Stable sort: equal due times keep round, then step order.
  return steps.sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime());
}
