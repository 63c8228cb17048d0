/**
 * bench mcp: bench/mcp-tools.ts (see its header: ours `get_account_balance` against a bare
 * SDK server's no-op tool, side by side in interleaved rounds) as a bench of the set: its
 * figures in the table and results.jsonl, with the CPU µs per call of each server process
 * (from /proc: noise from other work on the machine slows calls/s but barely moves CPU per call).
 *
 *   npm run bench -- mcp [--clients 16] [--seconds 10] [--rounds 3] [--profile]
 *
 * Target: ours/bare calls/s >= 0.8 (stretch >= 1.0).
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { runBench } from './lib/bench';
import { round } from './lib/stats';

interface McpFigures {
  results: Array<{ label: string; callsPerSecond: number; p50: number; p99: number; errors: number; cpuUsPerCall: Record<string, number> }>;
  perRound: number[];
}

runBench('mcp', async () => {
  const passOn = process.argv.slice(2);
  const r = spawnSync(process.execPath, [...process.execArgv, path.join(__dirname, 'mcp-tools.ts'), ...passOn, '--json'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 400_000 });
  process.stdout.write(r.stdout.split('\n').filter((l) => !l.startsWith('BENCH_JSON')).join('\n'));
  process.stderr.write(r.stderr);
  const line = r.stdout.split('\n').find((l) => l.startsWith('BENCH_JSON '));
  if (r.status !== 0 || !line) throw new Error(`bench/mcp-tools.ts exited ${r.status}`);
  const f = JSON.parse(line.slice('BENCH_JSON '.length)) as McpFigures;
  const [ours, bare] = f.results;
  if (!ours || !bare) throw new Error('mcp-tools measured one target only');
  const ratio = ours.callsPerSecond / bare.callsPerSecond;
  return {
    figures: {
      'ours calls/s': round(ours.callsPerSecond, 0),
      'ours p50': round(ours.p50, 2),
      'ours p99': round(ours.p99, 2),
      'ours CPU per call (server)': round(ours.cpuUsPerCall.ours ?? NaN, 0),
      'ours CPU per call (simulator)': round(ours.cpuUsPerCall.sims ?? NaN, 0),
      'bare calls/s': round(bare.callsPerSecond, 0),
      'bare p50': round(bare.p50, 2),
      'bare p99': round(bare.p99, 2),
      'bare CPU per call': round(bare.cpuUsPerCall.bare ?? NaN, 0),
      'ratio ours/bare calls/s': round(ratio, 2),
      'ratio per round': f.perRound.map((x) => x.toFixed(2)).join(' '),
      'CPU per call ratio ours/bare (server only)': round((ours.cpuUsPerCall.ours ?? NaN) / (bare.cpuUsPerCall.bare ?? NaN), 2),
      errors: ours.errors + bare.errors,
    },
    units: {
      'ours p50': 'ms', 'ours p99': 'ms', 'bare p50': 'ms', 'bare p99': 'ms',
      'ours CPU per call (server)': 'µs', 'ours CPU per call (simulator)': 'µs', 'bare CPU per call': 'µs',
    },
    targets: [
      { figure: 'ratio ours/bare calls/s', op: '>=', limit: 0.8 },
      { figure: 'errors', op: '==', limit: 0 },
    ],
    notes: ['stretch target: ratio >= 1.0'],
  };
}, 450);
