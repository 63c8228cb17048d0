/**
 * bench alert-to-thread: from Alertmanager's webhook POST to the incident's root
 * message in Slack: the real bot (createBotApp: Bolt, Redis, the outbox) against the
 * sandbox Slack with its real rate limits, both in this process, as tests/helpers/bot-harness.ts
 * wires them. Each alert opens a new incident; alerts alternate between the two
 * routes (ops-critical, ops-alerts), one every 1.1 s, so each channel gets a new incident
 * every 2.2 s: a new incident costs its channel two chat.postMessage (the root and the
 * first reply in its thread) and Slack allows one a second per channel; paced below that,
 * the figure is the path's own latency, not Slack's pace.
 * The storm digest is off (threshold raised) so that every alert gets its own root.
 *
 *   npm run bench -- alert-to-thread [--alerts 200] [--spacing-ms 1100]
 *
 * Target: p95 < 300 ms.
 */
import { randomUUID } from 'node:crypto';
import { createBotApp } from '../bot/app';
import { loadBotEnv } from '../bot/config';
import { freePort } from '../lib/http';
import { silentLogger } from '../lib/logger';
import { loadOpsConfig } from '../lib/ops-config';
import { closeRedis, createRedis } from '../lib/redis';
import { createSandboxClient, createSlackSandbox } from '../sandbox/slack';
import { num, runBench } from './lib/bench';
import { REDIS_URL } from './lib/procs';
import { round, sleep, summary } from './lib/stats';
import { deleteKeysByPrefix } from './redis-cleanup';

const BOT_TOKEN = 'xoxb-bench-alert-path';
const SIGNING_SECRET = 'bench-signing-secret-0123456789';
const WEBHOOK_TOKEN = 'bench-webhook-token-0123456789';

runBench('alert-to-thread', async (args) => {
  const n = Math.round(num(args, 'alerts', 200, 2000));
  const spacing = num(args, 'spacing-ms', 1100, 10_000);
  const redis = createRedis(REDIS_URL);
  const prefix = `bench-${randomUUID().slice(0, 8)}`;
  const [slackPort, botPort] = [await freePort(), await freePort()];
  const slack = createSlackSandbox({ botToken: BOT_TOKEN, signingSecret: SIGNING_SECRET, requestUrl: `http://127.0.0.1:${botPort}/slack/events` });
  await slack.start(slackPort);
  const env = loadBotEnv({
    REDIS_URL,
    REDIS_PREFIX: prefix,
    BOT_PORT: String(botPort),
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: `http://127.0.0.1:${slackPort}/api/`,
    ALERTMANAGER_WEBHOOK_TOKEN: WEBHOOK_TOKEN,
  });
  const opsConfig = { ...loadOpsConfig(), storm: { threshold_per_minute: 10_000 } };
  const bot = createBotApp(env, { redis, logger: silentLogger(), opsConfig, escalation: false });
  const botUrl = (await bot.start()).url;
  const sandbox = createSandboxClient(`http://127.0.0.1:${slackPort}`, { token: BOT_TOKEN });
  const latencies: number[] = [];
  const pending: Promise<void>[] = [];
  try {
    for (let i = 0; i < n; i += 1) {
      const alertname = `BenchAlertPath${i}`;
      const severity = i % 2 === 0 ? 'critical' : 'warning';
      const channel = severity === 'critical' ? 'ops-critical' : 'ops-alerts';
      const body = {
        version: '4',
        groupKey: `{}:{alertname="${alertname}"}`,
        status: 'firing',
        receiver: 'mcp-ops-bot',
        groupLabels: { alertname },
        commonLabels: { alertname, severity },
        commonAnnotations: { summary: 'bench' },
        externalURL: 'http://127.0.0.1:9093',
        alerts: [{ status: 'firing', labels: { alertname, severity }, annotations: {}, startsAt: new Date().toISOString(), fingerprint: (i + 1).toString(16).padStart(16, '0') }],
      };
      const sentAt = performance.now();
      const res = await fetch(`${botUrl}/alertmanager/webhook`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${WEBHOOK_TOKEN}` },
        body: JSON.stringify(body),
      });
      if (res.status !== 200) throw new Error(`webhook answered ${res.status}`);
      const { incident } = (await res.json()) as { incident: string };
      // Watch for the root while the next alerts go out (the pace is fixed, not closed-loop).
      pending.push(
        (async () => {
          const deadline = sentAt + 30_000;
          while (performance.now() < deadline) {
            if ((await sandbox.history(channel)).some((m) => m.text.includes(`${incident},`))) {
              latencies.push(performance.now() - sentAt);
              return;
            }
            await sleep(5);
          }
        })(),
      );
      await sleep(spacing);
    }
    await Promise.all(pending);
  } finally {
    await bot.stop();
    await slack.stop();
    await deleteKeysByPrefix(redis, prefix);
    await closeRedis(redis);
  }
  const s = summary(latencies);
  return {
    figures: { alerts: n, 'roots seen': s.n, p50: round(s.p50), p95: round(s.p95), p99: round(s.p99), max: round(s.max) },
    units: { p50: 'ms', p95: 'ms', p99: 'ms', max: 'ms' },
    targets: [
      { figure: 'p95', op: '<', limit: 300, unit: 'ms' },
      { figure: 'roots seen', op: '==', limit: n },
    ],
    notes: [`one new group every ${spacing} ms over 2 channels; bot and sandbox in this process; the watcher polls the sandbox's read view every 5 ms`],
  };
}, 900);
