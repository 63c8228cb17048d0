import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The outbox's series, in the bot's registry. `depth` reads Redis at scrape time. */
export function createOutboxMetrics(registry: Registry, depth: () => Promise<number>) {
  return {
    calls: new Counter({
      name: 'slack_api_calls_total',
      help: 'Slack Web API write calls made by the outbox, by method and outcome (ok, ratelimited, error).',
      labelNames: ['method', 'outcome'],
      registers: [registry],
    }),
    ratelimited: new Counter({
      name: 'slack_ratelimited_total',
      help: 'Slack answers of 429 (rate limited), by method. The write waits for Retry-After and is sent again.',
      labelNames: ['method'],
      registers: [registry],
    }),
    depth: new Gauge({
      name: 'slack_outbox_depth',
      help: 'Slack writes waiting in the outbox (replies, root posts, pending edits), all channels and replicas.',
      registers: [registry],
      async collect() {
        this.set(await depth().catch(() => Number.NaN));
      },
    }),
    lag: new Histogram({
      name: 'slack_outbox_send_lag_seconds',
      help: 'Time from a write entering the outbox to Slack accepting it, by kind (root, reply, update, digest).',
      labelNames: ['kind'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300],
      registers: [registry],
    }),
    dropped: new Counter({
      name: 'slack_outbox_refused_total',
      help: 'Writes Slack refused for good (e.g. channel_not_found, invalid_blocks), by method and error.',
      labelNames: ['method', 'error'],
      registers: [registry],
    }),
    rootFallbacks: new Counter({
      name: 'slack_root_fallbacks_total',
      help: "Incident threads posted in the ops config's fallback channel because Slack refused their own channel, by Slack's error.",
      labelNames: ['error'],
      registers: [registry],
    }),
    droppedWrites: new Counter({
      name: 'slack_outbox_dropped_total',
      help: 'Outbox writes given up for good (refused by Slack, unreadable, nowhere to post), by reason. Each one is also a warning log line.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    digested: new Counter({
      name: 'slack_outbox_digested_incidents_total',
      help: 'Incidents listed in a storm digest instead of getting a root message of their own.',
      registers: [registry],
    }),
  };
}

export type OutboxMetrics = ReturnType<typeof createOutboxMetrics>;
