/**
 * Mints a bearer token for the MCP Financial Server (HS256, JWT_SECRET).
 *   npm run token -- --sub alice --scope "ops:read accounts:read" --ttl 12h
 * Prints the token only, so `TOKEN=$(npm run -s token -- ...)` works.
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { durationSeconds, mintToken } from '../lib/jwt';
import { isKnownScope, SCOPES } from '../lib/scopes';

const ArgsSchema = z.object({
  sub: z.string().min(1, '--sub is required'),
  scope: z
    .string()
    .min(1, '--scope is required')
    .refine((s) => s.split(' ').filter(Boolean).every(isKnownScope), `--scope: unknown scope; known: ${SCOPES.join(', ')}`),
  ttl: z.string().default('1h'),
  secret: z.string().min(16, 'JWT_SECRET must be set (at least 16 characters)'),
  issuer: z.string().optional(),
  audience: z.string().optional(),
});

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { sub: { type: 'string' }, scope: { type: 'string' }, ttl: { type: 'string' } },
    strict: true,
  });
  const parsed = ArgsSchema.safeParse({
    ...values,
    secret: process.env.JWT_SECRET ?? '',
    issuer: process.env.JWT_ISSUER || undefined,
    audience: process.env.JWT_AUDIENCE || undefined,
  });
  if (!parsed.success) {
    throw new Error(parsed.error.issues.map((i) => i.message).join('; '));
  }
  const a = parsed.data;
  durationSeconds(a.ttl); // a bad --ttl fails here with the duration hint
  const token = await mintToken({ secret: a.secret, subject: a.sub, scope: a.scope.split(' ').filter(Boolean).join(' '), ttl: a.ttl, issuer: a.issuer, audience: a.audience });
  process.stdout.write(`${token}\n`);
}

main().catch((err: Error) => {
  console.error(`token: ${err.message}`);
  console.error('usage: npm run token -- --sub <name> --scope "<scopes>" [--ttl 1h]   (needs JWT_SECRET)');
  process.exit(2);
});
