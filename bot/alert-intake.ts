import type { Logger } from '../lib/logger';
import type { AlertmanagerWebhook } from './alertmanager-payload';
import type { IncidentNotifier } from './incident-notifier';
import type { IncidentStore, IngestResult, NewIncidentMeta, Priority } from './incident-store';
import type { BotMetrics } from './metrics';

export interface PriorityDecision {
  priority: Priority;
  rule: string;
}

export interface AlertIntakeOptions {
  store: IncidentStore;
  notifier: IncidentNotifier;
  decidePriority: (labels: Record<string, string>) => PriorityDecision;
  logger: Logger;
  metrics: BotMetrics;
}

/** What the thread says when alerts of an open incident change. */
function describeTransitions(result: IngestResult): string {
  if (result.resolvedNow) return '✅ Resolved: every alert in this group is resolved (Alertmanager).';
  return result.transitions
    .map((t) => (t.status === 'firing' ? `🔥 \`${t.alertname}\` is firing (${t.fingerprint})` : `✅ \`${t.alertname}\` resolved (${t.fingerprint})`))
    .join('\n');
}

function metaFor(payload: AlertmanagerWebhook, decision: PriorityDecision): NewIncidentMeta {
  const first = payload.alerts.find((a) => a.status === 'firing') ?? payload.alerts[0]!;
  const labels = { ...first.labels, ...payload.commonLabels };
  const annotations = { ...first.annotations, ...payload.commonAnnotations };
  return {
    priority: decision.priority,
    priorityRule: decision.rule,
    title: labels.alertname ?? 'Alert',
    summary: annotations.summary ?? annotations.description ?? '',
    labels,
    generatorURL: first.generatorURL,
    runbookUrl: annotations.runbook_url ?? '',
    externalURL: payload.externalURL,
  };
}

/**
 * Turns one validated Alertmanager notification into incident state and hands
 * the Slack side to the notifier. Knows no HTTP: the webhook route calls it.
 */
export function createAlertIntake(options: AlertIntakeOptions) {
  const { store, notifier, metrics, logger } = options;

  async function receive(payload: AlertmanagerWebhook): Promise<IngestResult> {
    for (const alert of payload.alerts) metrics.alertsReceived.inc({ status: alert.status });
    const firing = payload.alerts.find((a) => a.status === 'firing') ?? payload.alerts[0]!;
    const decision = options.decidePriority({ ...firing.labels, ...payload.commonLabels });
    const result = await store.ingest(payload, metaFor(payload, decision));
    if (!result.incidentId) {
      logger.info({ groupKey: payload.groupKey }, 'resolved notification for no open incident: nothing to do');
      return result;
    }
    if (result.created) metrics.incidentsOpened.inc({ priority: decision.priority });
    if (result.resolvedNow) metrics.incidentsResolved.inc({ priority: decision.priority, by: 'alertmanager' });
    const incident = await store.get(result.incidentId);
    // Quiet by default: a repeat that changes nothing neither edits nor replies,
    // unless the root message never made it to Slack (then this is the retry).
    if (result.changed || !incident?.rootTs) {
      const reply = result.created ? undefined : describeTransitions(result) || undefined;
      void notifier.sync(result.incidentId, reply);
    }
    logger.info(
      { incidentId: result.incidentId, created: result.created, changed: result.changed, groupKey: payload.groupKey },
      'alertmanager notification ingested',
    );
    return result;
  }

  /** At start: any open incident whose root message never reached Slack gets it now. */
  async function reconcile(): Promise<number> {
    let n = 0;
    for (const id of await store.openIds()) {
      const incident = await store.get(id);
      if (incident && !incident.rootTs) {
        void notifier.sync(id);
        n += 1;
      }
    }
    return n;
  }

  return { receive, reconcile };
}

export type AlertIntake = ReturnType<typeof createAlertIntake>;
