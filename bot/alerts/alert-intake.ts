import type { Logger } from '../../lib/logger';
import type { AlertmanagerWebhook } from './alertmanager-payload';
import type { IncidentNotifier } from '../incidents/incident-notifier';
import type { IncidentStore, IngestResult, NewIncidentMeta, Priority } from '../incidents/incident-store';
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

/** A reply lists this many alert changes; a storm of changes is summarised after them. */
const TRANSITIONS_SHOWN = 50;

/** What the thread says when alerts of an open incident change. */
function describeTransitions(result: IngestResult): string {
  if (result.resolvedNow) return '✅ Resolved: every alert in this group is resolved (Alertmanager).';
  const shown = result.transitions.slice(0, TRANSITIONS_SHOWN);
  const more = result.transitions.length - shown.length;
  const lines = shown
    .map((t) => (t.status === 'firing' ? `🔥 ${code(t.alertname)} is firing (${code(t.fingerprint)})` : `✅ ${code(t.alertname)} resolved (${code(t.fingerprint)})`));
  if (more > 0) lines.push(`… and ${more} more alerts changed (each one is on the incident's timeline)`);
  return lines.join('\n');
}

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
      logger.info({ groupKey: payload.groupKey }, 'resolved notification for no open incident: nothing to do');
      return result;
    }
    if (result.created) metrics.incidentsOpened.inc({ priority: decision.priority });
    // The ingest recorded the group labels and read the incident back in the same step.
    const incident = result.incident ?? (await store.get(result.incidentId));
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
    // Quiet by default: a repeat that changes nothing neither edits nor replies,
    // unless the root message never made it to Slack (then this is the retry).
    if (result.changed || !incident?.rootTs) {
      const reply = result.created ? undefined : describeTransitions(result) || undefined;
      if (!opening) void notifier.sync(result.incidentId, reply, incident);
    }
    // A repeat that changed nothing (Alertmanager resends every group_interval) is debug: at info, a storm of
    // resends would be a log line each, for nothing a person needs.
    const line = { incidentId: result.incidentId, created: result.created, changed: result.changed, groupKey: payload.groupKey };
    if (result.created || result.changed) logger.info(line, 'alertmanager notification ingested');
    else logger.debug(line, 'alertmanager notification ingested (a repeat: nothing changed)');
    return result;
  }

  /**
   * At start: any open incident whose root message never reached Slack gets it now, and one whose opening never
   * completed (stored by a version before the openings set) is owed it.
   */
  async function reconcile(): Promise<number> {
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
