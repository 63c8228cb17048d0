/**
 * `npm run bench`: every bench of the default set in turn, each in its own process.
 *   npm run bench -- <name> [flags]   one bench, with its flags (see the header of bench/<name>.ts)
 *   npm run bench -- --list           the benches and what they measure
 * Each prints a table and appends a JSON line to .tmp/bench/results.jsonl (bench/lib/results.ts).
 * `soak` runs only when named: `npm run bench -- soak --minutes 30`.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const BENCHES: Record<string, { what: string; default: boolean }> = {
  webhook: { what: 'Alertmanager deliveries/s and p50/p99 at the bot, repeats and new groups (autocannon)', default: true },
  'alert-to-thread': { what: 'webhook → root message in the sandbox Slack, p50/p95/p99 over 200 new groups', default: true },
  storm: { what: '10,000 alerts in 500 groups: accept, visible in Slack, Slack calls, 429s, alerts lost, bot RSS peak', default: true },
  escalation: { what: '1,000 incidents on a compressed clock: step lag behind due time p50/p99/max', default: true },
  actions: { what: 'click → runbook job start p50, no-op jobs/s through the runbook queue', default: true },
  mcp: { what: 'tools/call ours vs a bare SDK server side by side: ratio, CPU µs per call', default: true },
  memory: { what: 'RSS of each process idle; the bot with 10,000 open alerts; growth per 1,000 incidents', default: true },
  soak: { what: 'mixed traffic for --minutes (30): RSS and Redis memory/keys at start and end (only when named)', default: false },
};

const argv = process.argv.slice(2);
if (argv.includes('--list')) {
  for (const [name, b] of Object.entries(BENCHES)) console.log(`${name.padEnd(16)} ${b.default ? '' : '(not default) '}${b.what}`);
  process.exit(0);
}
const named = argv[0] && !argv[0].startsWith('--') ? argv[0] : undefined;
if (named && !(named in BENCHES)) {
  console.error(`unknown bench ${named}; npm run bench -- --list`);
  process.exit(1);
}
const selected = named ? [named] : Object.keys(BENCHES).filter((n) => BENCHES[n]!.default);
const flags = named ? argv.slice(1) : argv;
const failed: string[] = [];
for (const name of selected) {
  const r = spawnSync(process.execPath, [...process.execArgv, path.join(__dirname, `${name}.ts`), ...flags], { stdio: 'inherit' });
  if (r.status !== 0) failed.push(name);
}
if (failed.length > 0) console.error(`bench: failed: ${failed.join(', ')}`);
process.exit(failed.length > 0 ? 1 : 0);
