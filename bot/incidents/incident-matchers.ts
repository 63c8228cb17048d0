import { groupMatchers, type SilenceMatcher } from '../../lib/alertmanager-silences';
import type { Incident } from './incident-store';

/**
 * The alerts of an incident, as Alertmanager matchers: its group labels. An incident recorded before
 * group labels were kept falls back to alertname and service, the committed route's `group_by`
 * (never `instance`: that would select one alert of the group).
 */
export function incidentMatchers(incident: Pick<Incident, 'groupLabels' | 'labels' | 'title'>): SilenceMatcher[] {
  const group =
    incident.groupLabels ??
    Object.fromEntries(['alertname', 'service'].filter((k) => incident.labels[k]).map((k) => [k, incident.labels[k]!]));
  return groupMatchers(group, incident.labels.alertname ?? incident.title);
}
