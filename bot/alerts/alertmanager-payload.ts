import { z } from 'zod';

/**
 * Alertmanager's webhook payload, version 4, as Alertmanager sends it
 * (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config).
 * Unknown fields are kept: newer Alertmanagers add some, and we must not break.
 */
const LabelSet = z.record(z.string(), z.string());

export const AlertSchema = z.looseObject({
  status: z.enum(['firing', 'resolved']),
  labels: LabelSet.refine((l) => typeof l.alertname === 'string' && l.alertname.length > 0, {
    message: 'every alert needs an alertname label',
  }),
  annotations: LabelSet.default({}),
  startsAt: z.string().datetime({ offset: true }),
  endsAt: z.string().default('0001-01-01T00:00:00Z'),
  generatorURL: z.string().default(''),
  fingerprint: z.string().regex(/^[0-9a-f]{1,64}$/i, 'must be the hex fingerprint Alertmanager computes'),
});
export type Alert = z.infer<typeof AlertSchema>;

export const AlertmanagerWebhookSchema = z.looseObject({
  version: z.literal('4'),
  groupKey: z.string().min(1).max(4096),
  truncatedAlerts: z.number().int().min(0).default(0),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string().min(1).max(256),
  groupLabels: LabelSet.default({}),
  commonLabels: LabelSet.default({}),
  commonAnnotations: LabelSet.default({}),
  externalURL: z.string().default(''),
  alerts: z.array(AlertSchema).min(1, 'a notification carries at least one alert').max(10_000),
});
export type AlertmanagerWebhook = z.infer<typeof AlertmanagerWebhookSchema>;

/** Turns zod issues into one line a person can act on: `alerts.0.fingerprint: must be ...`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`)
    .join('; ');
}
