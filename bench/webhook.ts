/**
 * bench webhook: sustained Alertmanager deliveries/s and latency at the real bot
 * (`tsx bot/main.ts`, real Redis, the sandbox Slack), driven by autocannon over
 * keep-alive HTTP on loopback. Two phases, each after a warm-up:
 *   - repeats: the same known group delivered again and again (auth, parse, validation,
 *     the ingest Lua finding the open incident, dedupe of its alert, the outbox's coalesced edit);
 *   - new groups: every request a distinct groupKey and fingerprint (a new incident each: the ingest
 *     storing it and recording its opening as owed; the answer does not wait for the opening, which the
 *     bot runs next: root post queued, escalation planned, diagnostics queued). After the phase, the
 *     bench waits for the openings set to empty and reports how long that took.
 *
 *   npm run bench -- webhook [--seconds 10] [--connections 16] [--warmup 2] [--phase both|repeats|new] [--profile]
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
import { createIncidentStore } from '../bot/incidents/incident-store';

/** How long the bench waits, after the new-groups phase, for every opening to complete. */
const DRAIN_LIMIT_MS = 180_000;

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
  const phase = String(args.phase ?? 'both');
  if (!['both', 'repeats', 'new'].includes(phase)) throw new Error(`--phase is both, repeats or new (got ${phase})`);
  const profileDir = path.join(RESULTS_DIR, 'profiles');
  const stack = await startStack(['bot'], {}, args.profile ? { cpuProfileDir: profileDir, profile: ['bot'] } : {});
  try {
    const url = stack.url('bot', '/alertmanager/webhook');
    const figures: Record<string, number> = {};
    if (phase !== 'new') {
      // Repeats: one known group (its alert already recorded), sent as Alertmanager resends it.
      const known = JSON.stringify(firingFor('BenchWebhookKnown'));
      const first = await postAlert(stack, JSON.parse(known));
      if (first.status !== 200) throw new Error(`the bot answered ${first.status} to the first delivery`);
      await cannon(url, warmup, connections, () => known);
      const repeats = await cannon(url, seconds, connections, () => known);
      Object.assign(figures, {
        'repeats deliveries/s': repeats.rps,
        'repeats p50': repeats.p50,
        'repeats p99': repeats.p99,
        'repeats non-2xx + errors': repeats.non2xx + repeats.errors,
      });
    }
    if (phase !== 'repeats') {
      // New groups: a distinct groupKey (and fingerprint) per request.
      let n = 0;
      const fresh = () => {
        n += 1;
        return JSON.stringify(firingFor(`BenchWebhookNew${n}`, { fingerprint: n.toString(16).padStart(16, '0') }));
      };
      const { keys } = createIncidentStore({ redis: stack.redis, prefix: stack.prefix });
      const freshFrom = Date.now();
      await cannon(url, warmup, connections, fresh);
      const news = await cannon(url, seconds, connections, fresh);
      // The webhook answers once the incident is stored; its opening (root queued, escalation planned, diagnostics
      // queued) runs after, from the openings set. How far behind it was, and how long it took to catch up.
      const phaseEnd = Date.now();
      const waiting = await stack.redis.zcard(keys.openings);
      let left = waiting;
      while (left > 0 && Date.now() - phaseEnd < DRAIN_LIMIT_MS) {
        await new Promise((r) => setTimeout(r, 100));
        left = await stack.redis.zcard(keys.openings);
      }
      const drainedAfter = Date.now() - phaseEnd;
      const created = Number(await stack.redis.zcount(keys.all, freshFrom, '+inf'));
      Object.assign(figures, {
        'new groups deliveries/s': news.rps,
        'new groups p50': news.p50,
        'new groups p99': news.p99,
        'new groups non-2xx + errors': news.non2xx + news.errors,
        'incidents opened': created,
        'openings waiting at the end of the phase': waiting,
        'openings left after the drain': left,
        'openings caught up after': round(drainedAfter / 1000, 1),
        'openings completed/s (warm-up to caught up)': left ? 0 : round(created / ((phaseEnd + drainedAfter - freshFrom) / 1000), 0),
      });
    }
    const targets = [
      { figure: 'repeats deliveries/s', op: '>=' as const, limit: 3000 },
      { figure: 'repeats p99', op: '<' as const, limit: 30, unit: 'ms' },
      { figure: 'repeats non-2xx + errors', op: '==' as const, limit: 0 },
      { figure: 'new groups deliveries/s', op: '>=' as const, limit: 1000 },
      { figure: 'new groups p99', op: '<' as const, limit: 50, unit: 'ms' },
      { figure: 'new groups non-2xx + errors', op: '==' as const, limit: 0 },
      { figure: 'openings left after the drain', op: '==' as const, limit: 0 },
    ].filter((t) => t.figure in figures);
    return {
      figures,
      units: { 'repeats p50': 'ms', 'repeats p99': 'ms', 'new groups p50': 'ms', 'new groups p99': 'ms', 'openings caught up after': 's' },
      targets,
      notes: [`${connections} keep-alive connections, ${seconds} s per phase after ${warmup} s warm-up (phase: ${phase}); bot via tsx, autocannon in the bench process`],
    };
  } finally {
    await stack.stop();
  }
}, 500);
