import { appendResult, finishRecord, startRecord, type BenchOutput } from './results';
import { printRecord } from './table';

/** Parsed `--name value` flags (a bare `--flag` is "true"). */
export type Args = Record<string, string>;

export function parseArgs(argv: string[]): Args {
  const out: Args = {};
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i]!;
    if (!a.startsWith('--')) continue;
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) out[a.slice(2)] = 'true';
    else out[a.slice(2)] = argv[++i]!;
  }
  return out;
}

export function num(args: Args, name: string, def: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = args[name] === undefined ? def : Number(args[name]);
  if (!Number.isFinite(v) || v <= 0 || v > max) throw new Error(`--${name} must be a number in (0, ${max}]`);
  return v;
}

/**
 * The one way a bench runs: `fn` measures and returns its figures; this prints
 * the table and appends the JSON line to .tmp/bench/results.jsonl, with the
 * machine and the load average before and after. A missed target is reported,
 * not an error (exit 0); a bench that could not measure exits 1. `hardStopS`
 * bounds the whole run.
 */
export function runBench(name: string, fn: (args: Args) => Promise<BenchOutput>, hardStopS = 600): void {
  const argv = process.argv.slice(2);
  const args = parseArgs(argv);
  const timer = setTimeout(() => {
    console.error(`bench ${name}: hard time limit (${hardStopS} s) reached, stopping`);
    process.exit(2);
  }, (Number(args['hard-stop'] ?? hardStopS) || hardStopS) * 1000);
  timer.unref();
  const head = startRecord(name, argv);
  fn(args)
    .then((out) => {
      const record = finishRecord(head, out);
      printRecord(record, out.units);
      appendResult(record);
      clearTimeout(timer);
      process.exit(0);
    })
    .catch((err: Error) => {
      console.error(`bench ${name} failed: ${err.stack ?? err.message}`);
      process.exit(1);
    });
}
