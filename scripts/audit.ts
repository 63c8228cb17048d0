/**
 * The ops audit from a shell (REDIS_URL, REDIS_PREFIX as the bot and workers use them):
 *   npm run audit -- --since <duration|ISO time> [--incident INC-42]   JSON lines on stdout
 *   npm run audit -- --verify                                          walks the hash chain
 * --verify exits 0 when the chain is intact, 1 with the first broken entry
 * (its seq, stream id and what is wrong) when not. Bad arguments exit 2.
 */
import { z } from 'zod';
import { createAuditLog } from '../lib/audit-log';
import { parseSince, SINCE_HINT } from '../lib/audit-window';
import { closeRedis, createRedis } from '../lib/redis';

const EnvSchema = z.object({
  REDIS_URL: z.string().url('REDIS_URL: expected a redis:// URL').default('redis://127.0.0.1:6379'),
  REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'REDIS_PREFIX: letters, digits, _ . - only').default('mfo'),
});

const USAGE = `usage: npm run audit -- --since <${SINCE_HINT}> [--incident INC-42] | --verify`;

type Args = { verify: true } | { verify: false; since?: Date; incidentId?: string };

function parseArgs(argv: readonly string[], now: Date): Args {
  if (argv.length === 1 && argv[0] === '--verify') return { verify: true };
  let since: Date | undefined;
  let incidentId: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i];
    const value = argv[i + 1];
    if (word === '--since' && value) {
      since = parseSince(value, now);
      i++;
    } else if (word === '--incident' && value && /^INC-\d+$/.test(value)) {
      incidentId = value;
      i++;
    } else throw new Error(`unexpected "${word}"`);
  }
  if (!since && !incidentId) throw new Error('give --since (or --incident), or --verify');
  return { verify: false, since, incidentId };
}

async function main(): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2), new Date());
  } catch (err) {
    console.error(`audit: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const cleaned = Object.fromEntries(Object.entries(process.env).filter(([, v]) => v !== ''));
  const env = EnvSchema.parse(cleaned);
  const redis = createRedis(env.REDIS_URL, { maxRetriesPerRequest: 1, retryStrategy: () => null });
  try {
    const audit = createAuditLog({ redis, prefix: env.REDIS_PREFIX });
    if (args.verify) {
      const result = await audit.verify();
      if (result.ok) {
        console.error(`audit: chain intact, ${result.entries} entries`);
        return 0;
      }
      console.log(JSON.stringify(result.problem));
      console.error(`audit: BROKEN at entry ${result.problem?.seq} (${result.problem?.id}): ${result.problem?.reason}`);
      return 1;
    }
    for await (const entry of audit.scan(args.since ? String(args.since.getTime()) : '-')) {
      if (args.incidentId && entry.incidentId !== args.incidentId) continue;
      process.stdout.write(`${JSON.stringify(entry)}\n`);
    }
    return 0;
  } finally {
    await closeRedis(redis);
  }
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`audit: ${err.message}`);
    process.exit(2);
  },
);
