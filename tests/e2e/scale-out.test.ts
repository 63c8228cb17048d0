/**
 * Scale-out on one machine: two bot processes behind one URL (a round-robin
 * proxy, as a load balancer or a Kubernetes Service does), two worker
 * processes, one MCP server, the sandbox Slack, one Redis. An alert storm
 * (each group delivered several times, spread over both replicas, as
 * Alertmanager HA peers and resends do) and a round of health-check actions
 * from /ops: no duplicate Slack message, escalation step or action.
 * Escalation runs at ESCALATION_TIME_SCALE 0.002 with short policies, so every
 * step and SLA clock of every incident comes due during the test.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Queue } from 'bullmq';
import { parse, stringify } from 'yaml';
import { QueueName } from '../../lib/contracts';
import { closeRedis } from '../../lib/redis';
import type { AlertmanagerWebhook } from '../../bot/alerts/alertmanager-payload';
import { createSandboxClient, type SlackMessage } from '../../sandbox/slack';
import { buildInto, freeStackPorts, healthUrl, ROOT, spawnProcess, stackEnv, waitHealthy, type RunningProcess } from '../helpers/built-processes';
import { firingFor } from '../helpers/fixtures';
import { eventually, freePort } from '../helpers/ports';
import { deletePrefix, testPrefix, testRedis, TEST_REDIS_URL } from '../helpers/redis';
import { STACK_SECRETS } from '../helpers/stack';

jest.setTimeout(480_000);

const GROUPS = 8;
const ALERTS = 3;
const SEVERITIES = ['critical', 'high', 'warning', 'info'] as const;
const PRIORITY = { critical: 'P1', high: 'P2', warning: 'P3', info: 'P4' } as const;
/** Steps of the test policies below, per priority, and the SLA breaches expected (nobody acknowledges). */
const STEPS = { P1: 2, P2: 2, P3: 2, P4: 1 } as const;
const BREACHES = { P1: 1, P2: 1, P3: 1, P4: 1 } as const;

/** The example ops config with short, non-repeating policies and a low storm threshold. */
function testOpsConfig(file: string): void {
  const config = parse(fs.readFileSync(path.join(ROOT, 'config/ops.example.yaml'), 'utf8')) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  config.priority.response_times = { P1: '15m', P2: '30m', P3: '30m', P4: '30m' };
  const two = (first: string, second: string) => ({ steps: [{ after: first, notify: 'oncall_primary' }, { after: second, notify: 'oncall_secondary' }] });
  config.escalation.policies = {
    ...config.escalation.policies,
    critical: two('0m', '5m'),
    high: two('0m', '10m'),
    medium: two('5m', '10m'),
    low: { steps: [{ after: '15m', notify: 'oncall_primary' }] },
  };
  config.storm = { ...config.storm, threshold_per_minute: 2 };
  fs.writeFileSync(file, stringify(config));
}

/** A round-robin HTTP proxy on loopback: one URL for both bot replicas. */
function roundRobin(targets: number[]): { server: http.Server; hits: number[] } {
  const hits = targets.map(() => 0);
  let next = 0;
  const server = http.createServer((req, res) => {
    const i = next++ % targets.length;
    hits[i]! += 1;
    const up = http.request({ host: '127.0.0.1', port: targets[i], method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(up);
  });
  return { server, hits };
}

function group(g: number): AlertmanagerWebhook {
  const p = firingFor(`Scale${g}`, { severity: SEVERITIES[g % SEVERITIES.length]! });
  const t = p.alerts[0]!;
  p.alerts = Array.from({ length: ALERTS }, (_, k) => ({ ...t, labels: { ...t.labels, instance: `node-${k}` }, fingerprint: `${g.toString(16).padStart(8, '0')}${k.toString(16).padStart(8, '0')}` }));
  return p;
}

/** One event line of Slack: a storm digest's thread bundles several, each prefixed "*INC-n* · ". */
interface Line {
  thread: string;
  incident?: string;
  text: string;
}
function linesOf(messages: SlackMessage[]): Line[] {
  const incidentOfThread = new Map<string, string>();
  for (const m of messages) {
    const own = /\((INC-\d+), /.exec(m.text);
    if ((!m.thread_ts || m.thread_ts === m.ts) && own) incidentOfThread.set(m.ts, own[1]!);
  }
  return messages.flatMap((m) =>
    m.text.split('\n').map((l) => {
      const p = /^\*(INC-\d+)\* · (.*)$/.exec(l);
      const thread = m.thread_ts ?? m.ts;
      return { thread, incident: p?.[1] ?? incidentOfThread.get(thread), text: p ? p[2]! : l };
    }),
  );
}
/** Lines that report an event (they start with the bot's emoji), as opposed to the body of a report. */
const isEvent = (l: Line) => /^\P{ASCII}/u.test(l.text);

describe('two bot replicas behind one URL and two worker processes', () => {
  const prefix = testPrefix('scale');
  const procs: RunningProcess[] = [];
  let proxy: { server: http.Server; hits: number[] };
  let proxyUrl: string;
  let ports: Awaited<ReturnType<typeof freeStackPorts>>;
  let workerPorts: number[];
  const opsConfig = path.join(ROOT, '.tmp', `${prefix}-ops.yaml`);
  const distRel = path.join('.tmp', `dist-${prefix}`);

  beforeAll(async () => {
    fs.mkdirSync(path.dirname(opsConfig), { recursive: true });
    testOpsConfig(opsConfig);
    // Built once and run as production runs it: starts fast and small, even on a busy machine.
    buildInto(distRel);
    ports = await freeStackPorts();
    const bot2 = await freePort();
    proxy = roundRobin([ports.bot, bot2]);
    await new Promise<void>((r) => proxy.server.listen(0, '127.0.0.1', () => r()));
    proxyUrl = `http://127.0.0.1:${(proxy.server.address() as { port: number }).port}`;
    const env = stackEnv(ports, TEST_REDIS_URL, prefix, { OPS_CONFIG: opsConfig, ESCALATION_TIME_SCALE: '0.002', SLACK_REQUEST_URL: `${proxyUrl}/slack/events` });
    const runtime = { kind: 'dist' as const, dir: path.join(ROOT, distRel) };
    const start = async (name: 'sandbox' | 'server' | 'bot' | 'workers', extra: NodeJS.ProcessEnv, health: string) => {
      const p = spawnProcess(name, runtime, { ...env, ...extra });
      procs.push(p);
      await waitHealthy(p, health, 90_000);
    };
    await start('sandbox', {}, healthUrl('sandbox', ports));
    await start('server', {}, healthUrl('server', ports));
    await start('bot', {}, `http://127.0.0.1:${ports.bot}/health`);
    await start('bot', { BOT_PORT: String(bot2) }, `http://127.0.0.1:${bot2}/health`);
    await start('workers', {}, `http://127.0.0.1:${ports.workers}/health`);
    const workers2 = await freePort(); // taken last: a port held free for minutes may be gone on a busy machine
    workerPorts = [ports.workers, workers2];
    await start('workers', { WORKERS_METRICS_PORT: String(workers2) }, `http://127.0.0.1:${workers2}/health`);
  }, 400_000);

  afterAll(async () => {
    for (const p of procs.reverse()) await p.stop();
    await new Promise((r) => proxy?.server.close(r));
    const redis = testRedis();
    await deletePrefix(redis, prefix);
    await closeRedis(redis);
    fs.rmSync(opsConfig, { force: true });
    fs.rmSync(path.join(ROOT, distRel), { recursive: true, force: true });
  });

  it('takes a storm and a round of actions with no duplicate message, escalation step or action', async () => {
    const sandbox = createSandboxClient(`http://127.0.0.1:${ports.slack}`, { token: STACK_SECRETS.SLACK_BOT_TOKEN });
    const deliver = async (body: AlertmanagerWebhook) => {
      const res = await fetch(`${proxyUrl}/alertmanager/webhook`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${STACK_SECRETS.ALERTMANAGER_WEBHOOK_TOKEN}` },
        body: JSON.stringify(body),
      });
      expect(res.status).toBe(200);
      return ((await res.json()) as { incident: string }).incident;
    };

    // The storm: per group, its first alerts twice at once (two HA peers), the grown group twice at once, a resend.
    const groups = Array.from({ length: GROUPS }, (_, g) => group(g));
    const ids = await Promise.all(
      groups.map(async (p) => {
        const first = { ...p, alerts: p.alerts.slice(0, 2) };
        const a = await Promise.all([deliver(first), deliver(first)]);
        const b = await Promise.all([deliver(p), deliver(p)]);
        const c = await deliver(p);
        expect(new Set([...a, ...b, c]).size).toBe(1);
        return c;
      }),
    );
    expect(new Set(ids).size).toBe(GROUPS);
    expect(proxy.hits.every((h) => h > GROUPS)).toBe(true); // both replicas took deliveries

    // Every incident shows once Slack has caught up: its own root, or a line of a storm digest.
    const channels = ['ops-critical', 'ops-alerts'];
    const shownIn = (tops: SlackMessage[], id: string) =>
      tops.filter((m) => m.text.includes(`${id},`) || (m.text.startsWith('Alert storm digest') && JSON.stringify(m.blocks ?? '').includes(`*${id}*`)));
    await eventually(async () => {
      const tops = (await Promise.all(channels.map((c) => sandbox.history(c)))).flat();
      return ids.every((id) => shownIn(tops, id).length > 0);
    }, 300_000, 1000);

    // The round of actions: /ops run health_check on every P3 and P4 incident, through the same URL.
    const acted = ids.filter((_, g) => g % 4 >= 2);
    for (const id of acted) {
      const r = await sandbox.command({ user: 'alice', channel: 'ops-alerts', command: '/ops', text: `run health_check ${id}` });
      expect(r).toMatchObject({ ok: true, status: 200 });
    }
    const queued = (await sandbox.ephemeral({ user: 'alice' })).filter((e) => JSON.stringify(e).includes('is queued (request'));
    expect(queued).toHaveLength(acted.length);

    // Wait until everything that was asked for has happened, and every queue is empty.
    const everything = async (): Promise<SlackMessage[]> => {
      const out: SlackMessage[] = [];
      for (const c of channels) {
        for (const m of await sandbox.history(c)) {
          out.push(m);
          out.push(...(await sandbox.replies(c, m.ts)).slice(1));
        }
      }
      return out;
    };
    const priorityOf = (g: number) => PRIORITY[SEVERITIES[g % SEVERITIES.length]!];
    const expectedSteps = ids.reduce((n, _, g) => n + STEPS[priorityOf(g)], 0);
    const expectedBreaches = ids.reduce((n, _, g) => n + BREACHES[priorityOf(g)], 0);
    const queues = [QueueName.Escalations, QueueName.RunbookActions, QueueName.SlackOutbox].map((q) => new Queue(q, { connection: { url: TEST_REDIS_URL }, prefix }));
    let messages: SlackMessage[] = [];
    try {
      await eventually(
        async () => {
          messages = await everything();
          const lines = linesOf(messages);
          const steps = lines.filter((l) => l.text.startsWith('🔔')).length;
          const breaches = lines.filter((l) => l.text.startsWith('⏱️ SLA breached')).length;
          const results = lines.filter((l) => /Health check \(full\) for INC-/.test(l.text)).length;
          if (steps < expectedSteps || breaches < expectedBreaches || results < acted.length) throw new Error(`steps ${steps}/${expectedSteps}, breaches ${breaches}/${expectedBreaches}, results ${results}/${acted.length}`);
          for (const q of queues) {
            const c = await q.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children');
            const busy = Object.values(c).reduce((a, b) => a + b, 0);
            if (busy) throw new Error(`${q.name}: ${JSON.stringify(c)}`);
          }
          return true;
        },
        300_000,
        2000,
      );
      messages = await everything();
    } catch (err) {
      // What a failure needs to be understood: the queues, Slack's view and the processes' own words.
      for (const q of queues) console.log(`${q.name}: ${JSON.stringify(await q.getJobCounts())}`);
      console.log(`slack stats: ${JSON.stringify(await sandbox.stats())}`);
      console.log(linesOf(messages).filter(isEvent).map((l) => `${l.thread} ${l.incident ?? ''} ${l.text.slice(0, 140)}`).join('\n'));
      for (const p of procs) console.log(`--- ${p.name} ${p.pid}\n${p.output().slice(-3000)}`);
      throw err;
    } finally {
      for (const q of queues) await q.close();
    }

    // Every incident shows exactly once.
    const tops = (await Promise.all(channels.map((c) => sandbox.history(c)))).flat();
    for (const id of ids) expect([id, shownIn(tops, id).length]).toEqual([id, 1]);
    expect(tops.some((m) => m.text.startsWith('Alert storm digest'))).toBe(true); // the storm engaged digest mode

    // No event line twice in a thread, for the same incident.
    const lines = linesOf(messages);
    const seen = new Map<string, number>();
    for (const l of lines.filter(isEvent)) seen.set(`${l.thread}|${l.incident}|${l.text}`, (seen.get(`${l.thread}|${l.incident}|${l.text}`) ?? 0) + 1);
    expect([...seen].filter(([, n]) => n > 1)).toEqual([]);

    // Each escalation step once per incident, exactly the policy's steps; each SLA breach once per incident.
    for (const [g, id] of ids.entries()) {
      const steps = lines
        .filter((l) => l.text.startsWith('🔔') && l.text.includes(` ${id} is not acknowledged`))
        .map((l) => /Escalation step (\d+) of \d+, round (\d+)/.exec(l.text)?.slice(1).join('.'));
      expect([id, steps.sort()]).toEqual([id, Array.from({ length: STEPS[priorityOf(g)] }, (_, i) => `${i + 1}.1`)]);
      const breaches = lines.filter((l) => l.text.startsWith('⏱️ SLA breached') && l.incident === id);
      expect([id, breaches.length]).toEqual([id, BREACHES[priorityOf(g)]]);
    }

    // Each action asked once, run once by one of the two workers, answered once; the server saw each call once.
    for (const id of acted) {
      expect([id, lines.filter((l) => l.text.includes(`Health check (full) for ${id}, asked by <@U0ALICE>`)).length]).toEqual([id, 1]);
      expect([id, lines.filter((l) => l.incident === id && l.text.includes('<@U0ALICE> asked for the health check (full) (request `')).length]).toEqual([id, 1]);
    }
    // The runbook's diagnostics ran at open too (a full health check each): once per incident, not per replica.
    const diagnosed = lines.filter((l) => /Health check \(full\) for INC-\d+, asked by diagnostics/.test(l.text)).map((l) => l.incident);
    expect(new Set(diagnosed).size).toBe(diagnosed.length);
    const metric = async (url: string, re: RegExp) =>
      (await (await fetch(url)).text())
        .split('\n')
        .filter((l) => re.test(l))
        .reduce((s, l) => s + Number(l.split(' ').pop()), 0);
    const perWorker = await Promise.all(workerPorts.map((port) => metric(`http://127.0.0.1:${port}/metrics`, /^runbook_jobs_total\{.*action="health_check"/)));
    expect(perWorker.reduce((a, b) => a + b, 0)).toBe(acted.length + diagnosed.length);
    const serverCalls = await metric(`http://127.0.0.1:${ports.server}/metrics`, /^mcp_requests_total\{.*tool="ops_health_check"/);
    expect(serverCalls).toBe(acted.length + diagnosed.length);
    console.log(
      `scale-out: ${GROUPS} groups × ${5} deliveries over 2 bot replicas (proxy hits ${proxy.hits.join('/')}), ${acted.length} actions over 2 workers ` +
        `(jobs per worker ${perWorker.join('/')}); ${messages.length} Slack messages, ${expectedSteps} escalation steps, ${expectedBreaches} SLA breaches, no duplicate`,
    );
  });
});
