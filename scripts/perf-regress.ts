/**
 * `npm run perf:regress -- --baseline <file> [--current <file>]`: compares a load
 * run's p95 and throughput with a saved baseline and exits 1 past a threshold
 * (the operations guide's performance-regression-test.py). Either file may be
 * an artillery report or a summary written by `npm run load`; --current
 * defaults to .tmp/load/last.json, the latest run.
 *
 *   --max-p95-increase 0.2   --max-throughput-drop 0.1   --max-error-rate 0.01
 */
import fs from 'node:fs';
import path from 'node:path';
import { compare, DEFAULT_THRESHOLDS, summarise } from './perf-compare';

function option(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}

function main(argv: string[]): void {
  const baselineFile = option(argv, 'baseline');
  if (!baselineFile) {
    console.error('usage: npm run perf:regress -- --baseline <file> [--current <file>] [--max-p95-increase 0.2] [--max-throughput-drop 0.1] [--max-error-rate 0.01]');
    process.exit(2);
  }
  const currentFile = option(argv, 'current') ?? path.join(__dirname, '..', '.tmp/load/last.json');
  const read = (f: string) => summarise(JSON.parse(fs.readFileSync(f, 'utf8')));
  const num = (name: string, def: number) => (option(argv, name) === undefined ? def : Number(option(argv, name)));
  const verdict = compare(read(baselineFile), read(currentFile), {
    maxP95Increase: num('max-p95-increase', DEFAULT_THRESHOLDS.maxP95Increase),
    maxThroughputDrop: num('max-throughput-drop', DEFAULT_THRESHOLDS.maxThroughputDrop),
    maxErrorRate: num('max-error-rate', DEFAULT_THRESHOLDS.maxErrorRate),
  });
  console.log(`perf:regress ${currentFile} against ${baselineFile}\n${verdict.lines.join('\n')}`);
  for (const f of verdict.failures) console.log(`REGRESSION: ${f}`);
  console.log(verdict.ok ? 'perf:regress: within thresholds' : 'perf:regress: regression');
  process.exit(verdict.ok ? 0 : 1);
}

main(process.argv.slice(2));
