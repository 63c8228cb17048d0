/**
 * The hard rules of the layout (DESIGN.md): bot/, server/ and workers/ never
 * import each other; production code never imports sandbox/ (or tests/); and
 * no import cycles among our own modules.
 */
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(__dirname, '../..');
const PRODUCTION = ['bot', 'server', 'workers', 'lib', 'runbooks'];
const APPS = ['bot', 'server', 'workers'];

function sourceFiles(dir: string): string[] {
  const abs = path.join(root, dir);
  if (!fs.existsSync(abs)) return [];
  return fs.readdirSync(abs, { withFileTypes: true }).flatMap((e) => {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : sourceFiles(rel);
    return /\.ts$/.test(e.name) && !e.name.endsWith('.d.ts') ? [rel] : [];
  });
}

/** Relative imports of a file, resolved to repo-relative .ts paths. */
export function importsOf(file: string): string[] {
  const text = fs.readFileSync(path.join(root, file), 'utf8');
  const specs = [...text.matchAll(/(?:import|export)[^'"]*?from\s+['"](\.[^'"]+)['"]|require\(\s*['"](\.[^'"]+)['"]\s*\)|import\(\s*['"](\.[^'"]+)['"]\s*\)/g)].map(
    (m) => m[1] ?? m[2] ?? m[3]!,
  );
  return specs.map((spec) => {
    const base = path.normalize(path.join(path.dirname(file), spec));
    for (const candidate of [`${base}.ts`, path.join(base, 'index.ts'), base]) {
      if (fs.existsSync(path.join(root, candidate)) && fs.statSync(path.join(root, candidate)).isFile()) return candidate;
    }
    return base;
  });
}

const topFolder = (file: string) => file.split(path.sep)[0]!;

describe('architecture', () => {
  const files = PRODUCTION.flatMap(sourceFiles);

  it('finds the production code', () => {
    expect(files.length).toBeGreaterThan(30);
    expect(files).toContain(path.join('bot', 'app.ts'));
  });

  it('bot/, server/ and workers/ never import each other', () => {
    const offenders = files.flatMap((f) =>
      importsOf(f)
        .filter((target) => APPS.includes(topFolder(f)) && APPS.includes(topFolder(target)) && topFolder(target) !== topFolder(f))
        .map((target) => `${f} -> ${target}`),
    );
    expect(offenders).toEqual([]);
  });

  it('lib/ depends on nothing but lib/', () => {
    const offenders = sourceFiles('lib').flatMap((f) => importsOf(f).filter((t) => topFolder(t) !== 'lib').map((t) => `${f} -> ${t}`));
    expect(offenders).toEqual([]);
  });

  it('production code never imports sandbox/ or tests/', () => {
    const offenders = files.flatMap((f) => importsOf(f).filter((t) => ['sandbox', 'tests'].includes(topFolder(t))).map((t) => `${f} -> ${t}`));
    expect(offenders).toEqual([]);
  });

  it('has no import cycles', () => {
    const all = [...files, ...sourceFiles('sandbox'), ...sourceFiles('scripts')];
    const graph = new Map(all.map((f) => [f, importsOf(f).filter((t) => all.includes(t))]));
    const state = new Map<string, 'visiting' | 'done'>();
    const cycles: string[] = [];
    const visit = (node: string, trail: string[]) => {
      if (state.get(node) === 'done') return;
      if (state.get(node) === 'visiting') {
        cycles.push([...trail.slice(trail.indexOf(node)), node].join(' -> '));
        return;
      }
      state.set(node, 'visiting');
      for (const next of graph.get(node) ?? []) visit(next, [...trail, node]);
      state.set(node, 'done');
    };
    for (const f of all) visit(f, []);
    expect(cycles).toEqual([]);
  });

  it('the checker sees a forbidden import when there is one', () => {
    // Guards the regex: a known import of bot/app.ts must be found.
    expect(importsOf(path.join('bot', 'main.ts'))).toContain(path.join('bot', 'app.ts'));
  });
});
