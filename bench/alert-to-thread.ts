/**
 * How long from Alertmanager's webhook POST to the incident's root message in Slack:
 * the real bot (Bolt, Redis, the outbox) against the sandbox Slack, on this machine.
 * Each alert opens a new incident; alerts are spaced past Slack's one post a second
 * per channel, so the figure is the path's own latency, not the pace's.
 *
 *   npx tsx bench/alert-to-thread.ts [--alerts 10]
 *
 * Prints p50 / p95 / max in ms. The target (the issue that introduced the spine): under 2 s.
 * Moved here from tests/e2e/spine.test.ts, which must not assert a latency on a shared machine.
 */
import { randomUUID } from 'node:crypto';
import { createBotApp } from '../bot/app';
import { loadBotEnv } from '../bot/config';
import { freePort } from '../lib/http';
import { silentLogger } from '../lib/logger';
import { loadOpsConfig } from '../lib/ops-config';
import { closeRedis, createRedis } from '../lib/redis';
import { createSandboxClient, createSlackSandbox } from '../sandbox/slack';
import { deleteKeysByPrefix } from './redis-cleanup';

const BOT_TOKEN = 'xoxb-bench-alert-path';
const SIGNING_SECRET = 'bench-signing-secret-0123456789';
const WEBHOOK_TOKEN = 'bench-webhook-token-0123456789';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function main(): Promise<void> {
  const n = arg('alerts', 10);
  const redis = createRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const prefix = `bench-${randomUUID().slice(0, 8)}`;
  const [slackPort, botPort] = [await freePort(), await freePort()];
  const slack = createSlackSandbox({ botToken: BOT_TOKEN, signingSecret: SIGNING_SECRET, requestUrl: `http://127.0.0.1:${botPort}/slack/events` });
  await slack.start(slackPort);
  const env = loadBotEnv({
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    REDIS_PREFIX: prefix,
    BOT_PORT: String(botPort),
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: `http://127.0.0.1:${slackPort}/api/`,
    ALERTMANAGER_WEBHOOK_TOKEN: WEBHOOK_TOKEN,
  });
  // No storm digest: every alert must get its own root message.
  const opsConfig = { ...loadOpsConfig(), storm: { threshold_per_minute: 10_000 } };
  const bot = createBotApp(env, { redis, logger: silentLogger(), opsConfig, escalation: false });
  const botUrl = (await bot.start()).url;
  const sandbox = createSandboxClient(`http://127.0.0.1:${slackPort}`, { token: BOT_TOKEN });
  const latencies: number[] = [];
  try {
    for (let i = 0; i < n; i += 1) {
      const alertname = `BenchAlertPath${i}`;
      const body = {
        version: '4',
        groupKey: `{}:{alertname="${alertname}"}`,
        status: 'firing',
        receiver: 'mcp-ops-bot',
        groupLabels: { alertname },
        commonLabels: { alertname, severity: 'critical' },
        commonAnnotations: { summary: 'bench' },
        externalURL: 'http://127.0.0.1:9093',
        alerts: [{ status: 'firing', labels: { alertname, severity: 'critical' }, annotations: {}, startsAt: new Date().toISOString(), fingerprint: (i + 1).toString(16).padStart(16, '0') }],
      };
      const sentAt = performance.now();
      const res = await fetch(`${botUrl}/alertmanager/webhook`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${WEBHOOK_TOKEN}` },
        body: JSON.stringify(body),
      });
      const { incident } = (await res.json()) as { incident: string };
      for (;;) {
        if ((await sandbox.history('ops-critical')).some((m) => m.text.includes(`${incident},`))) break;
        await new Promise((r) => setTimeout(r, 5));
      }
      latencies.push(performance.now() - sentAt);
      await new Promise((r) => setTimeout(r, 1100));
    }
  } finally {
    await bot.stop();
    await slack.stop();
    await deleteKeysByPrefix(redis, prefix);
    await closeRedis(redis);
  }
  const sorted = [...latencies].sort((a, b) => a - b);
  const fmt = (v: number) => `${v.toFixed(0)} ms`;
  console.log(`webhook → root message in Slack, ${n} alerts: p50 ${fmt(percentile(sorted, 50))}, p95 ${fmt(percentile(sorted, 95))}, max ${fmt(sorted[sorted.length - 1]!)} (target < 2000 ms)`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
