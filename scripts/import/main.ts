/**
 * Imports an on-call set-up from Grafana OnCall, Opsgenie or PagerDuty.
 *   npm run import -- grafana-oncall --url https://oncall.example.com --plan
 *   npm run import -- grafana-oncall --url https://oncall.example.com --apply --out config/imported.yaml
 *   ... --map dave@contractor.example=U0DAVE   (a Slack user id for someone Slack does not know by that email; repeatable)
 * Tokens come from the environment, never the command line (it shows in `ps`):
 *   GRAFANA_ONCALL_TOKEN, OPSGENIE_API_KEY, PAGERDUTY_TOKEN; SLACK_BOT_TOKEN (users:read.email)
 *   and SLACK_API_URL to match users; REDIS_URL and REDIS_PREFIX for the overrides (--apply).
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { createOverrideStore } from '../../bot/oncall/oncall-overrides';
import { asCodedError } from '../../lib/errors';
import { createSlackEmailLookup, UserMapSchema } from '../../lib/importers/slack-users';
import { createSourceClient } from '../../lib/importers/source-client';
import { runImport, SOURCES, type SourceName } from '../../lib/importers/run-import';
import { closeRedis, createRedis } from '../../lib/redis';
import { sourceAuth } from './source-auth';

const ArgsSchema = z
  .object({
    source: z.enum(SOURCES, { error: `expected a source: ${SOURCES.join(', ')}` }),
    url: z.string().url('--url: expected the source API base URL'),
    plan: z.boolean().default(false),
    apply: z.boolean().default(false),
    out: z.string().optional(),
    base: z.string().optional(),
    role: z.string().optional(),
    map: UserMapSchema.default({}),
    slackToken: z.string().min(1, 'SLACK_BOT_TOKEN must be set: users are matched to Slack by email'),
    slackApiUrl: z.string().url().optional(),
    redisUrl: z.string().default('redis://127.0.0.1:6379'),
    redisPrefix: z.string().default('ops'),
  })
  .refine((a) => a.plan !== a.apply, 'give exactly one of --plan or --apply');

export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      plan: { type: 'boolean' },
      apply: { type: 'boolean' },
      out: { type: 'string' },
      base: { type: 'string' },
      role: { type: 'string' },
      map: { type: 'string', multiple: true },
    },
    strict: true,
  });
  const parsed = ArgsSchema.safeParse({
    ...values,
    source: positionals[0],
    slackToken: env.SLACK_BOT_TOKEN ?? '',
    slackApiUrl: env.SLACK_API_URL || undefined,
    redisUrl: env.REDIS_URL || undefined,
    redisPrefix: env.REDIS_PREFIX || undefined,
  });
  if (!parsed.success) {
    process.stderr.write(`import: ${parsed.error.issues.map((i) => i.message).join('; ')}\n`);
    return 2;
  }
  const a = parsed.data;
  let redis: ReturnType<typeof createRedis> | undefined;
  try {
    const client = createSourceClient({
      source: a.source,
      baseUrl: a.url,
      authorization: sourceAuth(a.source as SourceName, env),
      ...(a.source === 'pagerduty' ? { accept: 'application/vnd.pagerduty+json;version=2' } : {}),
    });
    redis = a.apply ? createRedis(a.redisUrl) : undefined;
    const store = redis && createOverrideStore({ redis, prefix: a.redisPrefix });
    const result = await runImport(
      { source: a.source, mode: a.apply ? 'apply' : 'plan', out: a.out, base: a.base, role: a.role, map: a.map },
      {
        client,
        lookupEmail: createSlackEmailLookup(a.slackToken, a.slackApiUrl),
        putOverride: (id, override, now) => (store ? store.put(id, override, now) : Promise.resolve('unchanged')),
      },
    );
    process.stdout.write(`${result.report}\n`);
    if (a.apply) {
      const o = result.overrides;
      process.stdout.write(`\n${a.out}: ${result.file}. Overrides: ${o.added} added, ${o.updated} updated, ${o.unchanged} unchanged, ${o.over} already over.\n`);
    } else {
      process.stdout.write('\n--plan: nothing was written. The fragment --apply would write:\n\n');
      process.stdout.write(result.yaml);
    }
    return 0;
  } catch (err) {
    const e = asCodedError(err);
    process.stderr.write(`import: ${e.code}: ${e.message}\n`);
    return 1;
  } finally {
    if (redis) await closeRedis(redis);
  }
}

if (require.main === module) {
  main(process.argv.slice(2), process.env).then((code) => process.exit(code));
}
