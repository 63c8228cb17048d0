/**
 * The Kubernetes manifests (k8s/base, kustomize): validated offline against the
 * Kubernetes and Prometheus Operator schemas shipped by the kubernetes-models
 * npm packages (scripts/k8s-validate.ts), and checked for what the operations
 * guide and the platform drivers rely on.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';

const ROOT = path.join(__dirname, '..', '..');
const BASE = path.join(ROOT, 'k8s/base');

type K8s = { apiVersion: string; kind: string; metadata: { name: string }; spec?: Record<string, unknown> } & Record<string, unknown>;

function objects(dir = BASE): K8s[] {
  return fs
    .readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml')
    .flatMap((f) => parseAllDocuments(fs.readFileSync(path.join(dir, f), 'utf8')).map((d) => d.toJSON() as K8s))
    .filter(Boolean);
}
const find = (kind: string, name: string) => objects().find((o) => o.kind === kind && o.metadata.name === name);

function validate(dir: string): { status: number | null; output: string } {
  const r = spawnSync(process.execPath, [require.resolve('tsx/cli'), 'scripts/k8s-validate.ts', dir], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

jest.setTimeout(120_000);

describe('k8s/base against the Kubernetes and Prometheus Operator schemas', () => {
  let tmp: string;
  beforeAll(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'k8s-test-'))));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('every object is valid and listed in the kustomization', () => {
    const r = validate(BASE);
    expect(r.output).toContain(`k8s: ${objects().length} objects valid, 0 problems`);
    expect(r.status).toBe(0);
  });

  it('the validator refuses objects that break their schema (it can fail)', () => {
    const dir = path.join(tmp, 'broken');
    fs.cpSync(BASE, dir, { recursive: true });
    const server = fs.readFileSync(path.join(dir, 'server.yaml'), 'utf8').replace('replicas: 2', 'replicas: two');
    fs.writeFileSync(path.join(dir, 'server.yaml'), server);
    fs.writeFileSync(path.join(dir, 'servicemonitor.yaml'), fs.readFileSync(path.join(dir, 'servicemonitor.yaml'), 'utf8').replace('interval: 15s', 'interval: fifteen'));
    fs.writeFileSync(path.join(dir, 'extra.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n');
    const r = validate(dir);
    expect(r.status).toBe(1);
    expect(r.output).toMatch(/server\.yaml: Deployment\/mcp-financial-server: .*replicas must be integer/);
    expect(r.output).toMatch(/servicemonitor\.yaml: ServiceMonitor\/mcp-financial-ops: .*interval must match pattern/);
    expect(r.output).toMatch(/extra\.yaml: not listed in kustomization\.yaml resources/);
  });
});

describe('what the guide and the drivers rely on', () => {
  const deployments = ['mcp-financial-server', 'mcp-ops-bot', 'mcp-ops-workers'];

  it('names the MCP server Deployment mcp-financial-server with container server, in mcp-financial-ops', () => {
    const kustomization = parse(fs.readFileSync(path.join(BASE, 'kustomization.yaml'), 'utf8')) as { namespace: string };
    expect(kustomization.namespace).toBe('mcp-financial-ops');
    const server = find('Deployment', 'mcp-financial-server')!;
    const containers = (server.spec!.template as { spec: { containers: Array<{ name: string; args: string[] }> } }).spec.containers;
    expect(containers.map((c) => [c.name, c.args])).toEqual([['server', ['server']]]);
  });

  it('gives each Deployment probes, the guide limits and its secrets by reference', () => {
    for (const name of deployments) {
      const d = find('Deployment', name)!;
      const [c] = (d.spec!.template as { spec: { containers: Array<Record<string, unknown>> } }).spec.containers;
      expect([name, c!.readinessProbe, c!.livenessProbe]).toEqual([name, expect.objectContaining({ httpGet: expect.any(Object) }), expect.objectContaining({ httpGet: expect.any(Object) })]);
      expect([name, c!.resources]).toEqual([name, { limits: { cpu: '2', memory: '1Gi' }, requests: { cpu: '1', memory: '512Mi' } }]);
      expect([name, c!.envFrom]).toEqual([name, expect.arrayContaining([{ secretRef: { name: 'mcp-financial-ops-secrets' } }])]);
      expect(find('Service', name)).toBeDefined();
      expect(find('PodDisruptionBudget', name)).toBeDefined();
    }
    expect(objects().filter((o) => o.kind === 'Secret')).toEqual([]);
  });

  it('scales the server on the guide triggers: CPU 70 %, memory 80 %', () => {
    const hpa = find('HorizontalPodAutoscaler', 'mcp-financial-server')!;
    const metrics = (hpa.spec!.metrics as Array<{ resource: { name: string; target: { averageUtilization: number } } }>).map((m) => [m.resource.name, m.resource.target.averageUtilization]);
    expect(metrics).toEqual([
      ['cpu', 70],
      ['memory', 80],
    ]);
  });

  it('the PrometheusRule holds exactly monitoring/rules, and promtool accepts it', () => {
    const rule = find('PrometheusRule', 'mcp-financial-server')!;
    const dir = path.join(ROOT, 'monitoring/rules');
    const groups = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.yml'))
      .sort()
      .flatMap((f) => (parse(fs.readFileSync(path.join(dir, f), 'utf8')) as { groups: unknown[] }).groups);
    expect(rule.spec!.groups).toEqual(groups);
    const file = path.join(os.tmpdir(), `k8s-rules-${process.pid}.yml`);
    fs.writeFileSync(file, stringify({ groups: rule.spec!.groups }));
    try {
      const r = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
      expect(`${r.stdout}${r.stderr}`).toMatch(/SUCCESS: \d+ rules found/);
    } finally {
      fs.rmSync(file, { force: true });
    }
  });

  it('the ServiceMonitor scrapes the Services whose names are the jobs the rules select', () => {
    const sm = find('ServiceMonitor', 'mcp-financial-ops')!;
    const selector = (sm.spec!.selector as { matchLabels: Record<string, string> }).matchLabels;
    for (const name of deployments) {
      const svc = find('Service', name)! as K8s & { metadata: { labels: Record<string, string> } };
      expect(Object.entries(selector).every(([k, v]) => svc.metadata.labels[k] === v)).toBe(true);
    }
    const rulesText = fs.readFileSync(path.join(ROOT, 'monitoring/rules/mcp-financial-server.yml'), 'utf8');
    expect(rulesText).toContain('job="mcp-financial-server"');
  });
});
