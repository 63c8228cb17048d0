import pino from 'pino';
import { Registry } from 'prom-client';
import { createAlertIntake } from '../../bot/alerts/alert-intake';
import { createIncidentNotifier } from '../../bot/incidents/incident-notifier';
import { createChannelResolver } from '../../bot/incidents/slack-channels';
import { createBotMetrics } from '../../bot/metrics';
import { createOutboxWebClient, createSlackOutbox } from '../../bot/slack-outbox';
import { loadOpsConfig } from '../../lib/ops-config';
import { createSlackOutboxProducer } from '../../lib/slack-outbox';
import { firingFor } from '../helpers/fixtures';
import { eventually } from '../helpers/ports';
import { counter, createOutboxHarness, TOKEN, type OutboxHarness } from './slack-outbox-harness';

/**
 * Nothing a person or Alertmanager sent vanishes: texts past Slack's 40,000
 * characters are clipped where they are built (and say so), and a write the
 * outbox gives up on is a warning log line plus `slack_outbox_dropped_total{reason}`.
 */
jest.setTimeout(60_000);

describe('slack outbox: long texts are clipped, every drop is logged and counted', () => {
  let h: OutboxHarness;
  const lines: Array<Record<string, unknown>> = [];
  let registry: Registry;
  let outbox: ReturnType<typeof createSlackOutbox>;
  let notifier: ReturnType<typeof createIncidentNotifier>;

  beforeAll(async () => {
    h = await createOutboxHarness();
    const logger = pino({ level: 'warn' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
    registry = new Registry();
    const client = createOutboxWebClient(TOKEN, h.apiUrl);
    outbox = createSlackOutbox({}, { redis: h.redis, prefix: h.prefix, client, store: h.store, logger, registry });
    notifier = createIncidentNotifier({ store: h.store, resolveChannel: createChannelResolver(client), channelFor: () => 'ops-alerts', logger, outbox });
    await outbox.start();
  });
  afterAll(async () => {
    await outbox.close();
    await h.close();
  });

  it('a 100 kB reply (a resolve note) reaches the thread clipped, saying so', async () => {
    const id = await h.openIncident('outbox-5', 'P3');
    await notifier.sync(id);
    const root = await eventually(async () => (await h.store.get(id))?.rootTs, 10_000);
    await notifier.sync(id, `✅ Resolved by bob: ${'x'.repeat(100_000)}`);
    await notifier.drain(20_000);
    expect(await outbox.idle(1000)).toBe(true);
    const replies = (await h.sandbox.replies('outbox-5', root)).slice(1);
    expect(replies).toHaveLength(1);
    expect(replies[0]!.text.length).toBeLessThanOrEqual(40_000);
    expect(replies[0]!.text).toMatch(/^✅ Resolved by bob: x+\n… \(clipped: \d+ characters in all\)$/);
    expect(await counter(registry, 'slack_outbox_dropped_total')).toBe(0);
  });

  it('a group with 1,300 changed alerts gets one reply that lists the first and counts the rest', async () => {
    const config = loadOpsConfig();
    const intake = createAlertIntake({ store: h.store, notifier, config, logger: pino({ level: 'silent' }), metrics: createBotMetrics(new Registry(), async () => []) });
    const first = firingFor('BigGroup');
    const opened = await intake.receive(first);
    const id = opened.incidentId;
    const root = await eventually(async () => (await h.store.get(id))?.rootTs, 10_000);
    const channel = (await h.store.get(id))!.channel!;
    const many = firingFor('BigGroup');
    many.alerts = Array.from({ length: 1300 }, (_, i) => ({ ...first.alerts[0]!, fingerprint: (0x1000 + i).toString(16), labels: { ...first.alerts[0]!.labels, alertname: `BigGroup${'y'.repeat(40)}${i}` } }));
    await intake.receive(many);
    await notifier.drain(20_000);
    expect(await outbox.idle(1000)).toBe(true);
    const replies = (await h.sandbox.replies(channel, root)).slice(1);
    expect(replies).toHaveLength(1);
    expect(replies[0]!.text).toContain('and 1250 more alerts changed');
    expect(await counter(registry, 'slack_outbox_dropped_total')).toBe(0);
  });

  it('a write Slack refuses for good is a warning line and slack_outbox_dropped_total{reason}', async () => {
    const producer = createSlackOutboxProducer({ connection: h.redis, prefix: h.prefix });
    await producer.reply({ channel: 'C0NOSUCHCHANNEL', text: 'into the void' });
    await producer.close();
    await eventually(async () => (await counter(registry, 'slack_outbox_dropped_total', { reason: 'channel_not_found' })) === 1 || undefined, 10_000);
    expect(lines.some((l) => l.msg === 'slack outbox dropped a write' && l.reason === 'channel_not_found')).toBe(true);
  });
});
