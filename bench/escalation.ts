/**
 * bench escalation: 1,000 open incidents, each with its policy's steps pending as BullMQ
 * delayed jobs, on a compressed clock (the engine's timeScale, ESCALATION_TIME_SCALE in
 * production). Wired by tests/integration/escalation-harness.ts as bot/app.ts wires it:
 * real Redis, the incident store, the Slack outbox against the sandbox (real rate limits),
 * the notifier and one engine (concurrency as in production). Incidents are opened
 * through the store (root posts queued) and told to the engine; each step records its
 * lag behind its due time on the timeline (`lagMs`, the escalation_step_lag_seconds figure).
 *
 *   npm run bench -- escalation [--incidents 1000] [--time-scale 0.01] [--width 20] [--policy high]
 *
 * Incidents are opened `--width` at a time; every policy's first step is due at once (at open),
 * the later ones (15 m and 45 m, then a repeat after 1 h, scaled: 9 s, 27 s, 36 s...) while
 * all 1,000 incidents are open. Reported over all steps and over the steps due after the last
 * incident was opened (the 1,000-open-incidents case without the opening burst).
 *
 * Target: p99 lag < 250 ms.
 */
import { firingFor } from './lib/stack-env';
import { createEscalationHarness } from '../tests/integration/escalation-harness';
import type { Priority } from '../lib/ops-config';
import { num, runBench } from './lib/bench';
import { pool, round, sleep, summary } from './lib/stats';

runBench('escalation', async (args) => {
  const n = Math.round(num(args, 'incidents', 1000, 10_000));
  const timeScale = num(args, 'time-scale', 0.01, 1);
  const width = Math.round(num(args, 'width', 20, 200));
  const policy = args.policy ?? 'high';
  const priority: Priority = 'P2';
  const h = await createEscalationHarness({ timeScale });
  try {
    const engine = h.engine();
    await engine.start();
    const t0 = performance.now();
    const ids = await pool(
      Array.from({ length: n }, (_, i) => i),
      width,
      async (i) => {
        const payload = firingFor(`EscalationBench${i}`, { fingerprint: (i + 1).toString(16).padStart(16, '0') });
        const result = await h.store.ingest(payload, {
          priority,
          priorityRule: 'bench',
          policy,
          route: `esc-${(i % 24) + 1}`,
          title: `EscalationBench${i}`,
          summary: 'escalation bench',
          labels: payload.commonLabels,
          generatorURL: '',
          runbookUrl: '',
          externalURL: '',
        });
        await h.notifier.sync(result.incidentId);
        await engine.opened(result.incidentId);
        return result.incidentId;
      },
    );
    const openedMs = performance.now() - t0;
    const openedAt = Date.now();
    const pendingAtOpen = (await h.queue.getJobCounts('delayed')).delayed ?? 0;
    // Wait until no escalation job is left (every step and the SLA timer fired).
    const deadline = performance.now() + 300_000;
    for (;;) {
      const c = await h.queue.getJobCounts('delayed', 'waiting', 'active', 'prioritized');
      if (Object.values(c).every((v) => v === 0)) break;
      if (performance.now() > deadline) throw new Error(`escalation jobs still queued: ${JSON.stringify(c)}`);
      await sleep(200);
    }
    const doneMs = performance.now() - t0;
    const lags: number[] = [];
    const laterLags: number[] = [];
    for (const id of ids) {
      for (const e of await h.store.timeline(id)) {
        if (e.type !== 'escalation_step') continue;
        lags.push(Number(e.lagMs));
        if (new Date(e.dueAt!).getTime() > openedAt) laterLags.push(Number(e.lagMs));
      }
    }
    const s = summary(lags);
    const later = summary(laterLags);
    const stats = await h.ratelimited();
    return {
      figures: {
        incidents: n,
        'steps fired': s.n,
        'delayed jobs pending after opening': pendingAtOpen,
        'time to open all': Math.round(openedMs),
        'time until every job fired': Math.round(doneMs),
        'lag p50': round(s.p50),
        'lag p99': round(s.p99),
        'lag max': round(s.max),
        'steps due after every incident was open': later.n,
        'their lag p50': round(later.p50),
        'their lag p99': round(later.p99),
        'their lag max': round(later.max),
        '429s': Object.values(stats).reduce((a, b) => a + b, 0),
      },
      units: { 'time to open all': 'ms', 'time until every job fired': 'ms', 'lag p50': 'ms', 'lag p99': 'ms', 'lag max': 'ms', 'their lag p50': 'ms', 'their lag p99': 'ms', 'their lag max': 'ms' },
      targets: [{ figure: 'lag p99', op: '<', limit: 250, unit: 'ms' }],
      notes: [`policy ${policy} (${priority}), time scale ${timeScale}, opened ${width} at a time; one engine; root posts and step replies go through the outbox to the sandbox`],
    };
  } finally {
    await h.close();
  }
}, 600);
