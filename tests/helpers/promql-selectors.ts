/**
 * The vector selectors of a PromQL expression and the samples of a /metrics
 * page, to check that an expression selects series the processes export.
 * (The same reading as tests/integration/server-seed-promql.test.ts, shared here
 * for the dashboards.)
 */
export interface Matcher {
  label: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}
export interface Selector {
  name: string;
  matchers: Matcher[];
  text: string;
}
export interface Sample {
  name: string;
  labels: Record<string, string>;
}

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset']);

/** Metric names with their label matchers (functions, keywords, durations and grouping lists left out). */
export function selectorsIn(expr: string): Selector[] {
  const out: Selector[] = [];
  const re = /([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?(\s*\()?/g;
  const scan = expr
    .replace(/\[[^\]]*\]/g, (m) => ' '.repeat(m.length))
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, (m) => ' '.repeat(m.length));
  for (const m of scan.matchAll(re)) {
    const [text, name, braces, call] = m;
    if (call || KEYWORDS.has(name!)) continue;
    if (/[0-9.]/.test(scan[m.index! - 1] ?? '')) continue; // the "5m" of a duration, the "e" of 1e3
    if (insideBraces(scan, m.index!)) continue; // a label name or value inside a matcher list
    const matchers = [...(braces ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"/g)].map((x) => ({
      label: x[1]!,
      op: x[2] as Matcher['op'],
      value: x[3]!,
    }));
    out.push({ name: name!, matchers, text: text.trim() });
  }
  return out;
}

function insideBraces(text: string, index: number): boolean {
  const open = text.lastIndexOf('{', index);
  return open !== -1 && text.lastIndexOf('}', index) < open;
}

export function parseExposition(text: string): { samples: Sample[]; families: Set<string> } {
  const samples: Sample[] = [];
  const families = new Set<string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) /.exec(line);
    if (type) families.add(type[1]!);
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels });
  }
  return { samples, families };
}

export function matches(m: Matcher, value: string): boolean {
  if (m.op === '=') return value === m.value;
  if (m.op === '!=') return value !== m.value;
  const full = new RegExp(`^(?:${m.value})$`);
  return m.op === '=~' ? full.test(value) : !full.test(value);
}

/** True when `sample` is selected by `s`, ignoring the labels Prometheus adds at scrape (job, instance). */
export function selects(s: Selector, sample: Sample): boolean {
  if (sample.name !== s.name) return false;
  return s.matchers.filter((m) => m.label !== 'job' && m.label !== 'instance').every((m) => matches(m, sample.labels[m.label] ?? ''));
}

/** The metric family a sample name belongs to (histogram and summary series carry suffixes). */
export function familyOf(name: string): string {
  return name.replace(/_(bucket|sum|count)$/, '');
}
