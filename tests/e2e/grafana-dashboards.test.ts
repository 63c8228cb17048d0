/**
 * The Grafana dashboards (monitoring/grafana/dashboards/): every panel's PromQL
 * parses (promtool, as recording rules), and selects only series that the
 * running processes export: `npm start`'s stack is driven through MCP calls,
 * refused tokens, alerts, an escalation, an acknowledgement, a missed SLA, a
 * runbook action and Slack 429s, then each selector of each panel must match a
 * sample on the /metrics of the job it names (monitoring/prometheus.yml).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { mintToken } from '../../lib/jwt';
import { createMcpClient } from '../../lib/mcp-client';
import { createSandboxClient } from '../../sandbox/slack';
import { firingFor, resolvedVersion } from '../helpers/fixtures';
import { eventually } from '../helpers/ports';
import { familyOf, parseExposition, selectorsIn, selects, type Sample } from '../helpers/promql-selectors';
import { postAlert, startStack, STACK_SECRETS, type Stack } from '../helpers/stack';

jest.setTimeout(180_000);

const ROOT = path.join(__dirname, '..', '..');
const DASHBOARDS = path.join(ROOT, 'monitoring/grafana/dashboards');

interface Panel {
  type: string;
  title: string;
  datasource?: { uid: string };
  targets?: Array<{ expr: string; refId: string }>;
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
}

const dashboards = fs
  .readdirSync(DASHBOARDS)
  .filter((f) => f.endsWith('.json'))
  .map((f) => ({ file: f, dash: JSON.parse(fs.readFileSync(path.join(DASHBOARDS, f), 'utf8')) as Dashboard }));
const queries = dashboards.flatMap(({ dash }) =>
  dash.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `${dash.title} / ${p.title} / ${t.refId}`, expr: t.expr }))),
);

/** Families that need Slack to refuse a write for good (channel_not_found, ...): checked as declared, not as sampled. */
const DECLARED_ONLY = new Set(['slack_outbox_refused_total']);

function promtool(args: string[]): { status: number | null; output: string } {
  const r = spawnSync('promtool', args, { encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw new Error(`promtool could not run (${r.error.message}); apt-get install prometheus`);
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('the dashboards', () => {
  let tmp: string;
  beforeAll(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dashboards-'))));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("are the guide's three and ChatOps, on the provisioned datasource", () => {
    expect(dashboards.map((d) => d.dash.title).sort()).toEqual(
      ['MCP Financial Ops ChatOps', 'MCP Financial Ops Infrastructure', 'MCP Financial Server Overview', 'MCP Financial Server Performance'].sort(),
    );
    expect(new Set(dashboards.map((d) => d.dash.uid)).size).toBe(dashboards.length);
    const ds = parse(fs.readFileSync(path.join(ROOT, 'monitoring/grafana/provisioning/datasources/prometheus.yml'), 'utf8')) as { datasources: Array<{ uid: string }> };
    for (const { dash } of dashboards) {
      for (const p of dash.panels.filter((x) => x.targets)) expect([dash.title, p.title, p.datasource?.uid]).toEqual([dash.title, p.title, ds.datasources[0]!.uid]);
    }
    expect(queries.length).toBeGreaterThan(50);
  });

  it("every panel's PromQL parses (promtool check rules)", () => {
    const file = path.join(tmp, 'panels.yml');
    fs.writeFileSync(file, stringify({ groups: [{ name: 'panels', rules: queries.map((q, i) => ({ record: `dashboard:panel_${i}`, expr: q.expr })) }] }));
    const r = promtool(['check', 'rules', file]);
    expect(r.output).toContain(`SUCCESS: ${queries.length} rules found`);
    expect(r.status).toBe(0);
  });

  it('promtool refuses a panel that does not parse (the check can fail)', () => {
    const file = path.join(tmp, 'bad.yml');
    fs.writeFileSync(file, stringify({ groups: [{ name: 'bad', rules: [{ record: 'dashboard:bad', expr: 'sum by (le (rate(x[5m]))' }] }] }));
    expect(promtool(['check', 'rules', file]).status).not.toBe(0);
  });
});

describe("every panel selects series the running processes export", () => {
  let stack: Stack;
  const byJob = new Map<string, { samples: Sample[]; families: Set<string> }>();

  beforeAll(async () => {
    stack = await startStack({ ESCALATION_TIME_SCALE: '0.002' });
    const sandbox = createSandboxClient(stack.url('SANDBOX_SLACK_PORT'), { token: STACK_SECRETS.SLACK_BOT_TOKEN });
    const mcpUrl = stack.url('SERVER_PORT', '/mcp');

    // MCP traffic: successes, a tool error, refused and invalid tokens.
    const mint = { secret: STACK_SECRETS.JWT_SECRET, subject: 'dash', scope: 'accounts:read ops:read', issuer: 'mcp-financial-ops-local', audience: 'mcp-financial-server' };
    const mcp = createMcpClient({ url: mcpUrl, auth: { mint } });
    const list = await mcp.callTool('list_accounts', { limit: 1 });
    const id = (list.structuredContent as { accounts: Array<{ id: string }> }).accounts[0]!.id;
    await mcp.callTool('get_account_balance', { accountId: id });
    await mcp.callTool('get_account', { accountId: 'acc_missing' });
    const call = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'ops_health_check', arguments: {} } };
    const post = (auth?: string) =>
      fetch(mcpUrl, { method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', ...(auth ? { Authorization: auth } : {}) }, body: JSON.stringify(call) });
    await post();
    await post('Bearer not.a.jwt');
    await post(`Bearer ${await mintToken({ ...mint, scope: 'accounts:read', ttl: 60 })}`);

    // One incident acknowledged after its first escalation step, with a health check; one left to miss its SLA.
    const acked = firingFor('DashAcked', { severity: 'critical' });
    const missed = firingFor('DashMissed', { severity: 'critical' });
    const a = await postAlert(stack, acked);
    await postAlert(stack, missed);
    const root = await eventually(async () => (await sandbox.history('ops-critical')).find((m) => m.text.includes(`${a.incident},`)), 60_000, 200);
    const botMetrics = async () => (await fetch(stack.url('BOT_PORT', '/metrics'))).text();
    await eventually(async () => /escalation_steps_fired_total\{/.test(await botMetrics()), 30_000, 200);
    await sandbox.click({ user: 'alice', channel: 'ops-critical', ts: root.ts, action_id: 'incident_ack' });
    await sandbox.click({ user: 'alice', channel: 'ops-critical', ts: root.ts, action_id: 'runbook_health_check' });
    await eventually(async () => (await sandbox.replies('ops-critical', root.ts)).some((m) => m.text.includes('Health check (full)')), 60_000, 200);
    const wanted = [/sla_breaches_total\{/, /incident_time_to_acknowledge_seconds_bucket\{/];
    await eventually(async () => {
      const text = await botMetrics();
      const missing = wanted.filter((re) => !re.test(text));
      if (missing.length) throw new Error(`no sample yet of ${missing.join(', ')}`);
      return true;
    }, 60_000, 250);
    await postAlert(stack, resolvedVersion(acked));
    await postAlert(stack, resolvedVersion(missed));
    await eventually(async () => /incident_time_to_resolve_seconds_bucket\{/.test(await botMetrics()), 30_000, 200);

    // Slack answers 429 to a second post within 2 s: the outbox waits Retry-After and sends again.
    const limits = (body: unknown) =>
      fetch(stack.url('SANDBOX_SLACK_PORT', '/_sandbox/rate-limits'), { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    await limits({ limits: { 'chat.postMessage': { perMinute: 30, burst: 1, scope: 'method' } } });
    await postAlert(stack, firingFor('DashLimitedA', { severity: 'warning' }));
    await postAlert(stack, firingFor('DashLimitedB', { severity: 'critical' }));
    await eventually(async () => /slack_ratelimited_total\{/.test(await botMetrics()), 60_000, 250);
    await limits({ limits: false });

    // What Prometheus would scrape, by job (monitoring/prometheus.yml's names).
    const targets: Record<string, string> = {
      'mcp-financial-server': stack.url('SERVER_PORT', '/metrics'),
      'mcp-ops-bot': stack.url('BOT_PORT', '/metrics'),
      'mcp-ops-workers': stack.url('WORKERS_METRICS_PORT', '/metrics'),
      'account-service': stack.url('ACCOUNT_SERVICE_PORT', '/metrics'),
      'transaction-service': stack.url('TRANSACTION_SERVICE_PORT', '/metrics'),
    };
    const jobs = (parse(fs.readFileSync(path.join(ROOT, 'monitoring/prometheus.yml'), 'utf8')) as { scrape_configs: Array<{ job_name: string }> }).scrape_configs.map((j) => j.job_name);
    expect(Object.keys(targets).sort()).toEqual([...jobs].sort());
    for (const [job, url] of Object.entries(targets)) byJob.set(job, parseExposition(await (await fetch(url)).text()));
  }, 170_000);

  afterAll(async () => {
    await stack?.cleanup();
  });

  it('each selector of each panel matches a live series of the job it names', () => {
    const misses: string[] = [];
    for (const q of queries) {
      for (const s of selectorsIn(q.expr)) {
        const job = s.matchers.find((m) => m.label === 'job');
        const jobs = [...byJob.keys()].filter((j) => !job || (job.op === '=' ? j === job.value : job.op === '=~' ? new RegExp(`^(?:${job.value})$`).test(j) : true));
        if (jobs.length === 0) {
          misses.push(`${s.text}: no job ${job?.value}   (${q.where})`);
          continue;
        }
        if (s.name === 'up') continue; // Prometheus writes it for every job above
        const live = jobs.some((j) => byJob.get(j)!.samples.some((x) => selects(s, x)));
        const declared = DECLARED_ONLY.has(familyOf(s.name)) && jobs.some((j) => byJob.get(j)!.families.has(familyOf(s.name)));
        if (!live && !declared) misses.push(`${s.text}   (${q.where})`);
      }
    }
    expect(misses).toEqual([]);
  });

  it('the check can fail: a made-up name and a label value nobody exports miss', () => {
    const samples = [...byJob.values()].flatMap((j) => j.samples);
    for (const expr of ['rate(mcp_requests_totl[5m])', 'mcp_requests_total{status="no-such-status"}', 'incidents_open{priority="P9"}']) {
      expect([expr, selectorsIn(expr).every((s) => samples.some((x) => selects(s, x)))]).toEqual([expr, false]);
    }
  });
});
