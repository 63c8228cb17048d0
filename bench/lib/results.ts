import fs from 'node:fs';
import path from 'node:path';
import { gitCommit, loadAverage, machine, type Machine } from './machine';

export const RESULTS_DIR = path.resolve(__dirname, '..', '..', '.tmp', 'bench');
export const RESULTS_FILE = path.join(RESULTS_DIR, 'results.jsonl');

export type Figure = number | string;

/** A target on one figure: `value op limit`. */
export interface Target {
  figure: string;
  op: '<' | '<=' | '>=' | '>' | '==';
  limit: number;
  unit?: string;
}

export interface TargetResult extends Target {
  value: Figure | undefined;
  pass: boolean;
}

export interface BenchOutput {
  figures: Record<string, Figure>;
  /** Units by figure name, for the table. */
  units?: Record<string, string>;
  targets?: Target[];
  notes?: string[];
}

export interface BenchRecord {
  bench: string;
  date: string;
  commit: string;
  machine: Machine;
  args: string[];
  figures: Record<string, Figure>;
  targets: TargetResult[];
  notes: string[];
}

export function check(t: Target, value: Figure | undefined): boolean {
  if (typeof value !== 'number' || !Number.isFinite(value)) return false;
  switch (t.op) {
    case '<':
      return value < t.limit;
    case '<=':
      return value <= t.limit;
    case '>=':
      return value >= t.limit;
    case '>':
      return value > t.limit;
    case '==':
      return value === t.limit;
  }
}

export function startRecord(bench: string, args: string[]): Omit<BenchRecord, 'figures' | 'targets' | 'notes'> {
  return { bench, date: new Date().toISOString(), commit: gitCommit(), machine: machine(), args };
}

export function finishRecord(head: ReturnType<typeof startRecord>, out: BenchOutput): BenchRecord {
  const targets = (out.targets ?? []).map((t) => ({ ...t, value: out.figures[t.figure], pass: check(t, out.figures[t.figure]) }));
  return { ...head, machine: { ...head.machine, loadAfter: loadAverage() }, figures: out.figures, targets, notes: out.notes ?? [] };
}

export function appendResult(record: BenchRecord): void {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  fs.appendFileSync(RESULTS_FILE, `${JSON.stringify(record)}\n`);
}
