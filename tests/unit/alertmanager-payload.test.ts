import { AlertmanagerWebhookSchema, describeIssues } from '../../bot/alerts/alertmanager-payload';
import { alertmanagerFixture } from '../helpers/fixtures';

describe('Alertmanager v4 payload', () => {
  it('accepts the bodies a real Alertmanager sent', () => {
    for (const name of ['high-error-rate.firing', 'high-error-rate.resolved'] as const) {
      const parsed = AlertmanagerWebhookSchema.safeParse(alertmanagerFixture(name));
      expect(parsed.success).toBe(true);
    }
  });

  it('keeps fields it does not know (newer Alertmanagers add some)', () => {
    const body = { ...alertmanagerFixture('high-error-rate.firing'), newField: 1 };
    const parsed = AlertmanagerWebhookSchema.parse(body) as Record<string, unknown>;
    expect(parsed.newField).toBe(1);
  });

  it.each([
    ['version', (b: Record<string, unknown>) => (b.version = '3'), /version/],
    ['alerts empty', (b: Record<string, unknown>) => (b.alerts = []), /alerts: a notification carries at least one alert/],
    ['fingerprint', (b: Record<string, unknown>) => ((b.alerts as Array<Record<string, unknown>>)[0]!.fingerprint = 'xyz!'), /alerts\.0\.fingerprint/],
    ['alertname', (b: Record<string, unknown>) => ((b.alerts as Array<Record<string, unknown>>)[0]!.labels = {}), /alertname/],
    ['status', (b: Record<string, unknown>) => (b.status = 'pending'), /status/],
  ])('refuses a bad %s with a reason naming the field', (_name, mutate, reason) => {
    const body = alertmanagerFixture('high-error-rate.firing') as unknown as Record<string, unknown>;
    mutate(body);
    const parsed = AlertmanagerWebhookSchema.safeParse(body);
    expect(parsed.success).toBe(false);
    if (!parsed.success) expect(describeIssues(parsed.error)).toMatch(reason);
  });
});
