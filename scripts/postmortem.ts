/**
 * Prints an incident's post-mortem from the running bot's API.
 *   npm run postmortem -- INC-42 [--json]
 * Reads BOT_URL (default http://127.0.0.1:3001) and BOT_API_TOKEN (npm start
 * writes it to .tmp/local.env). Exit code: 0 printed, 1 unknown incident or
 * refused, 2 bad usage or bot unreachable.
 */
import { z } from 'zod';

const EnvSchema = z.object({
  BOT_URL: z.string().url().default('http://127.0.0.1:3001'),
  BOT_API_TOKEN: z.string().min(16, 'BOT_API_TOKEN must be set (npm start writes it to .tmp/local.env)'),
});

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const id = args.find((a) => !a.startsWith('-'))?.toUpperCase();
  if (!id || !/^INC-\d+$/.test(id)) {
    console.error('usage: npm run postmortem -- INC-42 [--json]');
    return 2;
  }
  const cleaned = Object.fromEntries(Object.entries(process.env).filter(([, v]) => v !== ''));
  const parsed = EnvSchema.safeParse(cleaned);
  if (!parsed.success) {
    console.error(`postmortem: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    return 2;
  }
  const format = args.includes('--json') ? 'json' : 'md';
  const url = `${parsed.data.BOT_URL.replace(/\/$/, '')}/incidents/${id}/postmortem.${format}`;
  const res = await fetch(url, { headers: { Authorization: `Bearer ${parsed.data.BOT_API_TOKEN}` }, signal: AbortSignal.timeout(15_000) });
  const body = await res.text();
  if (!res.ok) {
    const message = (() => {
      try {
        return (JSON.parse(body) as { message?: string }).message ?? body;
      } catch {
        return body;
      }
    })();
    console.error(`postmortem: ${res.status} ${message}`);
    return 1;
  }
  process.stdout.write(format === 'json' ? `${JSON.stringify(JSON.parse(body), null, 2)}\n` : body);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`postmortem: cannot reach the bot: ${err.message}`);
    process.exit(2);
  },
);
