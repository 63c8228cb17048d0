import fs from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';

/**
 * Writes a runnable copy of monitoring/ (prometheus.yml, rules/, alertmanager.yml
 * and the webhook token file) with other addresses, a token and short
 * intervals: what the end-to-end tests and drills start real Prometheus and
 * Alertmanager with. The committed files stay the production shape.
 *
 *   npx tsx monitoring/render.ts --out /tmp/mon --token-file /run/secret --bot 127.0.0.1:3001
 */

export const MONITORING_DIR = __dirname;

/** host:port of each scrape job; a job left out keeps the committed target. */
export interface ScrapeTargets {
  server?: string;
  bot?: string;
  workers?: string;
  accountService?: string;
  transactionService?: string;
}

const JOB_OF: Record<keyof ScrapeTargets, string> = {
  server: 'mcp-financial-server',
  bot: 'mcp-ops-bot',
  workers: 'mcp-ops-workers',
  accountService: 'account-service',
  transactionService: 'transaction-service',
};

export interface RenderOptions {
  /** Directory to write into (created if missing). */
  outDir: string;
  /** The bot's webhook bearer token (ALERTMANAGER_WEBHOOK_TOKEN); written to a 0600 file. */
  webhookToken: string;
  /** Where Alertmanager posts. @defaultValue the committed http://127.0.0.1:3001/alertmanager/webhook */
  botWebhookUrl?: string;
  /** Where the ops-fallback receiver (the alert path's own alerts) posts. @defaultValue the committed placeholder */
  opsFallbackWebhookUrl?: string;
  /** Where the watchdog receiver (the Watchdog heartbeat, a dead man's switch) posts. @defaultValue the committed placeholder */
  watchdogWebhookUrl?: string;
  targets?: ScrapeTargets;
  /** Alertmanager addresses (host:port) Prometheus sends to. */
  alertmanagers?: string[];
  scrapeInterval?: string;
  evaluationInterval?: string;
  /** Replaces every alert's `for:` (e.g. "0s" so a fault alerts on the next evaluation). */
  alertFor?: string;
  /** Replaces every range in alert expressions, e.g. "[5m]" → "[20s]" so rates react and recover fast. */
  rangeWindow?: string;
  /** Alertmanager route timers. */
  groupWait?: string;
  groupInterval?: string;
  repeatInterval?: string;
  resolveTimeout?: string;
  /** Keep only these alerts (e.g. the ones a test provokes), so noisy ones cannot open stray incidents. */
  alerts?: string[];
  /** Leave these alerts out (e.g. a 7-day forecast that short local windows turn into noise). */
  dropAlerts?: string[];
  /** Replaces the base of every runbook_url (everything before "runbooks/<alertname>.yaml"). */
  runbookBaseUrl?: string;
}

export interface RenderedMonitoring {
  dir: string;
  prometheusConfig: string;
  alertmanagerConfig: string;
  rulesDir: string;
  tokenFile: string;
}

type Yaml = Record<string, unknown>;
const TOKEN_FILE = 'alertmanager-webhook.token';

function readYaml(file: string): Yaml {
  return parse(fs.readFileSync(file, 'utf8')) as Yaml;
}

function writeYaml(file: string, value: unknown): void {
  fs.writeFileSync(file, stringify(value, { lineWidth: 0 }));
}

function renderPrometheus(options: RenderOptions): Yaml {
  const config = readYaml(path.join(MONITORING_DIR, 'prometheus.yml'));
  const global = (config.global ?? {}) as Yaml;
  if (options.scrapeInterval) global.scrape_interval = options.scrapeInterval;
  if (options.evaluationInterval) global.evaluation_interval = options.evaluationInterval;
  config.global = global;
  if (options.alertmanagers) {
    config.alerting = { alertmanagers: [{ static_configs: [{ targets: options.alertmanagers }] }] };
  }
  const jobs = config.scrape_configs as Array<Yaml & { job_name: string }>;
  for (const [key, target] of Object.entries(options.targets ?? {})) {
    const job = jobs.find((j) => j.job_name === JOB_OF[key as keyof ScrapeTargets]);
    if (!job) throw new Error(`prometheus.yml has no job ${JOB_OF[key as keyof ScrapeTargets]}`);
    if (target) job.static_configs = [{ targets: [target] }];
  }
  return config;
}

function renderRules(file: string, options: RenderOptions): Yaml {
  const doc = readYaml(file);
  const groups = doc.groups as Array<{ rules: Yaml[] }>;
  for (const group of groups) {
    if (options.alerts) group.rules = group.rules.filter((r) => r.alert === undefined || options.alerts!.includes(String(r.alert)));
    if (options.dropAlerts) group.rules = group.rules.filter((r) => r.alert === undefined || !options.dropAlerts!.includes(String(r.alert)));
    for (const rule of group.rules) {
      if (rule.alert === undefined) continue;
      if (options.alertFor !== undefined) rule.for = options.alertFor;
      if (options.rangeWindow !== undefined) rule.expr = String(rule.expr).replace(/\[\d+[smhdwy]\]/g, `[${options.rangeWindow}]`);
      const annotations = rule.annotations as Yaml | undefined;
      if (options.runbookBaseUrl && annotations && typeof annotations.runbook_url === 'string') {
        annotations.runbook_url = annotations.runbook_url.replace(/^.*?(?=runbooks\/)/, options.runbookBaseUrl.replace(/\/?$/, '/'));
      }
    }
  }
  doc.groups = groups.filter((g) => g.rules.length > 0);
  return doc;
}

function renderAlertmanager(options: RenderOptions): Yaml {
  const config = readYaml(path.join(MONITORING_DIR, 'alertmanager.yml'));
  const global = (config.global ?? {}) as Yaml;
  if (options.resolveTimeout) global.resolve_timeout = options.resolveTimeout;
  config.global = global;
  const route = config.route as Yaml;
  if (options.groupWait) route.group_wait = options.groupWait;
  if (options.groupInterval) route.group_interval = options.groupInterval;
  if (options.repeatInterval) route.repeat_interval = options.repeatInterval;
  const urls: Record<string, string | undefined> = {
    'mcp-ops-bot': options.botWebhookUrl,
    'ops-fallback': options.opsFallbackWebhookUrl,
    watchdog: options.watchdogWebhookUrl,
  };
  for (const receiver of config.receivers as Array<{ name: string; webhook_configs?: Yaml[] }>) {
    const url = urls[receiver.name];
    for (const hook of receiver.webhook_configs ?? []) if (url) hook.url = url;
  }
  // A test's short timers apply to every route, the Watchdog's heartbeat included.
  for (const child of (route.routes ?? []) as Yaml[]) {
    if (options.groupWait && child.group_wait !== undefined) child.group_wait = options.groupWait;
    if (options.groupInterval && child.group_interval !== undefined) child.group_interval = options.groupInterval;
    if (options.repeatInterval && child.repeat_interval !== undefined) child.repeat_interval = options.repeatInterval;
  }
  return config;
}

/** Writes the copy and returns the paths to start Prometheus and Alertmanager with. */
export function renderMonitoring(options: RenderOptions): RenderedMonitoring {
  if (!options.webhookToken) throw new Error('renderMonitoring: webhookToken is required');
  const dir = path.resolve(options.outDir);
  const rulesDir = path.join(dir, 'rules');
  fs.mkdirSync(rulesDir, { recursive: true });

  const prometheusConfig = path.join(dir, 'prometheus.yml');
  writeYaml(prometheusConfig, renderPrometheus(options));
  for (const name of fs.readdirSync(path.join(MONITORING_DIR, 'rules'))) {
    if (name.endsWith('.yml')) writeYaml(path.join(rulesDir, name), renderRules(path.join(MONITORING_DIR, 'rules', name), options));
  }
  const alertmanagerConfig = path.join(dir, 'alertmanager.yml');
  writeYaml(alertmanagerConfig, renderAlertmanager(options));
  const tokenFile = path.join(dir, TOKEN_FILE);
  fs.writeFileSync(tokenFile, options.webhookToken, { mode: 0o600 });
  return { dir, prometheusConfig, alertmanagerConfig, rulesDir, tokenFile };
}

function cli(argv: string[]): void {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) args.set(argv[i]!.replace(/^--/, ''), argv[i + 1] ?? '');
  const tokenFile = args.get('token-file');
  const webhookToken = tokenFile ? fs.readFileSync(tokenFile, 'utf8').trim() : (args.get('token') ?? '');
  const out = renderMonitoring({
    outDir: args.get('out') ?? 'monitoring-rendered',
    webhookToken,
    botWebhookUrl: args.has('bot') ? `http://${args.get('bot')}/alertmanager/webhook` : undefined,
    scrapeInterval: args.get('scrape-interval'),
    evaluationInterval: args.get('evaluation-interval'),
    alertFor: args.get('for'),
    runbookBaseUrl: args.get('runbook-base-url'),
  });
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

if (require.main === module) cli(process.argv.slice(2));
