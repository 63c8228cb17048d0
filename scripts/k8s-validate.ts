/**
 * Validates the Kubernetes manifests offline against the Kubernetes and
 * Prometheus Operator schemas that the `kubernetes-models` and
 * `@kubernetes-models/prometheus-operator` npm packages ship (their OpenAPI
 * schemas, compiled to validators: nothing is fetched). Checks that every file
 * is a kustomization resource and that the PrometheusRule holds exactly the
 * rules of monitoring/rules/.
 *
 *   npx tsx scripts/k8s-validate.ts [dir]        exit 0: every object valid; 1: the problems, one a line
 *   npx tsx scripts/k8s-validate.ts --write-rules regenerate k8s/base/prometheusrule.yaml
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';

const ROOT = path.resolve(__dirname, '..');
const RULES_FILE = path.join(ROOT, 'k8s/base/prometheusrule.yaml');

type Obj = { apiVersion?: string; kind?: string; metadata?: { name?: string } };
type Model = new (data: unknown) => { validate(): void };

/** The package and module that hold the model of an apiVersion. */
function moduleFor(apiVersion: string): string {
  if (apiVersion.startsWith('monitoring.coreos.com/')) return `@kubernetes-models/prometheus-operator/${apiVersion}`;
  return apiVersion === 'v1' ? 'kubernetes-models/v1' : `kubernetes-models/${apiVersion}`;
}

async function modelFor(obj: Obj): Promise<Model | undefined> {
  try {
    const mod = (await import(moduleFor(obj.apiVersion!))) as Record<string, Model | undefined>;
    return mod[obj.kind!];
  } catch {
    return undefined;
  }
}

export function rulesFromMonitoring(): unknown[] {
  const dir = path.join(ROOT, 'monitoring/rules');
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.yml'))
    .sort()
    .flatMap((f) => (parse(fs.readFileSync(path.join(dir, f), 'utf8')) as { groups: unknown[] }).groups);
}

export async function validateDir(dir: string): Promise<{ objects: string[]; problems: string[] }> {
  const problems: string[] = [];
  const objects: string[] = [];
  const files = fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));
  const kustomization = files.includes('kustomization.yaml')
    ? (parse(fs.readFileSync(path.join(dir, 'kustomization.yaml'), 'utf8')) as { resources?: string[] })
    : undefined;
  for (const file of files.filter((f) => f !== 'kustomization.yaml').sort()) {
    if (kustomization && !kustomization.resources?.includes(file)) problems.push(`${file}: not listed in kustomization.yaml resources`);
    for (const doc of parseAllDocuments(fs.readFileSync(path.join(dir, file), 'utf8'))) {
      if (doc.errors.length) {
        problems.push(`${file}: ${doc.errors[0]!.message}`);
        continue;
      }
      const obj = doc.toJSON() as Obj | null;
      if (!obj) continue;
      const where = `${file}: ${obj.kind ?? '?'}/${obj.metadata?.name ?? '?'}`;
      if (!obj.apiVersion || !obj.kind) {
        problems.push(`${where}: apiVersion and kind are required`);
        continue;
      }
      const Model = await modelFor(obj);
      if (!Model) {
        problems.push(`${where}: no schema for ${obj.apiVersion} ${obj.kind}`);
        continue;
      }
      try {
        new Model(obj).validate();
        objects.push(`${obj.apiVersion} ${obj.kind} ${obj.metadata?.name}`);
      } catch (err) {
        problems.push(`${where}: ${(err as Error).message.replace(/\s+/g, ' ')}`);
      }
    }
  }
  for (const res of kustomization?.resources ?? []) if (!files.includes(res)) problems.push(`kustomization.yaml: resource ${res} does not exist`);
  return { objects, problems };
}

async function main(argv: string[]): Promise<void> {
  if (argv.includes('--write-rules')) {
    const text = fs.readFileSync(RULES_FILE, 'utf8');
    const header = text.slice(0, text.indexOf('apiVersion:'));
    const doc = parse(text) as { spec: { groups: unknown[] } };
    doc.spec.groups = rulesFromMonitoring();
    fs.writeFileSync(RULES_FILE, header + stringify(doc, { lineWidth: 0 }));
    console.log(`wrote ${path.relative(ROOT, RULES_FILE)}`);
    return;
  }
  const dir = path.resolve(argv[0] ?? path.join(ROOT, 'k8s/base'));
  const { objects, problems } = await validateDir(dir);
  for (const p of problems) console.error(p);
  console.log(`k8s: ${objects.length} objects valid, ${problems.length} problems (${path.relative(ROOT, dir) || dir})`);
  process.exit(problems.length ? 1 : 0);
}

if (require.main === module) void main(process.argv.slice(2));
