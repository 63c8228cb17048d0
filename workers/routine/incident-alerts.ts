import axios from 'axios';
import { CodedError, ErrorCode } from '../../lib/errors';
import { syntheticFingerprint, syntheticNotification } from '../../lib/synthetic-alert';

/**
 * Problems the routine finds (a failed or missing backup) open incidents
 * through the same intake as Prometheus alerts: an Alertmanager-v4-shaped
 * notification POSTed to the bot's webhook with its bearer token. The bot then
 * routes, prioritises (from the runbook and the severity label) and escalates
 * it like any other alert; a later `resolved` for the same group closes it.
 */
export interface RoutineAlert {
  alertname: string;
  severity: string;
  labels?: Record<string, string>;
  summary: string;
  description: string;
  /** When the problem started (kept across repeats, so the incident is one episode). */
  startsAt: Date;
}

export interface IncidentAlertsConfig {
  /** The bot's POST /alertmanager/webhook URL. */
  webhookUrl?: string;
  /** ALERTMANAGER_WEBHOOK_TOKEN. */
  token?: string;
  /** Where the runbooks are served: the bot's base URL. */
  runbookBaseUrl?: string;
}

export function createIncidentAlerts(config: IncidentAlertsConfig, options: { timeoutMs?: number } = {}) {
  const http = axios.create({ timeout: options.timeoutMs ?? 10_000, validateStatus: () => true, proxy: false });

  async function send(alert: RoutineAlert, status: 'firing' | 'resolved', endsAt?: Date): Promise<string | undefined> {
    if (!config.webhookUrl || !config.token) {
      throw new CodedError(ErrorCode.ConfigInvalid, `cannot open a ${alert.alertname} incident: BOT_WEBHOOK_URL and ALERTMANAGER_WEBHOOK_TOKEN must be set for the workers`);
    }
    const labels = { alertname: alert.alertname, severity: alert.severity, service: 'mcp-financial-ops-routine', ...alert.labels };
    const base = config.runbookBaseUrl ?? new URL(config.webhookUrl).origin;
    const annotations = { summary: alert.summary, description: alert.description, runbook_url: `${base.replace(/\/$/, '')}/runbooks/${alert.alertname}.yaml` };
    const body = syntheticNotification({
      groupKey: `{}/{routine="true"}:{alertname="${alert.alertname}"}`,
      receiver: 'mcp-ops-bot',
      groupLabels: { alertname: alert.alertname },
      labels,
      annotations,
      status,
      startsAt: alert.startsAt,
      ...(endsAt ? { endsAt } : {}),
      fingerprint: syntheticFingerprint(JSON.stringify(Object.entries(labels).sort())),
    });
    let res;
    try {
      res = await http.post(config.webhookUrl, body, { headers: { Authorization: `Bearer ${config.token}` } });
    } catch (err) {
      throw new CodedError(ErrorCode.BackendUnavailable, `the bot's webhook is unreachable: ${(err as Error).message}`);
    }
    if (res.status !== 200) throw new CodedError(ErrorCode.BackendUnavailable, `the bot's webhook answered HTTP ${res.status}: ${JSON.stringify(res.data).slice(0, 200)}`);
    return (res.data as { incident?: string })?.incident;
  }

  return {
    /** Opens (or updates) the incident; resolves with its id. */
    fire: (alert: RoutineAlert) => send(alert, 'firing'),
    resolve: (alert: RoutineAlert) => send(alert, 'resolved'),
  };
}

export type IncidentAlerts = ReturnType<typeof createIncidentAlerts>;
