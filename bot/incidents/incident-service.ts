import { CodedError, ErrorCode } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import type { OpsConfig } from '../../lib/ops-config';
import { parseDuration } from '../../lib/duration';
import { code, escapeMrkdwn } from '../../lib/slack-text';
import { routeIncident } from '../../lib/ops-config-routing';
import type { SilenceClient } from '../../lib/alertmanager-silences';
import { incidentMatchers } from './incident-matchers';
import type { IncidentNotifier } from './incident-notifier';
import { SNOOZE_OPTIONS } from './incident-message';
import type { Incident, IncidentState, IncidentStore, Priority } from './incident-store';
import type { BotMetrics } from '../metrics';

/** What escalation needs to hear about; the engine implements it. */
export interface EscalationHooks {
  opened(incidentId: string): Promise<void>;
  acknowledged(incidentId: string): Promise<void>;
  unacknowledged(incidentId: string): Promise<void>;
  resolved(incidentId: string): Promise<void>;
  snoozed(incidentId: string, until: Date): Promise<void>;
  unsnoozed(incidentId: string): Promise<void>;
  reclassified(incidentId: string): Promise<void>;
}

/** Who acted: the Slack id for the record, the name for the thread (no ping to the person who just acted). */
export interface Actor {
  id: string;
  name: string;
}

export interface IncidentServiceOptions {
  store: IncidentStore;
  notifier: IncidentNotifier;
  config: OpsConfig;
  metrics: BotMetrics;
  logger: Logger;
  silences?: SilenceClient;
  escalation?: EscalationHooks;
  /** Allowed snooze lengths. @defaultValue ['30m', '1h', '4h'] */
  snoozeChoices?: string[];
}

export const SNOOZE_CHOICES: string[] = SNOOZE_OPTIONS.map(([length]) => length);

const OPEN: IncidentState[] = ['triggered', 'acknowledged', 'snoozed'];

export class IncidentActionError extends CodedError {
  constructor(code: ErrorCode, message: string) {
    super(code, message);
    this.name = 'IncidentActionError';
  }
}

/**
 * What people do to incidents: acknowledge, unacknowledge, resolve, snooze,
 * reclassify. Each change is checked against the current state atomically,
 * lands on the timeline, edits the root message and adds one reply.
 */
export function createIncidentService(options: IncidentServiceOptions) {
  const { store, notifier, metrics, logger } = options;
  const choices = options.snoozeChoices ?? SNOOZE_CHOICES;

  async function load(id: string): Promise<Incident> {
    const incident = await store.get(id);
    if (!incident) throw new IncidentActionError(ErrorCode.NotFound, `${id} does not exist`);
    return incident;
  }

  function refused(id: string, verb: string, state?: string): never {
    throw new IncidentActionError(ErrorCode.Conflict, `${id} is ${state ?? 'gone'}: cannot ${verb} it`);
  }

  async function hook(name: keyof EscalationHooks, id: string, ...args: [Date?]): Promise<void> {
    if (!options.escalation) return;
    try {
      await (options.escalation[name] as (id: string, until?: Date) => Promise<void>)(id, ...args);
    } catch (err) {
      // Escalation trouble must not undo what the person did; it is logged and counted (escalation_hook_failures_total).
      metrics.escalationHookFailures.inc({ hook: name });
      logger.error({ err, incidentId: id, hook: name }, 'escalation hook failed');
    }
  }

  async function acknowledge(id: string, actor: Actor): Promise<Incident> {
    const before = await load(id);
    const r = await store.transition(id, {
      from: ['triggered', 'snoozed'],
      to: 'acknowledged',
      fields: { owner: actor.id, acknowledgedAt: new Date().toISOString() },
      event: { type: 'acknowledged', by: actor.id },
    });
    if (!r.ok) refused(id, 'acknowledge', r.state);
    if (!before.acknowledgedAt) metrics.observeAcknowledged(before);
    if (r.previous === 'snoozed') await expireSilence(before);
    await hook('acknowledged', id);
    void notifier.sync(id, `👀 Acknowledged by ${escapeMrkdwn(actor.name)}. Escalation stopped.`);
    return load(id);
  }

  async function unacknowledge(id: string, actor: Actor): Promise<Incident> {
    const r = await store.transition(id, {
      from: ['acknowledged'],
      to: 'triggered',
      fields: { owner: '' },
      event: { type: 'unacknowledged', by: actor.id },
    });
    if (!r.ok) refused(id, 'unacknowledge', r.state);
    await hook('unacknowledged', id);
    void notifier.sync(id, `↩️ ${escapeMrkdwn(actor.name)} unacknowledged it. Escalation starts again.`);
    return load(id);
  }

  async function resolve(id: string, actor: Actor, note = ''): Promise<Incident> {
    const before = await load(id);
    const r = await store.transition(id, {
      from: OPEN,
      to: 'resolved',
      fields: { resolvedBy: actor.id },
      event: { type: 'resolved', by: actor.id, ...(note ? { note } : {}) },
    });
    if (!r.ok) refused(id, 'resolve', r.state);
    metrics.incidentsResolved.inc({ priority: before.priority, by: 'person' });
    metrics.observeResolved(before);
    if (r.previous === 'snoozed') await expireSilence(before);
    await hook('resolved', id);
    void notifier.sync(id, `✅ Resolved by ${escapeMrkdwn(actor.name)}${note ? `: ${escapeMrkdwn(note)}` : '.'}`);
    return load(id);
  }

  async function snooze(id: string, actor: Actor, length: string): Promise<Incident> {
    if (!choices.includes(length)) {
      throw new IncidentActionError(ErrorCode.ValidationFailed, `snooze length must be one of ${choices.join(', ')}`);
    }
    const incident = await load(id);
    if (!OPEN.includes(incident.state) || incident.state === 'snoozed') refused(id, 'snooze', incident.state);
    const until = new Date(Date.now() + parseDuration(length));
    // The silence comes first: if Alertmanager refuses, nothing changes here.
    let silenceId = '';
    if (options.silences) {
      silenceId = await options.silences.create(incidentMatchers(incident), until, actor.name, `Snoozed from Slack for ${incident.id} (${length})`);
    }
    const r = await store.transition(id, {
      from: ['triggered', 'acknowledged'],
      to: 'snoozed',
      fields: { snoozedUntil: until.toISOString(), silenceId },
      event: { type: 'snoozed', by: actor.id, until: until.toISOString(), silenceId },
    });
    if (!r.ok) {
      if (silenceId) await options.silences?.expire(silenceId).catch(() => undefined);
      refused(id, 'snooze', r.state);
    }
    await hook('snoozed', id, until);
    const silenceNote = silenceId ? ` (Alertmanager silence ${code(silenceId)})` : ' (no ALERTMANAGER_URL: Slack-side snooze only)';
    void notifier.sync(id, `😴 Snoozed for ${length} by ${escapeMrkdwn(actor.name)}, until <!date^${Math.floor(until.getTime() / 1000)}^{time}|${until.toISOString()}>${silenceNote}.`);
    return load(id);
  }

  async function unsnooze(id: string, actor: Actor): Promise<Incident> {
    const incident = await load(id);
    const r = await store.transition(id, {
      from: ['snoozed'],
      to: 'triggered',
      fields: { snoozedUntil: '', silenceId: '' },
      event: { type: 'unsnoozed', by: actor.id },
    });
    if (!r.ok) refused(id, 'unsnooze', r.state);
    await expireSilence(incident);
    await hook('unsnoozed', id);
    void notifier.sync(id, `⏰ ${escapeMrkdwn(actor.name)} ended the snooze.`);
    return load(id);
  }

  async function reclassify(id: string, actor: Actor, priority: Priority): Promise<Incident> {
    if (!/^P[1-4]$/.test(priority)) throw new IncidentActionError(ErrorCode.ValidationFailed, 'priority must be P1, P2, P3 or P4');
    const incident = await load(id);
    if (incident.priority === priority) throw new IncidentActionError(ErrorCode.Conflict, `${id} is already ${priority}`);
    // Re-route with the new priority so a label rule (e.g. security) keeps its policy.
    const policy = routeIncident(incident.labels, priority, options.config).policy;
    const r = await store.transition(id, {
      from: OPEN,
      fields: { priority, priorityRule: `reclassified by ${actor.name}`, policy },
      event: { type: 'reclassified', by: actor.id, from: incident.priority, to: priority },
    });
    if (!r.ok) refused(id, 'reclassify', r.state);
    await hook('reclassified', id);
    void notifier.sync(id, `🏷️ ${escapeMrkdwn(actor.name)} reclassified it ${incident.priority} → ${priority}; escalation re-planned (${escapeMrkdwn(policy)}).`);
    return load(id);
  }

  async function expireSilence(incident: Incident): Promise<void> {
    if (!incident.silenceId || !options.silences) return;
    try {
      await options.silences.expire(incident.silenceId);
    } catch (err) {
      logger.warn({ err, silenceId: incident.silenceId }, 'could not expire the silence; it ends on its own');
    }
  }

  return { acknowledge, unacknowledge, resolve, snooze, unsnooze, reclassify, get: load };
}

export type IncidentService = ReturnType<typeof createIncidentService>;
