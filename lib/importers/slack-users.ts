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

/** Looks every source user up once; the unmatched keep a name from their source user name or email. */
export async function matchUsers(users: readonly SourceUser[], lookup: EmailLookup): Promise<{ matched: MappedUser[]; unmatched: MappedUser[] }> {
  const matched: MappedUser[] = [];
  const unmatched: MappedUser[] = [];
  for (const u of users) {
    const found = u.email ? await lookup(u.email) : undefined;
    if (found) matched.push({ sourceId: u.id, email: u.email, name: slug(found.name, found.id.toLowerCase()), slackId: found.id });
    else unmatched.push({ sourceId: u.id, email: u.email, name: slug(u.username ?? u.email.split('@')[0] ?? '', `user-${u.id.toLowerCase()}`) });
  }
  return { matched, unmatched };
}
