/**
 * bench/mcp-tools: tools/call throughput of our server against a bare SDK server.
 *
 *   npx tsx bench/mcp-tools.ts [--clients 16] [--seconds 10] [--rounds 3] [--warmup 2] [--profile] [--only ours|bare]
 *
 * Method. Three child processes, all on 127.0.0.1 and port 0:
 *   - sims: the account/transaction simulators;
 *   - ours: createMcpFinancialServer exactly as server/main.ts builds it (JWT
 *     auth, IP denylist, metrics, guard, backends with breakers and pooling)
 *     with real Redis under a throwaway prefix, calling the simulators;
 *   - bare: an SDK McpServer with one no-op tool, the SDK's stateless pattern
 *     (fresh server + transport per request, JSON responses) behind express.json.
 * This process is the client only: N closed-loop virtual users, each sending
 * raw JSON-RPC `tools/call` POSTs over a keep-alive socket (no SDK client, no
 * initialize: both servers are stateless and accept a bare tools/call). Ours
 * is called with `get_account_balance` and a minted accounts:read token; bare
 * with `noop`. Each target gets a warm-up; then R rounds, each measuring ours
 * for S/R seconds and bare for S/R seconds, so that noise from other work on
 * the machine hits both alike. Printed per target over all rounds: calls/s,
 * p50/p95/p99 latency, errors; then the ours/bare calls/s ratio overall and
 * per round (target >= 0.8).
 *
 * The run is bounded (warm-up + S per target + a hard stop) and the children
 * exit when this process does. --profile writes V8 CPU profiles of `ours` and
 * `bare` to $TMPDIR/mfo-bench-profiles/ (file names carry the pid printed at
 * start); read them with `npx tsx bench/profile-summary.ts <file>` or Chrome DevTools.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { randomBytes } from 'node:crypto';
import { mintToken } from '../lib/jwt';
import { redisAnswers } from '../lib/redis';
import { runBare, runOurs, runSims, type RoleReady } from './bench-roles';
import { mergeResults, runLoad, type LoadResult, type LoadTarget } from './load';
import { processCpuSeconds } from './proc-cpu';

interface Options {
  clients: number;
  seconds: number;
  warmup: number;
  rounds: number;
  profile: boolean;
  redisUrl: string;
  /** Measure one target only (profiling). */
  only?: 'ours' | 'bare';
}

function parseArgs(argv: string[]): Options & { role?: string; rest: Record<string, string> } {
  const rest: Record<string, string> = {};
  let profile = false;
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i]!;
    if (a === '--profile') profile = true;
    else if (a === '--json') rest.json = 'true';
    else if (a.startsWith('--')) rest[a.slice(2)] = argv[++i] ?? '';
  }
  const num = (k: string, d: number, max: number) => {
    const v = rest[k] === undefined ? d : Number(rest[k]);
    if (!Number.isFinite(v) || v <= 0 || v > max) throw new Error(`--${k} must be a number in (0, ${max}]`);
    return v;
  };
  return {
    clients: Math.round(num('clients', 16, 512)),
    seconds: num('seconds', 10, 300),
    warmup: num('warmup', 2, 60),
    rounds: Math.round(num('rounds', 3, 20)),
    profile,
    redisUrl: rest['redis-url'] ?? 'redis://127.0.0.1:6379',
    only: rest.only === 'ours' || rest.only === 'bare' ? rest.only : undefined,
    role: rest.role,
    rest,
  };
}

const PROFILE_DIR = path.join(os.tmpdir(), 'mfo-bench-profiles');
const children: ChildProcess[] = [];
const pids = new Map<string, number | undefined>();

function startRole(role: string, args: string[], extraNodeArgs: string[] = []): Promise<RoleReady> {
  const child = spawn(process.execPath, [...process.execArgv, ...extraNodeArgs, __filename, '--role', role, ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, LOG_LEVEL: 'silent' },
  });
  children.push(child);
  pids.set(role, child.pid);
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${role} exited early (code ${code})`)));
    readline.createInterface({ input: child.stdout! }).once('line', (line) => resolve(JSON.parse(line) as RoleReady));
  });
}

async function stopChildren(): Promise<void> {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null) return resolve();
          c.removeAllListeners('exit'); // the start-up "exited early" listener
          const timer = setTimeout(() => c.kill('SIGKILL'), 5000);
          c.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          c.stdin?.end();
        }),
    ),
  );
}

function row(r: LoadResult): string {
  const f = (n: number) => n.toFixed(2).padStart(8);
  return `${r.label.padEnd(28)} ${r.callsPerSecond.toFixed(0).padStart(8)} ${f(r.p50)} ${f(r.p95)} ${f(r.p99)} ${String(r.calls).padStart(8)} ${String(r.errors).padStart(6)}`;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (o.role) return runRole(o.role, o.rest);
  if (!(await redisAnswers(o.redisUrl))) throw new Error(`no Redis at ${o.redisUrl}: the bench runs our server with real Redis`);
  const hardStop = setTimeout(() => {
    console.error('bench: hard time limit reached, stopping');
    void stopChildren().finally(() => process.exit(2));
  }, (2 * (o.seconds + o.warmup) + 90) * 1000);
  hardStop.unref();

  const secret = randomBytes(24).toString('hex');
  const sims = await startRole('sims', []);
  const profileArgs = o.profile ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [];
  const [ours, bare] = await Promise.all([
    startRole('ours', ['--secret', secret, '--account', sims.urls.account!, '--transaction', sims.urls.transaction!, '--redis-url', o.redisUrl], profileArgs),
    startRole('bare', [], profileArgs),
  ]);
  const accounts = (await (await fetch(`${sims.urls.account}/accounts?limit=1`)).json()) as { accounts: Array<{ id: string }> };
  const accountId = accounts.accounts[0]!.id;
  const token = await mintToken({ secret, subject: 'bench', scope: 'accounts:read', ttl: 3600 });

  const oursTarget: LoadTarget & { cpu: string[] } = {
    cpu: ['ours', 'sims'], label: 'ours get_account_balance', url: ours.urls.mcp!, headers: { authorization: `Bearer ${token}` }, tool: 'get_account_balance', args: { accountId } };
  const bareTarget: LoadTarget & { cpu: string[] } = {
    cpu: ['bare'], label: 'bare SDK noop', url: bare.urls.mcp!, headers: {}, tool: 'noop', args: { accountId } };

  if (o.profile) console.log(`CPU profiles go to ${PROFILE_DIR}: ours pid ${pids.get('ours')}, bare pid ${pids.get('bare')}`);
  console.log(
    `bench/mcp-tools: ${o.clients} clients, ${o.seconds}s per target in ${o.rounds} interleaved rounds (+${o.warmup}s warm-up each), node ${process.version}, ${os.cpus().length} CPUs`,
  );
  const targets = o.only === 'ours' ? [oursTarget] : o.only === 'bare' ? [bareTarget] : [oursTarget, bareTarget];
  for (const target of targets) await runLoad(target, o.clients, o.warmup);
  const rounds: LoadResult[][] = targets.map(() => []);
  // CPU seconds each server process spent while its target was measured (noise-robust next to calls/s).
  const cpu = targets.map((t) => new Map(t.cpu.map((role) => [role, 0])));
  for (let round = 0; round < o.rounds; round += 1) {
    for (const [i, target] of targets.entries()) {
      const before = target.cpu.map((role) => processCpuSeconds(pids.get(role)));
      rounds[i]!.push(await runLoad(target, o.clients, o.seconds / o.rounds));
      target.cpu.forEach((role, j) => {
        const after = processCpuSeconds(pids.get(role));
        if (after !== undefined && before[j] !== undefined) cpu[i]!.set(role, cpu[i]!.get(role)! + after - before[j]!);
      });
    }
  }
  const results = rounds.map(mergeResults);
  for (const r of results) if (r.errors > 0) console.log(`  ${r.label}: ${r.errors} error(s); first: ${r.firstError}`);
  console.log(`${'target'.padEnd(28)} ${'calls/s'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'calls'.padStart(8)} ${'errors'.padStart(6)}`);
  for (const r of results) console.log(row(r));
  results.forEach((r, i) => {
    const parts = [...cpu[i]!].map(([role, sec]) => `${role} ${((sec * 1e6) / r.calls).toFixed(0)} us`);
    console.log(`  CPU per call, ${r.label}: ${parts.join(', ')}`);
  });
  if (o.rest.json !== undefined) {
    // For bench/mcp.ts: the figures as one line.
    const figures = results.map((r, i) => ({
      label: r.label, callsPerSecond: r.callsPerSecond, p50: r.p50, p95: r.p95, p99: r.p99, calls: r.calls, errors: r.errors,
      cpuUsPerCall: Object.fromEntries([...cpu[i]!].map(([role, sec]) => [role, (sec * 1e6) / r.calls])),
    }));
    const perRound = results.length === 2 ? rounds[0]!.map((r, i) => r.callsPerSecond / rounds[1]![i]!.callsPerSecond) : [];
    console.log(`BENCH_JSON ${JSON.stringify({ results: figures, perRound })}`);
  }
  if (results.length === 2) {
    const ratio = results[0]!.callsPerSecond / results[1]!.callsPerSecond;
    const perRound = rounds[0]!.map((r, i) => (r.callsPerSecond / rounds[1]![i]!.callsPerSecond).toFixed(2)).join(' ');
    console.log(`ratio ours/bare calls/s: ${ratio.toFixed(2)} (target >= 0.80) ${ratio >= 0.8 ? 'OK' : 'BELOW TARGET'}; per round: ${perRound}`);
  }
  await stopChildren();
  clearTimeout(hardStop);
}

async function runRole(role: string, a: Record<string, string>): Promise<void> {
  if (role === 'sims') return runSims();
  if (role === 'bare') return runBare();
  if (role === 'ours') {
    return runOurs({ secret: a.secret!, accountUrl: a.account!, transactionUrl: a.transaction!, redisUrl: a['redis-url']! });
  }
  throw new Error(`unknown role ${role}`);
}

main().catch(async (err: Error) => {
  console.error(`bench/mcp-tools: ${err.message}`);
  await stopChildren();
  process.exit(1);
});
