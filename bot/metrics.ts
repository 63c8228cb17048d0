import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

const RESPONSE_BUCKETS = [15, 60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 172800];

/** The bot's own series, registered in the process registry (never the global one). */
/** Reads open incidents' priority and state for the gauge (the store provides it). */
export type OpenIncidentCounter = () => Promise<Array<{ priority: string; state: string }>>;

export function createBotMetrics(registry: Registry, openIncidents?: OpenIncidentCounter) {
  new Gauge({
    name: 'incidents_open',
    help: 'Open incidents by priority and state (triggered, acknowledged, snoozed), read from Redis at scrape time.',
    labelNames: ['priority', 'state'],
    registers: [registry],
    async collect() {
      if (!openIncidents) return;
      this.reset();
      const counts = new Map<string, { priority: string; state: string; n: number }>();
      for (const i of await openIncidents()) {
        const key = `${i.priority}|${i.state}`;
        const c = counts.get(key) ?? { priority: i.priority, state: i.state, n: 0 };
        c.n += 1;
        counts.set(key, c);
      }
      for (const c of counts.values()) this.set({ priority: c.priority, state: c.state }, c.n);
    },
  });
  const timeToAck = new Histogram({
    name: 'incident_time_to_acknowledge_seconds',
    help: 'Time from an incident opening to its first acknowledgement, by priority.',
    labelNames: ['priority'],
    buckets: RESPONSE_BUCKETS,
    registers: [registry],
  });
  const timeToResolve = new Histogram({
    name: 'incident_time_to_resolve_seconds',
    help: 'Time from an incident opening to its resolution, by priority.',
    labelNames: ['priority'],
    buckets: RESPONSE_BUCKETS,
    registers: [registry],
  });
  const since = (iso: string) => Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  return {
    timeToAck,
    timeToResolve,
    observeAcknowledged: (i: { priority: string; createdAt: string }) => timeToAck.observe({ priority: i.priority }, since(i.createdAt)),
    observeResolved: (i: { priority: string; createdAt: string }) => timeToResolve.observe({ priority: i.priority }, since(i.createdAt)),
    webhookRequests: new Counter({
      name: 'alertmanager_webhook_requests_total',
      help: 'Alertmanager webhook requests by HTTP status code.',
      labelNames: ['code'],
      registers: [registry],
    }),
    alertsReceived: new Counter({
      name: 'alerts_received_total',
      help: 'Alerts received from Alertmanager, by the status each alert carried.',
      labelNames: ['status'],
      registers: [registry],
    }),
    incidentsOpened: new Counter({
      name: 'incidents_opened_total',
      help: 'Incidents opened, by priority.',
      labelNames: ['priority'],
      registers: [registry],
    }),
    incidentsResolved: new Counter({
      name: 'incidents_resolved_total',
      help: 'Incidents resolved, by priority and by whom (alertmanager or a person).',
      labelNames: ['priority', 'by'],
      registers: [registry],
    }),
    escalationHookFailures: new Counter({
      name: 'escalation_hook_failures_total',
      help: 'Escalation hooks that failed after an incident changed (opened, acknowledged, snoozed, ...), by hook. The change stands; its escalation may not follow it.',
      labelNames: ['hook'],
      registers: [registry],
    }),
    actionsRequested: new Counter({
      name: 'runbook_actions_requested_total',
      help: 'Runbook actions requested from Slack, by action.',
      labelNames: ['action'],
      registers: [registry],
    }),
  };
}

export type BotMetrics = ReturnType<typeof createBotMetrics>;
