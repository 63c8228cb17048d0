import fs from 'node:fs';
import { parseDocument } from 'yaml';
import { ConfigError, ValidationError } from '../errors';
import { DEFAULT_OPS_CONFIG_PATH, loadOpsConfig, type OnCallOverride } from '../ops-config';
import { blockingUsers, buildFragment, describeBlocking, describePlan, type ImportPlan } from './import-plan';
import { matchUsers as matchSlackUsers, SlackUserIdSchema, type EmailLookup } from './slack-users';
import type { SourceClient } from './source-client';
import { fetchGrafanaOnCall, grafanaSourceUsers, mapGrafanaOnCall } from './grafana-oncall';
import { fetchOpsgenie, mapOpsgenie, opsgenieSourceUsers } from './opsgenie';
import { fetchPagerDuty, mapPagerDuty, pagerDutySourceUsers } from './pagerduty';

/**
 * One import run: read the source, match users to Slack, map, then either
 * print the plan (`plan`) or write the config fragment and store the
 * overrides (`apply`). Applying twice changes nothing the second time: the
 * file is only rewritten when its text differs, and overrides are stored
 * under the source's ids.
 */

export const SOURCES = ['grafana-oncall', 'opsgenie', 'pagerduty'] as const;
export type SourceName = (typeof SOURCES)[number];

export interface ImportOptions {
  source: SourceName;
  mode: 'plan' | 'apply';
  /** Where `apply` writes the YAML fragment. */
  out?: string;
  /** The ops config the import adds to. @defaultValue the built-in default */
  base?: string;
  /** RBAC role for matched users new to the config; on call, only if it may acknowledge. @defaultValue responder */
  role?: string;
  /** Email → Slack user id (`--map`), used before `users.lookupByEmail`. */
  map?: Record<string, string>;
}

export interface ImportDeps {
  client: SourceClient;
  lookupEmail: EmailLookup;
  /** Stores one override under a stable id (the bot's override store `put`). */
  putOverride: (id: string, override: OnCallOverride, now: Date) => Promise<'added' | 'updated' | 'unchanged' | 'over'>;
  now?: () => Date;
}

export interface ImportResult {
  plan: ImportPlan;
  report: string;
  yaml: string;
  file?: 'written' | 'unchanged';
  overrides: Record<'added' | 'updated' | 'unchanged' | 'over', number>;
}

export async function readSource(source: SourceName, client: SourceClient, lookupEmail: EmailLookup, now: Date, map: Record<string, string> = {}): Promise<ImportPlan> {
  const matchUsers = (users: Parameters<typeof matchSlackUsers>[0]) => matchSlackUsers(users, lookupEmail, map);
  switch (source) {
    case 'grafana-oncall': {
      const snapshot = await fetchGrafanaOnCall(client);
      return mapGrafanaOnCall(snapshot, await matchUsers(grafanaSourceUsers(snapshot)));
    }
    case 'opsgenie': {
      const snapshot = await fetchOpsgenie(client);
      return mapOpsgenie(snapshot, await matchUsers(opsgenieSourceUsers(snapshot)));
    }
    case 'pagerduty': {
      const snapshot = await fetchPagerDuty(client, now);
      return mapPagerDuty(snapshot, await matchUsers(pagerDutySourceUsers(snapshot)));
    }
  }
}

export async function runImport(options: ImportOptions, deps: ImportDeps): Promise<ImportResult> {
  if (options.mode === 'apply' && !options.out) throw new ValidationError('--apply needs --out <file> for the ops config fragment');
  const basePath = options.base ?? DEFAULT_OPS_CONFIG_PATH;
  const base = loadOpsConfig(basePath);
  const baseRaw = parseDocument(fs.readFileSync(basePath, 'utf8')).toJS() as Record<string, unknown>;
  const now = deps.now?.() ?? new Date();
  const map: Record<string, string> = {};
  for (const [email, id] of Object.entries(options.map ?? {})) {
    if (!SlackUserIdSchema.safeParse(id).success) throw new ValidationError(`--map ${email}=${id}: expected a Slack user id (U… or W…)`);
    map[email.toLowerCase()] = id;
  }
  const plan = await readSource(options.source, deps.client, deps.lookupEmail, now, map);
  const known = new Set([...plan.users, ...plan.unmatchedUsers].map((u) => u.email.toLowerCase()));
  const unknownMaps = Object.keys(map).filter((email) => !known.has(email));
  if (unknownMaps.length) throw new ValidationError(`--map: no person in ${options.source} has the email ${unknownMaps.join(', ')}`);
  const blocking = blockingUsers(plan);
  // People on call whom Slack does not know could not be paged or act: --apply writes nothing while there are any.
  if (options.mode === 'apply' && blocking.length) {
    throw new ValidationError(
      `--apply refused, nothing was written: ${blocking.length} ${blocking.length === 1 ? 'person' : 'people'} on call in ${options.source} ${blocking.length === 1 ? 'is' : 'are'} not in Slack, so could not be paged or act: ${blocking.map(describeBlocking).join('; ')}`,
      { unmatched: blocking.map((b) => ({ email: b.user.email, name: b.user.name, where: b.where })) },
    );
  }
  // Validated before anything is written: a plan that does not make a valid config writes nothing.
  const { yaml, raised } = buildFragment(plan, baseRaw, base, options.role);
  const overrides = { added: 0, updated: 0, unchanged: 0, over: 0 };
  const report = describePlan(plan, raised);
  if (options.mode === 'plan') return { plan, report, yaml, overrides };

  const out = options.out!;
  let previous: string | undefined;
  try {
    previous = fs.readFileSync(out, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new ConfigError(`cannot read ${out}: ${(err as Error).message}`);
  }
  let file: 'written' | 'unchanged' = 'unchanged';
  if (previous !== yaml) {
    const tmp = `${out}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, yaml, { mode: 0o644 });
    fs.renameSync(tmp, out);
    file = 'written';
  }
  for (const { id, override } of plan.overrides) overrides[await deps.putOverride(id, override, now)] += 1;
  return { plan, report, yaml, file, overrides };
}
