/**
 * Summarises a V8 CPU profile (`--cpu-prof`, e.g. from `bench/mcp-tools.ts --profile`):
 *
 *   npx tsx bench/profile-summary.ts <file.cpuprofile> [--top 30] [--match <regex>]
 *
 * Prints self time by module (a package, a node: module, or one of our files)
 * and by function, then inclusive time by function (each function counted once
 * per sample however deep it recurses), filtered by --match when given, e.g.
 * `--match 'server/|axios|jose'` to see what our own code and its libraries cost.
 * Percentages are of the busy sampled time (idle samples left out), start-up
 * included: compare two profiles of the same run length, not absolute figures.
 */
import fs from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Where a frame lives: the npm package, the node: module, or the path inside this repository. */
export function moduleOf(url: string): string {
  if (!url) return '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return url;
  const ours = /\/(server|lib|bench|sandbox|scripts|bot|workers)\/(.*)$/.exec(url);
  return ours ? `${ours[1]}/${ours[2]}` : url;
}

export function summarize(profile: CpuProfile, options: { top: number; match?: RegExp }): string[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (n: ProfileNode) => `${n.callFrame.functionName || '(anonymous)'} ${moduleOf(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;

  const selfTime = new Map<number, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    if (byId.get(id)!.callFrame.functionName === '(idle)') return;
    const dt = profile.timeDeltas[i] ?? 0;
    selfTime.set(id, (selfTime.get(id) ?? 0) + dt);
    total += dt;
  });

  const selfByModule = new Map<string, number>();
  const selfByFunction = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, t: number) => m.set(k, (m.get(k) ?? 0) + t);
  for (const [id, t] of selfTime) {
    const node = byId.get(id)!;
    add(selfByModule, moduleOf(node.callFrame.url), t);
    add(selfByFunction, label(node), t);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const k = label(byId.get(cur)!);
      if (!seen.has(k)) {
        seen.add(k);
        add(inclusive, k, t);
      }
    }
  }

  const pct = (t: number) => `${((100 * t) / total).toFixed(1).padStart(5)}%`;
  const top = (m: Map<string, number>, filter?: RegExp) =>
    [...m]
      .filter(([k]) => !filter || filter.test(k))
      .sort((a, b) => b[1] - a[1])
      .slice(0, options.top)
      .map(([k, t]) => `${pct(t)}  ${k}`);
  return [
    `busy ${(total / 1e6).toFixed(2)} s sampled`,
    '--- self time by module',
    ...top(selfByModule),
    '--- self time by function',
    ...top(selfByFunction),
    `--- inclusive time by function${options.match ? ` matching ${options.match}` : ''}`,
    ...top(inclusive, options.match),
  ];
}

function main(): void {
  const args = process.argv.slice(2);
  const file = args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
  if (!file) throw new Error('usage: npx tsx bench/profile-summary.ts <file.cpuprofile> [--top 30] [--match <regex>]');
  const opt = (name: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const match = opt('match');
  for (const line of summarize(profile, { top: Number(opt('top') ?? 30), match: match ? new RegExp(match) : undefined })) console.log(line);
}

if (require.main === module) {
  try {
    main();
  } catch (err) {
    console.error(`profile-summary: ${(err as Error).message}`);
    process.exit(1);
  }
}
