/**
 * bench memory: resident memory of each process idle, then of the bot holding 10,000
 * open alerts. The product's processes (`tsx <process>/main.ts`, as `npm start` runs them;
 * bench/idle-rss.ts compares `node dist/` with tsx) start against the sandbox with a fresh
 * Redis prefix; after 5 s idle each one's RSS is the median of 5 samples a second apart.
 * Then incidents are opened in steps of 1,000 (10 alerts each, so 10,000 open alerts at
 * the end) through the bot's webhook; after each step, 3 s to settle, the bot's RSS.
 * Growth per 1,000 incidents is the least-squares slope over the steps after the first, twice: of the RSS as
 * sampled (garbage not yet collected included, as production's is), and of the heap the bot keeps, read right
 * after a full GC the bench asks for (bench/lib/gc-on-signal.cjs, preloaded by NODE_OPTIONS; the GC comes
 * after the step's RSS sample).
 *
 *   npm run bench -- memory [--incidents 1000] [--alerts-per 10] [--step 100]
 */
import { num, runBench } from './lib/bench';
import { postAlert, startStack } from './lib/procs';
import { firingFor, type ProcessName } from './lib/stack-env';
import { mb, pool, round, sleep } from './lib/stats';

runBench('memory', async (args) => {
  const incidents = Math.round(num(args, 'incidents', 1000, 20_000));
  const perIncident = Math.round(num(args, 'alerts-per', 10, 100));
  const step = Math.round(num(args, 'step', 100, 20_000));
  const stack = await startStack(['server', 'bot', 'workers'], {}, { collectGarbage: true });
  try {
    await sleep(5000);
    const median = async (name: ProcessName) => {
      const xs: number[] = [];
      for (let i = 0; i < 5; i += 1) {
        xs.push(stack.rss(name));
        await sleep(1000);
      }
      return xs.sort((a, b) => a - b)[2]!;
    };
    const idle: Record<string, number> = {};
    for (const name of ['sandbox', 'server', 'bot', 'workers'] as ProcessName[]) idle[name] = await median(name);
    const idleKept = await stack.gc('bot');
    const points: Array<[number, number]> = [[0, idle.bot!]];
    const kept: Array<[number, number]> = [[0, idleKept.heapUsed]];
    let lastKept = idleKept;
    let opened = 0;
    while (opened < incidents) {
      const n = Math.min(step, incidents - opened);
      await pool(
        Array.from({ length: n }, (_, i) => opened + i),
        10,
        async (g) => {
          const p = firingFor(`Memory${g}`, { severity: 'warning' });
          const t = p.alerts[0]!;
          p.alerts = Array.from({ length: perIncident }, (_, k) => ({ ...t, labels: { ...t.labels, instance: `node-${k}` }, fingerprint: `${g.toString(16).padStart(8, '0')}${k.toString(16).padStart(8, '0')}` }));
          const r = await postAlert(stack, p);
          if (r.status !== 200) throw new Error(`webhook answered ${r.status}`);
        },
      );
      opened += n;
      await sleep(3000);
      points.push([opened, stack.rss('bot')]);
      lastKept = await stack.gc('bot');
      kept.push([opened, lastKept.heapUsed]);
    }
    // The slope over the steps after the first (the idle point is before start-up garbage is collected).
    const slopeOf = (all: Array<[number, number]>) => {
      const fit = all.slice(1);
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      const mx = mean(fit.map((p) => p[0]));
      const my = mean(fit.map((p) => p[1]));
      return fit.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0) / fit.reduce((s, [x]) => s + (x - mx) ** 2, 0);
    };
    const perThousand = (all: Array<[number, number]>) => round((slopeOf(all) * 1000) / 1024 / 1024, 1);
    return {
      figures: {
        'sandbox idle RSS': mb(idle.sandbox!),
        'server idle RSS': mb(idle.server!),
        'bot idle RSS': mb(idle.bot!),
        'workers idle RSS': mb(idle.workers!),
        [`bot RSS, ${incidents} incidents / ${incidents * perIncident} open alerts`]: mb(points[points.length - 1]![1]),
        'bot growth per 1,000 incidents': perThousand(points),
        'bot RSS by step': points.map(([x, y]) => `${x}:${mb(y)}`).join(' '),
        'bot heap kept after GC, idle': mb(idleKept.heapUsed),
        [`bot heap kept after GC, ${incidents} incidents`]: mb(lastKept.heapUsed),
        [`bot RSS after GC, ${incidents} incidents`]: mb(lastKept.rss),
        'bot heap kept per 1,000 incidents': perThousand(kept),
        'bot heap kept by step': kept.map(([x, y]) => `${x}:${mb(y)}`).join(' '),
      },
      units: {
        'sandbox idle RSS': 'MB', 'server idle RSS': 'MB', 'bot idle RSS': 'MB', 'workers idle RSS': 'MB',
        [`bot RSS, ${incidents} incidents / ${incidents * perIncident} open alerts`]: 'MB', 'bot growth per 1,000 incidents': 'MB',
        'bot heap kept after GC, idle': 'MB', [`bot heap kept after GC, ${incidents} incidents`]: 'MB', [`bot RSS after GC, ${incidents} incidents`]: 'MB',
        'bot heap kept per 1,000 incidents': 'MB',
      },
      notes: ['tsx runtime (the program process, not the tsx CLI wrapper); server and workers idle throughout', 'RSS sampled before the step\'s GC; heap kept = heapUsed right after two full GCs the bench asks for (SIGUSR2 to a bench-only preload)'],
    };
  } finally {
    await stack.stop();
  }
}, 600);
