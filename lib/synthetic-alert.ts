import crypto from 'node:crypto';

/**
 * An Alertmanager v4 notification the product raises itself, so what it finds (a failed backup, a missing
 * heartbeat) opens an incident through the same intake, routing, priorities and escalation as Prometheus alerts.
 * One alert per notification: its group is the alert. A later `resolved` with the same groupKey and fingerprint
 * closes the incident.
 */
export interface SyntheticAlert {
  /** Stable per problem: the incident's identity. */
  groupKey: string;
  receiver: string;
  groupLabels: Record<string, string>;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** The group's common annotations. @defaultValue the alert's annotations */
  commonAnnotations?: Record<string, string>;
  status: 'firing' | 'resolved';
  /** When the problem started (kept across repeats, so the incident is one episode). */
  startsAt: Date;
  /** For a resolve. @defaultValue now */
  endsAt?: Date;
  /** Stable per alert (see `syntheticFingerprint`). */
  fingerprint: string;
}

/** Alertmanager's "not ended" timestamp. */
const NOT_ENDED = '0001-01-01T00:00:00Z';

/** 16 hex digits of SHA-256 over `seed`: a stable fingerprint for an alert the product raises. */
export function syntheticFingerprint(seed: string): string {
  return crypto.createHash('sha256').update(seed).digest('hex').slice(0, 16);
}

/** The webhook body Alertmanager would send for `alert`. */
export function syntheticNotification(alert: SyntheticAlert) {
  return {
    version: '4',
    groupKey: alert.groupKey,
    truncatedAlerts: 0,
    status: alert.status,
    receiver: alert.receiver,
    groupLabels: alert.groupLabels,
    commonLabels: alert.labels,
    commonAnnotations: alert.commonAnnotations ?? alert.annotations,
    externalURL: '',
    alerts: [
      {
        status: alert.status,
        labels: alert.labels,
        annotations: alert.annotations,
        startsAt: alert.startsAt.toISOString(),
        endsAt: alert.status === 'resolved' ? (alert.endsAt ?? new Date()).toISOString() : NOT_ENDED,
        generatorURL: '',
        fingerprint: alert.fingerprint,
      },
    ],
  };
}
