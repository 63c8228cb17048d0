import fs from 'node:fs';
import path from 'node:path';
import type { AlertmanagerWebhook } from '../../bot/alerts/alertmanager-payload';

const dir = path.join(__dirname, '..', 'fixtures', 'alertmanager');

/** A captured Alertmanager body, parsed fresh each call so tests can change it freely. */
export function alertmanagerFixture(name: 'high-error-rate.firing' | 'high-error-rate.resolved'): AlertmanagerWebhook {
  return JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`), 'utf8')) as AlertmanagerWebhook;
}

/** The firing fixture for another group: new groupKey, labels and fingerprint. */
export function firingFor(group: string, overrides: { severity?: string; fingerprint?: string } = {}): AlertmanagerWebhook {
  const p = alertmanagerFixture('high-error-rate.firing');
  p.groupKey = `{}:{alertname="${group}"}`;
  p.groupLabels = { alertname: group };
  p.commonLabels = { ...p.commonLabels, alertname: group, severity: overrides.severity ?? p.commonLabels.severity! };
  p.alerts = p.alerts.map((a) => ({
    ...a,
    labels: { ...a.labels, alertname: group, severity: overrides.severity ?? a.labels.severity! },
    fingerprint: overrides.fingerprint ?? a.fingerprint,
  }));
  return p;
}

export function resolvedVersion(p: AlertmanagerWebhook): AlertmanagerWebhook {
  const copy = JSON.parse(JSON.stringify(p)) as AlertmanagerWebhook;
  copy.status = 'resolved';
  copy.alerts = copy.alerts.map((a) => ({ ...a, status: 'resolved', endsAt: new Date().toISOString() }));
  return copy;
}
