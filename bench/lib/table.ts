import type { BenchRecord, Figure } from './results';

const show = (v: Figure | undefined, unit = '') => (v === undefined ? '-' : typeof v === 'number' ? `${Number.isInteger(v) ? v : v.toFixed(1)}${unit ? ` ${unit}` : ''}` : v);

/** Prints a record as a table: every figure, with its target and pass/miss where it has one. */
export function printRecord(r: BenchRecord, units: Record<string, string> = {}): void {
  const rows: string[][] = [['figure', 'measured', 'target', '']];
  for (const [name, value] of Object.entries(r.figures)) {
    const t = r.targets.find((x) => x.figure === name);
    rows.push([name, show(value, units[name]), t ? `${t.op} ${t.limit}${t.unit ? ` ${t.unit}` : ''}` : '', t ? (t.pass ? 'met' : 'MISSED') : '']);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const line = (row: string[]) => `| ${row.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  const m = r.machine;
  console.log(`\n== bench ${r.bench}  ${r.date}  commit ${r.commit}`);
  console.log(`   ${m.cores} cores, ${m.cpu}, Node ${m.node}, load average before ${m.loadBefore.join(' ')}, after ${m.loadAfter?.join(' ') ?? '?'}`);
  console.log(line(rows[0]!));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const row of rows.slice(1)) console.log(line(row));
  for (const n of r.notes) console.log(`   note: ${n}`);
}
