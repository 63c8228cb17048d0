import type { SilenceClient } from '../../lib/alertmanager-silences';
import type { Logger } from '../../lib/logger';
import { incidentMatchers } from '../incidents/incident-matchers';
import type { IncidentStore } from '../incidents/incident-store';
import type { AlertIntake } from './alert-intake';
import { AlertmanagerWebhookSchema } from './alertmanager-payload';

export interface SnoozeEndCheckOptions {
  store: IncidentStore;
  intake: Pick<AlertIntake, 'receive'>;
  alertmanager: Pick<SilenceClient, 'activeAlerts'>;
  logger: Logger;
}

/**
 * What a snooze's end needs to know: do the incident's alerts still fire? Alertmanager sends no
 * resolved notification for an alert that resolved while silenced, not even once the silence is
 * over, so the bot asks its API (`GET /api/v2/alerts` with the incident's group matchers). Alerts
 * the incident holds as firing that Alertmanager no longer has are resolved through the intake,
 * exactly as a resolved notification would: the last one closes the episode. When Alertmanager
 * cannot be asked, the answer is 'unknown' and the snooze ends as before (triggered): a page too
 * many, never one too few.
 */
export function createSnoozeEndCheck(options: SnoozeEndCheckOptions) {
  const { store, intake, alertmanager, logger } = options;

  return async function checkSnoozeEnd(id: string): Promise<'resolved' | 'firing' | 'unknown'> {
    const incident = await store.get(id);
    if (!incident || incident.state === 'resolved') return 'resolved';
    let active;
    try {
      active = await alertmanager.activeAlerts(incidentMatchers(incident), incident.receiver);
    } catch (err) {
      logger.warn({ err, incidentId: id }, 'could not ask Alertmanager whether the snoozed alerts still fire; the snooze ends as triggered');
      return 'unknown';
    }
    const stillFiring = new Set(active.map((a) => a.fingerprint));
    const gone = Object.entries(await store.alerts(id)).filter(([fp, a]) => a.status === 'firing' && !stillFiring.has(fp));
    if (gone.length === 0) return 'firing';
    const endsAt = new Date().toISOString();
    const payload = AlertmanagerWebhookSchema.parse({
      version: '4',
      groupKey: incident.groupKey,
      truncatedAlerts: 0,
      status: gone.length === active.length + gone.length ? 'resolved' : 'firing',
      receiver: incident.receiver,
      groupLabels: incident.groupLabels ?? {},
      commonLabels: {},
      commonAnnotations: {},
      externalURL: incident.externalURL,
      alerts: gone.map(([fingerprint, a]) => ({ ...a, status: 'resolved', endsAt, fingerprint })),
    });
    logger.info({ incidentId: id, resolved: gone.length, firing: active.length }, 'snooze over: alerts that resolved while silenced are resolved now');
    const result = await intake.receive(payload);
    return result.resolvedNow ? 'resolved' : 'firing';
  };
}
