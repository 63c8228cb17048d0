import { Counter, type Registry } from 'prom-client';

/** The bot's own series, registered in the process registry (never the global one). */
export function createBotMetrics(registry: Registry) {
  return {
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
    actionsRequested: new Counter({
      name: 'runbook_actions_requested_total',
      help: 'Runbook actions requested from Slack, by action.',
      labelNames: ['action'],
      registers: [registry],
    }),
  };
}

export type BotMetrics = ReturnType<typeof createBotMetrics>;
