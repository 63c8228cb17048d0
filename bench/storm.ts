/**
 * bench storm: 10,000 alerts in 500 groups (20 alerts each) POSTed to the real bot
 * (`tsx bot/main.ts` with the default ops config: storm digest at 10 new incidents a
 * minute per channel), against the sandbox Slack with its real rate limits. As
 * Alertmanager sends a storm: each group's first half, then the whole group, then a
 * resend, 20 deliveries in flight. Measured: time until every delivery is accepted,
 * time until every group is visible in Slack (its incident's root or digest message is
 * in the channel), Slack calls and 429s (GET /_sandbox/stats), alerts lost (alerts recorded
 * under the incidents in Redis vs sent) and the bot's peak RSS.
 *
 *   npm run bench -- storm [--groups 500] [--per-group 20] [--width 20]
 */
import { createIncidentStore } from '../bot/incidents/incident-store';
import { createSandboxClient } from '../sandbox/slack';
import { num, runBench } from './lib/bench';
import { postAlert, rssSampler, startStack } from './lib/procs';
import { firingFor } from './lib/stack-env';
import { mb, pool, sleep } from './lib/stats';

const SEVERITIES = ['critical', 'high', 'warning', 'info'];
const fingerprint = (g: number, k: number) => `${g.toString(16).padStart(8, '0')}${k.toString(16).padStart(8, '0')}`;

runBench('storm', async (args) => {
  const groups = Math.round(num(args, 'groups', 500, 5000));
  const perGroup = Math.round(num(args, 'per-group', 20, 100));
  const width = Math.round(num(args, 'width', 20, 200));
  const stack = await startStack(['bot']);
  const rss = rssSampler(() => stack.rss('bot'), 100);
  try {
    const sandbox = createSandboxClient(stack.url('slack'));
    const store = createIncidentStore({ redis: stack.redis, prefix: stack.prefix });
    const bodies = Array.from({ length: groups }, (_, g) => {
      const p = firingFor(`Storm${g}`, { severity: SEVERITIES[g % SEVERITIES.length]! });
      const template = p.alerts[0]!;
      p.alerts = Array.from({ length: perGroup }, (_, k) => ({ ...template, labels: { ...template.labels, instance: `node-${k}` }, fingerprint: fingerprint(g, k) }));
      return p;
    });
    const half = (p: (typeof bodies)[number]) => ({ ...p, alerts: p.alerts.slice(0, Math.ceil(perGroup / 2)) });
    const t0 = performance.now();
    let refused = 0;
    const send = async (b: unknown) => {
      const r = await postAlert(stack, b);
      if (r.status !== 200) refused += 1;
      return r.incident;
    };
    const ids = await pool(bodies, width, (b) => send(half(b)));
    await pool(bodies, width, (b) => send(b));
    await pool(bodies, width, (b) => send(b));
    const acceptedMs = performance.now() - t0;

    // Visible: every incident's root (its own, or the storm digest it is listed in) is in its channel.
    const unique = [...new Set(ids)];
    let visibleMs = NaN;
    const deadline = performance.now() + 600_000;
    while (performance.now() < deadline) {
      const history = new Set([...(await sandbox.history('ops-critical', 100_000)), ...(await sandbox.history('ops-alerts', 100_000))].map((m) => m.ts));
      const incidents = await Promise.all(unique.map((id) => store.get(id)));
      if (incidents.every((i) => i?.rootTs && history.has(i.rootTs))) {
        visibleMs = performance.now() - t0;
        break;
      }
      await sleep(250);
    }
    let recorded = 0;
    for (const id of unique) recorded += Object.keys(await store.alerts(id)).length;
    // Let the tail of edits (digest updates, replies) reach Slack before counting calls.
    await sleep(3000);
    const stats = await sandbox.stats();
    const calls = Object.fromEntries(Object.entries(stats.calls).map(([m, c]) => [m, c.total]));
    const limited = Object.values(stats.ratelimited).reduce((s, c) => s + c.total, 0);
    const roots = (await sandbox.history('ops-critical', 100_000)).length + (await sandbox.history('ops-alerts', 100_000)).length;
    return {
      figures: {
        alerts: groups * perGroup,
        groups,
        deliveries: 3 * groups,
        'deliveries refused': refused,
        'incidents opened': unique.length,
        'time to accept': Math.round(acceptedMs),
        'time until every group visible': Math.round(visibleMs),
        'top-level messages in Slack': roots,
        'Slack calls': Object.values(calls).reduce((a, b) => a + b, 0),
        'Slack calls by method': JSON.stringify(calls),
        '429s': limited,
        'alerts lost': groups * perGroup - recorded,
        'bot RSS peak': mb(rss.stop()),
      },
      units: { 'time to accept': 'ms', 'time until every group visible': 'ms', 'bot RSS peak': 'MB' },
      targets: [
        { figure: '429s', op: '==', limit: 0 },
        { figure: 'alerts lost', op: '==', limit: 0 },
        { figure: 'incidents opened', op: '==', limit: groups },
      ],
      notes: [`${width} deliveries in flight; half of each group, the whole group, a resend; default storm threshold (digests)`],
    };
  } finally {
    rss.stop();
    await stack.stop();
  }
}, 900);
