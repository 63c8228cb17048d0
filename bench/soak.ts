/**
 * bench soak (not in the default set): the whole product (`tsx` server, bot, workers, and
 * the sandbox) under mixed traffic for --minutes (30 by default), then what grew.
 * Open-loop traffic, each stream at a fixed rate:
 *   - MCP `tools/call get_account_balance` at --mcp-rps (100: the low end of the
 *     operations guide's 100–500 requests/s baseline), JWT auth, over keep-alive;
 *   - Alertmanager webhooks at --webhook-rps (5): a new group one time in 10, else a
 *     repeat of one of the open groups, and one time in 10 a resolve;
 *   - clicks on a root's `runbook_health_check` (real jobs in the real workers) every 5 s;
 *   - `/ops status` commands every 2 s.
 * At start and end: RSS of each process, the heap each keeps (heapUsed right after a full GC the bench
 * asks for, bench/lib/gc-on-signal.cjs), Redis INFO memory and the keys under the run's
 * prefix counted by type and by key family (the key with ids and numbers folded).
 * `--retention 1m` runs the stack with an ops config whose retention (resolved incidents and the
 * ops audit) is that short, swept every 15 s: what the sweep bounds then stops growing.
 *
 *   npm run bench -- soak --minutes 30 [--retention 1m]
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { isDuration } from '../lib/duration';
import { DEFAULT_OPS_CONFIG_PATH } from '../lib/ops-config';
import { RESULTS_DIR } from './lib/results';
import { mintToken } from '../lib/jwt';
import { createSandboxClient } from '../sandbox/slack';
import { num, runBench } from './lib/bench';
import { postAlert, startStack, STACK_SECRETS, type BenchStack } from './lib/procs';
import { firingFor, resolvedVersionOf, type ProcessName } from './lib/stack-env';
import { mb, round, sleep, until } from './lib/stats';

const PROCS: ProcessName[] = ['sandbox', 'server', 'bot', 'workers'];

async function redisSnapshot(stack: BenchStack) {
  const info = await stack.redis.info('memory');
  const used = Number(/used_memory:(\d+)/.exec(info)?.[1] ?? NaN);
  const byType: Record<string, number> = {};
  const byFamily: Record<string, number> = {};
  let cursor = '0';
  do {
    const [next, keys] = await stack.redis.scan(cursor, 'MATCH', `${stack.prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length === 0) continue;
    const pipe = stack.redis.pipeline();
    for (const k of keys) pipe.type(k);
    const types = (await pipe.exec()) ?? [];
    keys.forEach((k, i) => {
      const type = String(types[i]?.[1]);
      byType[type] = (byType[type] ?? 0) + 1;
      const family = k
        .slice(stack.prefix.length + 1)
        .replace(/INC-\d+/g, 'INC-n')
        .replace(/[0-9a-f]{8,}/gi, 'x')
        .replace(/\b\d+\b/g, 'n');
      byFamily[family] = (byFamily[family] ?? 0) + 1;
    });
  } while (cursor !== '0');
  const total = Object.values(byType).reduce((a, b) => a + b, 0);
  return { usedMemory: used, keys: total, byType, byFamily };
}

runBench('soak', async (args) => {
  const minutes = num(args, 'minutes', 30, 240);
  const mcpRps = num(args, 'mcp-rps', 100, 1000);
  const webhookRps = num(args, 'webhook-rps', 5, 500);
  const retention = args.retention;
  let opsConfigFile: string | undefined;
  if (retention !== undefined) {
    if (!isDuration(retention)) throw new Error('--retention must be a duration like 1m');
    const text = fs.readFileSync(DEFAULT_OPS_CONFIG_PATH, 'utf8');
    const replaced = text.replace(/^retention:\n(?: {2}.*\n)*/m, `retention:\n  incidents: ${retention}\n  sweep_interval: 15s\n  audit: ${retention}\n`);
    if (replaced === text) throw new Error(`--retention: no retention section in ${DEFAULT_OPS_CONFIG_PATH}`);
    fs.mkdirSync(RESULTS_DIR, { recursive: true });
    opsConfigFile = path.join(RESULTS_DIR, `soak-ops-${process.pid}.yaml`);
    fs.writeFileSync(opsConfigFile, replaced);
  }
  const stack = await startStack(['server', 'bot', 'workers'], opsConfigFile ? { OPS_CONFIG: opsConfigFile } : {}, { collectGarbage: true });
  // What each process keeps: heapUsed right after a full GC the bench asks for (after the RSS sample).
  const kept = async () => {
    const out: Record<string, number> = {};
    for (const p of PROCS) out[p] = (await stack.gc(p)).heapUsed;
    return out;
  };
  try {
    const sandbox = createSandboxClient(stack.url('slack'));
    const token = await mintToken({ secret: STACK_SECRETS.JWT_SECRET, subject: 'bench-soak', scope: 'accounts:read', ttl: 24 * 3600 });
    const accounts = (await (await fetch(stack.url('accounts', '/accounts?limit=1'))).json()) as { accounts: Array<{ id: string }> };
    const accountId = accounts.accounts[0]!.id;
    const first = await postAlert(stack, firingFor('SoakRoot', { severity: 'critical' }));
    const root = await until(async () => (await sandbox.history('ops-critical')).find((m) => m.text.includes(`${first.incident},`)), 30_000, 50, 'root');
    await sleep(3000);
    const start = { rss: Object.fromEntries(PROCS.map((p) => [p, stack.rss(p)])), redis: await redisSnapshot(stack), kept: await kept() };

    const counts = { mcp: 0, mcpErrors: 0, webhooks: 0, webhookErrors: 0, clicks: 0, clickErrors: 0, commands: 0, commandErrors: 0 };
    const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    const mcpUrl = new URL(stack.url('server', '/mcp'));
    const mcpCall = (id: number) =>
      new Promise<void>((resolve) => {
        const body = JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'get_account_balance', arguments: { accountId } } });
        const req = http.request(
          { agent, host: mcpUrl.hostname, port: mcpUrl.port, path: mcpUrl.pathname, method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${token}`, 'content-length': Buffer.byteLength(body) } },
          (res) => {
            let text = '';
            res.on('data', (c: Buffer) => (text += c.toString()));
            res.on('end', () => {
              counts.mcp += 1;
              if (res.statusCode !== 200 || text.includes('"isError":true')) counts.mcpErrors += 1;
              resolve();
            });
          },
        );
        req.on('error', () => {
          counts.mcpErrors += 1;
          resolve();
        });
        req.end(body);
      });
    const open: string[] = [];
    let groups = 0;
    const webhook = async () => {
      const roll = Math.random();
      let body;
      if (roll < 0.1 || open.length === 0) {
        groups += 1;
        open.push(`Soak${groups}`);
        body = firingFor(`Soak${groups}`, { severity: 'warning', fingerprint: groups.toString(16).padStart(16, '0') });
      } else if (roll < 0.2) {
        const g = open.splice(Math.floor(Math.random() * open.length), 1)[0]!;
        body = resolvedVersionOf(firingFor(g, { severity: 'warning', fingerprint: Number(g.slice(4)).toString(16).padStart(16, '0') }));
      } else {
        const g = open[Math.floor(Math.random() * open.length)]!;
        body = firingFor(g, { severity: 'warning', fingerprint: Number(g.slice(4)).toString(16).padStart(16, '0') });
      }
      const r = await postAlert(stack, body).catch(() => ({ status: 0 }));
      counts.webhooks += 1;
      if (r.status !== 200) counts.webhookErrors += 1;
    };
    const inFlight = new Set<Promise<unknown>>();
    const track = (p: Promise<unknown>) => {
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    };
    const deadline = performance.now() + minutes * 60_000;
    const t0 = performance.now();
    let mcpSent = 0;
    let hooksSent = 0;
    let lastClick = 0;
    let lastCommand = 0;
    while (performance.now() < deadline) {
      const elapsed = (performance.now() - t0) / 1000;
      // Open loop, capped in flight so an overloaded server slows the load instead of piling it up.
      while (mcpSent < elapsed * mcpRps && inFlight.size < 256) track(mcpCall(++mcpSent));
      while (hooksSent < elapsed * webhookRps && inFlight.size < 256) {
        hooksSent += 1;
        track(webhook());
      }
      if (elapsed - lastClick >= 5) {
        lastClick = elapsed;
        track(sandbox.click({ user: 'bob', channel: 'ops-critical', ts: root.ts, action_id: 'runbook_health_check' }).then((r) => {
          counts.clicks += 1;
          if (!r.ok) counts.clickErrors += 1;
        }, () => (counts.clickErrors += 1)));
      }
      if (elapsed - lastCommand >= 2) {
        lastCommand = elapsed;
        track(sandbox.command({ user: 'bob', channel: 'ops-critical', command: '/ops', text: 'status' }).then((r) => {
          counts.commands += 1;
          if (!r.ok) counts.commandErrors += 1;
        }, () => (counts.commandErrors += 1)));
      }
      await sleep(10);
    }
    await Promise.all([...inFlight]);
    const seconds = (performance.now() - t0) / 1000;
    agent.destroy();
    await sleep(5000);
    const end = { rss: Object.fromEntries(PROCS.map((p) => [p, stack.rss(p)])), redis: await redisSnapshot(stack), kept: await kept() };
    const stats = await sandbox.stats();
    const figures: Record<string, number | string> = {
      minutes: round(seconds / 60, 1),
      'MCP calls/s achieved': round(counts.mcp / seconds, 0),
      'MCP errors': counts.mcpErrors,
      webhooks: counts.webhooks,
      'webhook errors': counts.webhookErrors,
      'groups opened': groups,
      'groups open at end': open.length + 1,
      clicks: counts.clicks,
      'click errors': counts.clickErrors,
      commands: counts.commands,
      'command errors': counts.commandErrors,
      "Slack 429s": Object.values(stats.ratelimited).reduce((s, c) => s + c.total, 0),
    };
    for (const p of PROCS) figures[`${p} RSS start → end`] = `${mb(start.rss[p]!)} → ${mb(end.rss[p]!)} MB`;
    for (const p of PROCS) figures[`${p} heap kept after GC start → end`] = `${mb(start.kept[p]!)} → ${mb(end.kept[p]!)} MB`;
    figures['Redis used_memory start → end'] = `${mb(start.redis.usedMemory)} → ${mb(end.redis.usedMemory)} MB (whole server, shared)`;
    figures['keys under the prefix start → end'] = `${start.redis.keys} → ${end.redis.keys}`;
    figures['keys by type at end'] = JSON.stringify(end.redis.byType);
    const grown = Object.entries(end.redis.byFamily)
      .map(([f, c]) => [f, c - (start.redis.byFamily[f] ?? 0)] as const)
      .filter(([, d]) => d !== 0)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 12);
    figures['key families grown (end − start)'] = grown.map(([f, d]) => `${f} ${d > 0 ? '+' : ''}${d}`).join(', ');
    return {
      figures,
      targets: [
        { figure: 'MCP errors', op: '==', limit: 0 },
        { figure: 'webhook errors', op: '==', limit: 0 },
        { figure: 'Slack 429s', op: '==', limit: 0 },
      ],
      notes: [
        `MCP at ${mcpRps}/s, webhooks at ${webhookRps}/s, a click every 5 s, /ops status every 2 s; Redis used_memory is the whole shared server's`,
        retention ? `retention.incidents and retention.audit ${retention}, swept every 15 s` : 'retention: the ops config defaults (90d incidents, 400d audit)',
      ],
    };
  } finally {
    await stack.stop();
    if (opsConfigFile) fs.rmSync(opsConfigFile, { force: true });
  }
}, 300 * 60);
