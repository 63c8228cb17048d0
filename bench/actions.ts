/**
 * bench actions: a person's click on a runbook button to the start of its job, and how
 * many jobs a second the runbook queue moves.
 *
 *   1. click → job start: the real bot (createBotApp, as tests/helpers/bot-harness.ts wires it)
 *      and the sandbox Slack in this process; an incident is opened through the webhook and
 *      its root's `runbook_health_check` button is clicked (POST /_sandbox/click: the sandbox
 *      signs and sends the block_actions payload to the bot, which checks RBAC and audits and
 *      enqueues); 15 incidents and 2 people in turn, a click every 500 ms (the service makes
 *      identical requests within 10 s one; a pair comes round again after 15 s). A bench-side BullMQ Worker on the real `runbook-actions` queue (same prefix,
 *      concurrency 4 as WORKER_CONCURRENCY) takes the job and notes when its handler starts:
 *      the figure is click sent → handler start. The handler does nothing (not the
 *      workers' health check, which calls the MCP server); one click at a time.
 *   2. no-op jobs/s: N jobs added to the same queue in bulk and run by that worker with an
 *      empty handler: the queue's own cost (Redis round trips, locks), not an action's.
 *
 *   npm run bench -- actions [--clicks 50] [--jobs 5000]
 *
 * Target: click → job start p50 < 50 ms.
 */
import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { createBotApp } from '../bot/app';
import { loadBotEnv } from '../bot/config';
import { QueueName } from '../lib/contracts';
import { freePort } from '../lib/http';
import { silentLogger } from '../lib/logger';
import { closeRedis, createRedis } from '../lib/redis';
import { createSandboxClient, createSlackSandbox } from '../sandbox/slack';
import { num, runBench } from './lib/bench';
import { REDIS_URL } from './lib/procs';
import { firingFor } from './lib/stack-env';
import { round, sleep, summary, until } from './lib/stats';
import { deleteKeysByPrefix } from './redis-cleanup';

const BOT_TOKEN = 'xoxb-bench-actions';
/** Incidents clicked in turn (see the dedupe note in the bench). */
const INCIDENTS = 15;
const SIGNING_SECRET = 'bench-signing-secret-0123456789';
const WEBHOOK_TOKEN = 'bench-webhook-token-0123456789';

runBench('actions', async (args) => {
  const clicks = Math.round(num(args, 'clicks', 50, 1000));
  const jobs = Math.round(num(args, 'jobs', 5000, 100_000));
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
  const bot = createBotApp(env, { redis, logger: silentLogger(), escalation: false });
  const botUrl = (await bot.start()).url;
  const sandbox = createSandboxClient(`http://127.0.0.1:${slackPort}`);
  const started = new Map<string, number>();
  let onStart: ((id: string) => void) | undefined;
  const worker = new Worker(
    QueueName.RunbookActions,
    async (job) => {
      started.set(job.id!, performance.now());
      onStart?.(job.id!);
    },
    { connection: redis.duplicate(), prefix, concurrency: 4 },
  );
  const queue = new Queue(QueueName.RunbookActions, { connection: redis, prefix });
  try {
    // Identical requests (same person, action, incident) within 10 s are one (the action service's
    // dedupe window): 15 incidents x 2 people, clicked in turn every 500 ms, repeat a pair after 15 s.
    // (With 10 incidents a pair came round after exactly 10 s, at the window's edge: a click or two was
    // merged into the one before it, and started no job.)
    const roots: Array<{ channel: string; ts: string }> = [];
    for (let g = 0; g < INCIDENTS; g += 1) {
      const channel = g % 2 === 0 ? 'ops-critical' : 'ops-alerts';
      const res = await fetch(`${botUrl}/alertmanager/webhook`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${WEBHOOK_TOKEN}` },
        body: JSON.stringify(firingFor(`BenchActions${g}`, { severity: g % 2 === 0 ? 'critical' : 'warning', fingerprint: (g + 1).toString(16).padStart(16, '0') })),
      });
      const { incident } = (await res.json()) as { incident: string };
      const root = await until(async () => (await sandbox.history(channel)).find((m) => m.text.includes(`${incident},`)), 30_000, 20, 'root message');
      roots.push({ channel, ts: root.ts });
    }
    await sleep(1000); // the diagnostics queued at open run (and are ignored) before the first click
    const latencies: number[] = [];
    let refused = 0;
    const people = ['bob', 'alice'];
    for (let i = 0; i < clicks; i += 1) {
      const jobStarted = new Promise<number>((resolve) => (onStart = () => resolve(performance.now())));
      const root = roots[i % roots.length]!;
      const t = performance.now();
      const r = await sandbox.click({ user: people[Math.floor(i / roots.length) % people.length]!, channel: root.channel, ts: root.ts, action_id: 'runbook_health_check' });
      if (!r.ok) refused += 1;
      const at = await Promise.race([jobStarted, sleep(5000).then(() => NaN)]);
      if (Number.isFinite(at)) latencies.push(at - t);
      await sleep(Math.max(0, 500 - (performance.now() - t)));
    }
    onStart = undefined;
    const s = summary(latencies);

    // The queue alone: no-op jobs through the same worker.
    const before = started.size;
    const t0 = performance.now();
    for (let i = 0; i < jobs; i += 500) {
      await queue.addBulk(Array.from({ length: Math.min(500, jobs - i) }, (_, k) => ({ name: 'bench_noop', data: { n: i + k }, opts: { jobId: `bench-noop-${i + k}`, removeOnComplete: true } })));
    }
    await until(async () => started.size - before >= jobs, 120_000, 20, 'every no-op job');
    const seconds = (performance.now() - t0) / 1000;
    return {
      figures: {
        clicks,
        'clicks refused': refused,
        'jobs started': s.n,
        'click → job start p50': round(s.p50),
        'click → job start p99': round(s.p99),
        'click → job start max': round(s.max),
        'no-op jobs': jobs,
        'no-op jobs/s': round(jobs / seconds, 0),
      },
      units: { 'click → job start p50': 'ms', 'click → job start p99': 'ms', 'click → job start max': 'ms' },
      targets: [
        { figure: 'click → job start p50', op: '<', limit: 50, unit: 'ms' },
        { figure: 'jobs started', op: '==', limit: clicks },
      ],
      notes: ['job start = a bench-side no-op BullMQ Worker (concurrency 4) on the real runbook-actions queue; no-op jobs/s = the queue with an empty handler, added in bulks of 500'],
    };
  } finally {
    await worker.close();
    await queue.close();
    await bot.stop();
    await slack.stop();
    await deleteKeysByPrefix(redis, prefix);
    await closeRedis(redis);
  }
}, 400);
