import { execFileSync } from 'node:child_process';
import os from 'node:os';

/** The machine a figure was measured on; the load average is taken before and after each bench. */
export interface Machine {
  cores: number;
  cpu: string;
  node: string;
  loadBefore: number[];
  loadAfter?: number[];
}

export const loadAverage = (): number[] => os.loadavg().map((l) => Math.round(l * 100) / 100);

export function machine(): Machine {
  return { cores: os.cpus().length, cpu: os.cpus()[0]?.model.trim() ?? 'unknown', node: process.version, loadBefore: loadAverage() };
}

export function gitCommit(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim() !== '';
    return dirty ? `${sha}-dirty` : sha;
  } catch {
    return 'unknown';
  }
}
