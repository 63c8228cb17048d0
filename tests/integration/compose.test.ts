/**
 * The one-host deploy: docker-compose.yml as Docker's own client resolves it
 * (`docker compose config`, or the standalone `docker-compose` where the plugin
 * is missing), checked for what the operations guide asks of it; its
 * Prometheus and Alertmanager configs checked by promtool and amtool.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';

const ROOT = path.join(__dirname, '..', '..');

/** The compose command this machine has: the docker CLI plugin first, then the standalone binary. */
function composeCommand(): string[] | undefined {
  if (spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' }).status === 0) return ['docker', 'compose'];
  if (spawnSync('docker-compose', ['version'], { encoding: 'utf8' }).status === 0) return ['docker-compose'];
  return undefined;
}

const compose = composeCommand();
const describeCompose = compose ? describe : describe.skip;
if (!compose) console.warn('compose.test: skipped: neither `docker compose` nor `docker-compose` is installed (apt-get install docker-compose)');

let tmp: string;
let envFile: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'compose-test-'));
  envFile = path.join(tmp, 'test.env');
  fs.writeFileSync(envFile, fs.readFileSync(path.join(ROOT, '.env.example'), 'utf8').replace(/^ENV_FILE=.*$/m, `ENV_FILE=${envFile}`));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function run(cmd: string[], args: string[], env: NodeJS.ProcessEnv = {}): { status: number; output: string; stdout: string } {
  const r = spawnSync(cmd[0]!, [...cmd.slice(1), ...args], { cwd: ROOT, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, timeout: 60_000 });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}`, stdout: r.stdout };
}

interface Service {
  image?: string;
  command?: string[];
  restart?: string;
  healthcheck?: { test: string[] };
  profiles?: string[];
  deploy?: { resources?: { limits?: { cpus?: string | number; memory?: string | number }; reservations?: { cpus?: string | number; memory?: string | number } } };
  environment?: Record<string, string>;
  volumes?: Array<string | { source?: string; target?: string }>;
  ports?: Array<string | { host_ip?: string }>;
  container_name?: string;
}

function config(file: string, profiles = ''): { services: Record<string, Service>; volumes: Record<string, unknown> } {
  const r = run(compose!, ['--env-file', envFile, '-f', file, 'config'], { COMPOSE_PROFILES: profiles });
  if (r.status !== 0) throw new Error(`${compose!.join(' ')} config -f ${file} failed:\n${r.output}`);
  return parse(r.stdout) as { services: Record<string, Service>; volumes: Record<string, unknown> };
}

const APPS = ['mcp-financial-server', 'mcp-ops-bot', 'mcp-ops-workers'];
const bytes = (v: string | number | undefined) => {
  if (typeof v === 'number') return v;
  const m = /^(\d+(?:\.\d+)?)\s*([kmg])?i?b?$/i.exec(String(v));
  const unit = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(m?.[2] ?? '').toLowerCase() as 'k' | 'm' | 'g'] ?? 1;
  return m ? Number(m[1]) * unit : NaN;
};

describeCompose('docker-compose.yml, as compose resolves it', () => {
  it('is accepted, with the product, Redis, Prometheus, Alertmanager and Grafana', () => {
    const { services } = config('docker-compose.yml');
    const always = Object.entries(services).filter(([, s]) => !s.profiles?.length).map(([n]) => n);
    expect(always.sort()).toEqual([...APPS, 'alertmanager', 'grafana', 'prometheus', 'redis'].sort());
  });

  it('rejects a broken file (the check can fail)', () => {
    const broken = path.join(tmp, 'broken.yml');
    fs.writeFileSync(broken, 'services:\n  x:\n    image: redis\n    restart: [not, a, policy]\n    no_such_key: 1\n');
    expect(run(compose!, ['--env-file', envFile, '-f', broken, 'config']).status).not.toBe(0);
  });

  it('runs one image with three commands, under the names the guide and the drivers use', () => {
    const { services } = config('docker-compose.yml');
    const images = new Set(APPS.map((s) => services[s]!.image));
    expect(images.size).toBe(1);
    expect(APPS.map((s) => services[s]!.command)).toEqual([['server'], ['bot'], ['workers']]);
    expect(services['mcp-financial-server']!.container_name).toBe('mcp-financial-server');
  });

  it('gives every service a health check and a restart policy, the apps the guide limits', () => {
    const { services } = config('docker-compose.yml', 'sandbox');
    for (const [name, s] of Object.entries(services)) {
      expect([name, s.restart]).toEqual([name, 'unless-stopped']);
      expect([name, s.healthcheck?.test?.length]).toEqual([name, expect.any(Number)]);
    }
    for (const name of APPS) {
      const r = services[name]!.deploy!.resources!;
      expect([name, Number(r.limits!.cpus), bytes(r.limits!.memory), Number(r.reservations!.cpus), bytes(r.reservations!.memory)]).toEqual([name, 2, 1024 ** 3, 1, 512 * 1024 ** 2]);
    }
  });

  it('runs Redis with AOF every second, never evicting, on a named volume', () => {
    const { services, volumes } = config('docker-compose.yml');
    const cmd = services.redis!.command!.join(' ');
    expect(cmd).toMatch(/--appendonly yes/);
    expect(cmd).toMatch(/--appendfsync everysec/);
    expect(cmd).toMatch(/--maxmemory-policy noeviction/);
    const vol = services.redis!.volumes!.map((v) => (typeof v === 'string' ? v : `${v.source}:${v.target}`));
    expect(vol).toContainEqual(expect.stringMatching(/^redis-data:\/data/));
    expect(Object.keys(volumes)).toEqual(expect.arrayContaining(['redis-data', 'prometheus_data']));
  });

  it('publishes ports on loopback unless BIND_ADDRESS says otherwise', () => {
    const { services } = config('docker-compose.yml');
    for (const [name, s] of Object.entries(services)) {
      for (const p of s.ports ?? []) expect([name, typeof p === 'string' ? p.split(':')[0] : p.host_ip]).toEqual([name, '127.0.0.1']);
    }
  });

  it('keeps the sandbox Slack and backends under the sandbox profile, aliased as the backends', () => {
    // docker compose v2 leaves inactive profiles out of `config`; docker-compose v1 lists them with their profiles.
    const sandbox = config('docker-compose.yml', 'sandbox').services.sandbox!;
    expect(sandbox.profiles).toEqual(['sandbox']);
    expect(sandbox.command).toEqual(['sandbox']);
    expect(sandbox.environment!.SLACK_REQUEST_URL).toBe('http://mcp-ops-bot:3001/slack/events');
  });

  it('takes the secrets from the env file, every one documented in .env.example', () => {
    const { services } = config('docker-compose.yml');
    const bot = services['mcp-ops-bot']!.environment!;
    expect(bot.SLACK_SIGNING_SECRET).toBe('replace-with-the-signing-secret');
    expect(services.alertmanager!.environment!.ALERTMANAGER_WEBHOOK_TOKEN).toBe('replace-with-32-random-bytes');
    const example = fs.readFileSync(path.join(ROOT, '.env.example'), 'utf8');
    const text = fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8');
    const used = new Set([...text.matchAll(/\$\{([A-Z_]+)[:?}-]/g)].map((m) => m[1]!));
    const documented = new Set([...example.matchAll(/^#?\s*([A-Z_]+)=/gm)].map((m) => m[1]!));
    const undocumented = [...used].filter((v) => !documented.has(v) && !['MFO_IMAGE', 'BIND_ADDRESS'].includes(v));
    expect(undocumented).toEqual([]);
    for (const secret of ['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'SLACK_APP_TOKEN', 'ALERTMANAGER_WEBHOOK_TOKEN', 'JWT_SECRET', 'GRAFANA_ADMIN_PASSWORD']) {
      expect(documented).toContain(secret);
    }
  });

  it('docker-compose.prod.yml (the operations guide name) is the same stack', () => {
    expect(config('docker-compose.prod.yml')).toEqual(config('docker-compose.yml'));
  });
});

describe('the compose monitoring configs', () => {
  const tool = (bin: string, args: string[]) => {
    const r = spawnSync(bin, args, { encoding: 'utf8', timeout: 60_000 });
    if (r.error) throw new Error(`${bin} could not run (${r.error.message}); install Debian's prometheus and prometheus-alertmanager`);
    return { status: r.status, output: `${r.stdout}${r.stderr}` };
  };

  it('prometheus.yml passes promtool with the committed rules, scraping the committed job names', () => {
    const dir = path.join(tmp, 'prom');
    fs.mkdirSync(path.join(dir, 'rules'), { recursive: true });
    fs.copyFileSync(path.join(ROOT, 'deploy/compose/prometheus.yml'), path.join(dir, 'prometheus.yml'));
    for (const f of fs.readdirSync(path.join(ROOT, 'monitoring/rules'))) fs.copyFileSync(path.join(ROOT, 'monitoring/rules', f), path.join(dir, 'rules', f));
    const r = tool('promtool', ['check', 'config', path.join(dir, 'prometheus.yml')]);
    expect(r.output).toMatch(/SUCCESS: \d+ rules found/);
    expect(r.status).toBe(0);
    const jobs = (file: string) => (parse(fs.readFileSync(path.join(ROOT, file), 'utf8')) as { scrape_configs: Array<{ job_name: string }> }).scrape_configs.map((j) => j.job_name);
    expect(jobs('deploy/compose/prometheus.yml')).toEqual(jobs('monitoring/prometheus.yml'));
  });

  it('alertmanager.yml passes amtool and routes like the committed one, to the bot with the bearer token', () => {
    const r = tool('amtool', ['check-config', path.join(ROOT, 'deploy/compose/alertmanager.yml')]);
    expect(r.status).toBe(0);
    type Am = { route: Record<string, unknown>; receivers: Array<{ webhook_configs: Array<{ url: string; http_config: { authorization: { type: string } } }> }> };
    const load = (f: string) => parse(fs.readFileSync(path.join(ROOT, f), 'utf8')) as Am;
    const ours = load('deploy/compose/alertmanager.yml');
    expect(ours.route).toEqual(load('monitoring/alertmanager.yml').route);
    expect(ours.receivers[0]!.webhook_configs[0]!.url).toBe('http://mcp-ops-bot:3001/alertmanager/webhook');
    expect(ours.receivers[0]!.webhook_configs[0]!.http_config.authorization.type).toBe('Bearer');
  });
});
