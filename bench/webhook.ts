/**
 * bench webhook: sustained Alertmanager deliveries/s and latency at the real bot
 * (`tsx bot/main.ts`, real Redis, the sandbox Slack), driven by autocannon over
 * keep-alive HTTP on loopback. Two phases, each after a warm-up:
 *   - repeats: the same known group delivered again and again (auth, parse, validation,
 *     the ingest Lua finding the open incident, dedupe of its alert, the outbox's coalesced edit);
 *   - new groups: every request a distinct groupKey and fingerprint (a new incident each:
 *     the ingest opening it, the root post queued, escalation planned, diagnostics queued).
 *
 *   npm run bench -- webhook [--seconds 10] [--connections 16] [--warmup 2] [--profile]
 *
 * --profile: the bot writes a V8 CPU profile to .tmp/bench/profiles/ (read it with bench/profile-summary.ts).
 *
 * Targets on 2 cores: repeats >= 3,000/s with p99 < 30 ms; new groups >= 1,000/s with p99 < 50 ms.
 * The load tool runs in this process and shares the two cores with the bot and Redis.
 */
import path from 'node:path';
import autocannon from 'autocannon';
import { num, runBench } from './lib/bench';
import { RESULTS_DIR } from './lib/results';
import { postAlert, startStack, STACK_SECRETS } from './lib/procs';
import { firingFor } from './lib/stack-env';
import { round } from './lib/stats';

interface Phase {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  non2xx: number;
  errors: number;
}

async function cannon(url: string, seconds: number, connections: number, body: () => string): Promise<Phase> {
  const result = await autocannon({
    url,
    method: 'POST',
    connections,
    duration: seconds,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${STACK_SECRETS.ALERTMANAGER_WEBHOOK_TOKEN}` },
    requests: [{ setupRequest: (req) => ({ ...req, body: body() }) }],
  });
  return {
    rps: round(result.requests.total / (result.duration || seconds), 0),
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

runBench('webhook', async (args) => {
  const seconds = num(args, 'seconds', 10, 120);
  const connections = Math.round(num(args, 'connections', 16, 512));
  const warmup = num(args, 'warmup', 2, 30);
  const profileDir = path.join(RESULTS_DIR, 'profiles');
  const stack = await startStack(['bot'], {}, args.profile ? { cpuProfileDir: profileDir, profile: ['bot'] } : {});
  try {
    const url = stack.url('bot', '/alertmanager/webhook');
    // Repeats: one known group (its alert already recorded), sent as Alertmanager resends it.
    const known = JSON.stringify(firingFor('BenchWebhookKnown'));
    const first = await postAlert(stack, JSON.parse(known));
    if (first.status !== 200) throw new Error(`the bot answered ${first.status} to the first delivery`);
    await cannon(url, warmup, connections, () => known);
    const repeats = await cannon(url, seconds, connections, () => known);

    // New groups: a distinct groupKey (and fingerprint) per request.
    let n = 0;
    const fresh = () => {
      n += 1;
      return JSON.stringify(firingFor(`BenchWebhookNew${n}`, { fingerprint: n.toString(16).padStart(16, '0') }));
    };
    await cannon(url, warmup, connections, fresh);
    const news = await cannon(url, seconds, connections, fresh);
    return {
      figures: {
        'repeats deliveries/s': repeats.rps,
        'repeats p50': repeats.p50,
        'repeats p99': repeats.p99,
        'repeats non-2xx + errors': repeats.non2xx + repeats.errors,
        'new groups deliveries/s': news.rps,
        'new groups p50': news.p50,
        'new groups p99': news.p99,
        'new groups non-2xx + errors': news.non2xx + news.errors,
        'incidents opened': n + 1,
      },
      units: { 'repeats p50': 'ms', 'repeats p99': 'ms', 'new groups p50': 'ms', 'new groups p99': 'ms' },
      targets: [
        { figure: 'repeats deliveries/s', op: '>=', limit: 3000 },
        { figure: 'repeats p99', op: '<', limit: 30, unit: 'ms' },
        { figure: 'repeats non-2xx + errors', op: '==', limit: 0 },
        { figure: 'new groups deliveries/s', op: '>=', limit: 1000 },
        { figure: 'new groups p99', op: '<', limit: 50, unit: 'ms' },
        { figure: 'new groups non-2xx + errors', op: '==', limit: 0 },
      ],
      notes: [`${connections} keep-alive connections, ${seconds} s per phase after ${warmup} s warm-up; bot via tsx, autocannon in the bench process`],
    };
  } finally {
    await stack.stop();
  }
}, 300);
