import type { Logger } from '../../lib/logger';
import type { AlertmanagerWebhook } from './alertmanager-payload';
import type { IncidentNotifier } from '../incidents/incident-notifier';
import { type Incident, type IncidentStore, type IngestResult, type NewIncidentMeta, type OwedReply, type Priority } from '../incidents/incident-store';
import type { IncidentOpener } from './incident-opener';
import type { BotMetrics } from '../metrics';
import { routeIncident } from '../../lib/ops-config-routing';
import type { OpsConfig } from '../../lib/ops-config';
import { decidePriority, type PriorityDecision } from '../incidents/priority';
import { code } from '../../lib/slack-text';

export interface AlertIntakeOptions {
  store: IncidentStore;
  notifier: IncidentNotifier;
  config: OpsConfig;
  logger: Logger;
  metrics: BotMetrics;
  /** Grafana base URL (GRAFANA_URL): incidents link to Explore with the alert's expression when the alert has no dashboard link. */
  grafanaUrl?: string;
  /** The runbook's default priority for an alert name, used when labels say nothing. */
  runbookPriority?: (alertname: string) => Priority | undefined;
  /**
   * Runs a new incident's opening (root message, escalation, diagnostics) after the delivery is answered; the
   * ingest has already recorded it as owed (see incident-opener.ts). Without one, the intake queues the root
   * message itself and nothing else happens on opening.
   */
  opener?: Pick<IncidentOpener, 'opened'>;
  /** Called once when Alertmanager resolves an incident. */
  onResolved?: (incidentId: string) => Promise<void>;
  /**
   * Alerts by this name (Alertmanager's always-firing Watchdog) are heartbeats,
   * never incidents: a firing one calls `onWatchdog`.
   */
  watchdogAlertname?: string;
  onWatchdog?: () => Promise<unknown>;
}

/** What the thread says when alerts of an open incident change. */
function describeTransitions(reply: OwedReply): string {
  if (reply.resolvedNow) return '✅ Resolved: every alert in this group is resolved (Alertmanager).';
  // The store keeps the first REPLY_TRANSITIONS_KEPT changes of a batch; a storm of changes is summarised after them.
  const more = reply.total - reply.transitions.length;
  const lines = reply.transitions
    .map((t) => (t.status === 'firing' ? `🔥 ${code(t.alertname)} is firing (${code(t.fingerprint)})` : `✅ ${code(t.alertname)} resolved (${code(t.fingerprint)})`));
  if (more > 0) lines.push(`… and ${more} more alerts changed (each one is on the incident's timeline)`);
  if (reply.earlier > 0) lines.push(`… and ${reply.earlier} earlier alert changes whose replies could not be queued (each one is on the incident's timeline)`);
  return lines.join('\n');
}

/** The outbox id of an owed reply: stable per batch, so queuing it again (a retry, a restart) posts it once. */
const replyId = (incidentId: string, seq: number) => `${incidentId}-alerts-${seq}`;

function metaFor(payload: AlertmanagerWebhook, decision: PriorityDecision, config: OpsConfig, grafanaBase?: string): NewIncidentMeta {
  const first = payload.alerts.find((a) => a.status === 'firing') ?? payload.alerts[0]!;
  const labels = { ...first.labels, ...payload.commonLabels };
  const annotations = { ...first.annotations, ...payload.commonAnnotations };
  const route = routeIncident(labels, decision.priority, config);
  return {
    priority: decision.priority,
    priorityRule: decision.rule,
    policy: route.policy,
    route: route.channel,
    title: labels.alertname ?? 'Alert',
    summary: annotations.summary ?? annotations.description ?? '',
    labels,
    generatorURL: first.generatorURL,
    runbookUrl: annotations.runbook_url ?? '',
    externalURL: payload.externalURL,
    grafanaUrl: annotations.grafana_url ?? annotations.dashboard_url ?? grafanaExplore(grafanaBase, first.generatorURL),
  };
}

/** Grafana Explore on the alert's own expression (taken from Prometheus' generatorURL). */
function grafanaExplore(base: string | undefined, generatorURL: string): string {
  if (!base) return '';
  let expr = '';
  try {
    expr = new URL(generatorURL).searchParams.get('g0.expr') ?? '';
  } catch {
    // not a URL: no expression to carry
  }
  const left = JSON.stringify({ queries: [{ refId: 'A', expr }], range: { from: 'now-1h', to: 'now' } });
  return `${base.replace(/\/$/, '')}/explore?left=${encodeURIComponent(left)}`;
}

/**
 * Turns one validated Alertmanager notification into incident state and hands
 * the Slack side to the notifier. Knows no HTTP: the webhook route calls it.
 */
export function createAlertIntake(options: AlertIntakeOptions) {
  const { store, notifier, metrics, logger } = options;

  async function receive(incoming: AlertmanagerWebhook): Promise<IngestResult> {
    for (const alert of incoming.alerts) metrics.alertsReceived.inc({ status: alert.status });
    const watchdog = options.watchdogAlertname;
    const isWatchdog = (a: AlertmanagerWebhook['alerts'][number]) => watchdog !== undefined && a.labels.alertname === watchdog;
    if (incoming.alerts.some((a) => isWatchdog(a) && a.status === 'firing')) await options.onWatchdog?.();
    const rest = incoming.alerts.filter((a) => !isWatchdog(a));
    if (rest.length === 0) return { incidentId: '', created: false, changed: false, resolvedNow: false, transitions: [] };
    const payload = rest.length === incoming.alerts.length ? incoming : { ...incoming, alerts: rest };
    const firing = payload.alerts.find((a) => a.status === 'firing') ?? payload.alerts[0]!;
    const labels = { ...firing.labels, ...payload.commonLabels };
    const decision = decidePriority(labels, options.runbookPriority?.(labels.alertname ?? ''), options.config);
    const result = await store.ingest(payload, metaFor(payload, decision, options.config, options.grafanaUrl));
    if (!result.incidentId) {
      // A retried resolve: the incident it resolved may still owe its reply (queuing it failed, or the bot died).
      if (result.owed) {
        const owner = await store.get(result.owed.incidentId);
        if (owner) await queueOwed(owner, result.owed.replies);
      }
      logger.info({ groupKey: payload.groupKey }, 'resolved notification for no open incident: nothing to do');
      return result;
    }
    if (result.quiet) {
      // A resend that changed nothing (Alertmanager repeats every group_interval): nothing to edit or reply, unless
      // the root message never made it to Slack (then this is its retry). Debug, not info: a storm of resends would
      // be a log line each, for nothing a person needs.
      if (!result.quiet.rootPosted) void notifier.sync(result.incidentId);
      logger.debug({ incidentId: result.incidentId, groupKey: payload.groupKey }, 'alertmanager notification ingested (a repeat: nothing changed)');
      return result;
    }
    if (result.created) metrics.incidentsOpened.inc({ priority: decision.priority });
    // The ingest recorded the group labels and read the incident back in the same step.
    const { incident } = result;
    // A new incident's opening runs after the answer: the ingest recorded it as owed, atomically with the incident,
    // and the opener (or another replica, if this one dies first) completes it.
    const opening = result.created && !result.resolvedNow;
    if (opening) {
      if (options.opener) options.opener.opened(result.incidentId, decision.priority);
      else void notifier.sync(result.incidentId, undefined, incident);
    }
    if (result.resolvedNow && incident) {
      metrics.incidentsResolved.inc({ priority: incident.priority, by: 'alertmanager' });
      metrics.observeResolved(incident);
      await options.onResolved?.(result.incidentId);
    }
    // The replies owed (this change's, recorded by the ingest in the same step, and any a dead bot left) are in
    // the outbox before the answer: a failure answers 5xx, and Alertmanager's retry finds them still owed.
    if (result.owed && incident) await queueOwed(incident, result.owed.replies);
    // Otherwise the incident changed (a quiet repeat returned above): its root is edited, or posted if it never was.
    else if (!opening) void notifier.sync(result.incidentId, undefined, incident);
    // Past the quiet return, something happened: the incident opened or changed, or replies owed from before went out.
    logger.info({ incidentId: result.incidentId, created: result.created, changed: result.changed, groupKey: payload.groupKey }, 'alertmanager notification ingested');
    return result;
  }

  /**
   * Queues owed replies in order, each with its stable outbox id, then clears them. A crash (or a failure)
   * before the clear leaves them owed: queued again later, the outbox drops the repeat (its `seen:` marker).
   */
  async function queueOwed(incident: Incident, replies: OwedReply[]): Promise<void> {
    for (const reply of replies) await notifier.syncReply(incident, describeTransitions(reply), replyId(incident.id, reply.seq));
    await store.clearReplies(incident.id, replies.map((r) => r.seq));
  }

  /**
   * At start: replies owed for alert changes (a bot died between the ingest and the outbox) are queued; any
   * open incident whose root message never reached Slack gets it now, and one whose opening never completed
   * (stored by a version before the openings set) is owed it.
   */
  async function reconcile(): Promise<number> {
    for (const id of await store.repliesOwing()) {
      try {
        const [incident, owed] = [await store.get(id), await store.repliesOwed(id)];
        // Deleted meanwhile (retention): nothing to reply to.
        if (!incident) await store.clearReplies(id, owed.map((r) => r.seq));
        else if (owed.length) {
          await queueOwed(incident, owed);
          logger.info({ incidentId: id, replies: owed.length }, 'queued thread replies owed since before the start');
        }
      } catch (err) {
        // Still owed: the next delivery for the group, or the next start, queues them.
        logger.error({ err, incidentId: id }, 'could not queue the thread replies owed to an incident');
      }
    }
    let n = 0;
    for (const id of await store.openIds()) {
      const incident = await store.get(id);
      if (!incident) continue;
      if (!incident.openHandled && options.opener) await store.oweOpening(id);
      else if (!incident.rootTs) {
        void notifier.sync(id);
        n += 1;
      }
    }
    return n;
  }

  return { receive, reconcile };
}

export type AlertIntake = ReturnType<typeof createAlertIntake>;
