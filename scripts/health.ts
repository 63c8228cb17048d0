/**
 * The seed's `./scripts/health-check.sh full`: calls ops_health_check over MCP
 * with a short ops:read token minted from JWT_SECRET and prints the report.
 *   npm run health -- [basic|full] [--json]
 * Exit code: 0 healthy, 1 degraded, 2 unhealthy or unreachable.
 */
import { z } from 'zod';
import { createMcpClient } from '../lib/mcp-client';

const EnvSchema = z.object({
  MCP_SERVER_URL: z.string().url().default('http://127.0.0.1:3000/mcp'),
  JWT_SECRET: z.string().min(16, 'JWT_SECRET must be set (at least 16 characters)'),
  JWT_ISSUER: z.string().optional(),
  JWT_AUDIENCE: z.string().optional(),
});

const EXIT = { healthy: 0, degraded: 1, unhealthy: 2 } as const;

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const mode = args.find((a) => !a.startsWith('-')) ?? 'basic';
  if (mode !== 'basic' && mode !== 'full') throw new Error(`mode must be basic or full, got "${mode}"`);
  const cleaned = Object.fromEntries(Object.entries(process.env).filter(([, v]) => v !== ''));
  const parsed = EnvSchema.safeParse(cleaned);
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  const env = parsed.data;
  const client = createMcpClient({
    url: env.MCP_SERVER_URL,
    clientName: 'health-script',
    timeoutMs: 20_000,
    auth: { mint: { secret: env.JWT_SECRET, subject: 'health-script', scope: 'ops:read', ttl: 60, issuer: env.JWT_ISSUER, audience: env.JWT_AUDIENCE } },
  });
  const result = await client.callTool('ops_health_check', { mode });
  if (result.isError) throw new Error(result.text);
  const status = (result.structuredContent?.status ?? 'unhealthy') as keyof typeof EXIT;
  console.log(args.includes('--json') ? JSON.stringify(result.structuredContent, null, 2) : result.text);
  return EXIT[status] ?? 2;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`health: UNHEALTHY — ${err.message}`);
    process.exit(2);
  },
);
