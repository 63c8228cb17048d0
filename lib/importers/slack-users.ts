import { WebClient } from '@slack/web-api';
import { z } from 'zod';
import { CodedError, ErrorCode } from '../errors';
import { slug, type MappedUser, type SourceUser } from './import-plan';

/**
 * Matches source users to Slack users by email (`users.lookupByEmail`, which
 * needs the `users:read.email` scope). The config names a person by their
 * Slack user name and ties it to the id (`rbac.users.<name>.slack_id`).
 */

export type EmailLookup = (email: string) => Promise<{ id: string; name: string } | undefined>;

const LookupAnswerSchema = z.object({ ok: z.literal(true), user: z.object({ id: z.string(), name: z.string() }) });

export function createSlackEmailLookup(token: string, slackApiUrl?: string): EmailLookup {
  const client = new WebClient(token, { ...(slackApiUrl ? { slackApiUrl } : {}), retryConfig: { retries: 3 } });
  return async (email) => {
    try {
      const answer = LookupAnswerSchema.parse(await client.users.lookupByEmail({ email }));
      return answer.user;
    } catch (err) {
      const code = (err as { data?: { error?: string } }).data?.error;
      if (code === 'users_not_found') return undefined;
      throw new CodedError(ErrorCode.SlackApi, `Slack users.lookupByEmail failed for ${email}: ${code ?? (err as Error).message}`);
    }
  };
}

/** A Slack user id as `--map` takes it: U… or W… (Enterprise Grid). */
export const SlackUserIdSchema = z.string().regex(/^[UW][A-Z0-9]+$/, 'expected a Slack user id (U… or W…)');

/** `--map <email>=<SlackUserId>` entries → email (lower case) → Slack user id. */
export const UserMapSchema = z
  .array(
    z
      .string()
      .regex(/^[^\s=]+@[^\s=]+=[UW][A-Z0-9]+$/, '--map: expected <email>=<SlackUserId>, the id U… or W…')
      .transform((entry) => entry.split('=') as [string, string]),
  )
  .transform((pairs) => Object.fromEntries(pairs.map(([email, id]) => [email.toLowerCase(), id])));

/**
 * Looks every source user up once; `map` (email → Slack user id, from `--map`)
 * is used before Slack is asked. A mapped person is named from their source
 * user name or email, as the unmatched are.
 */
export async function matchUsers(
  users: readonly SourceUser[],
  lookup: EmailLookup,
  map: Readonly<Record<string, string>> = {},
): Promise<{ matched: MappedUser[]; unmatched: MappedUser[] }> {
  const matched: MappedUser[] = [];
  const unmatched: MappedUser[] = [];
  for (const u of users) {
    const sourceName = slug(u.username ?? u.email.split('@')[0] ?? '', `user-${u.id.toLowerCase()}`);
    const mapped = map[u.email.toLowerCase()];
    if (mapped) {
      matched.push({ sourceId: u.id, email: u.email, name: sourceName, slackId: mapped, via: 'map' });
      continue;
    }
    const found = u.email ? await lookup(u.email) : undefined;
    if (found) matched.push({ sourceId: u.id, email: u.email, name: slug(found.name, found.id.toLowerCase()), slackId: found.id, via: 'email' });
    else unmatched.push({ sourceId: u.id, email: u.email, name: sourceName });
  }
  return { matched, unmatched };
}
