/**
 * The image's HEALTHCHECK: finds which process this container runs (PID 1's
 * command line, `node dist/<process>/main.js`), asks its health URL on
 * loopback and exits 0 when it answers 200. One image, one check, any command.
 *
 *   node dist/scripts/container-health.js [server|bot|workers|sandbox]
 */
import fs from 'node:fs';

const PORTS: Record<string, { env: string; port: number; path: string }> = {
  server: { env: 'SERVER_PORT', port: 3000, path: '/health' },
  bot: { env: 'BOT_PORT', port: 3001, path: '/health' },
  workers: { env: 'WORKERS_METRICS_PORT', port: 3002, path: '/health' },
  sandbox: { env: 'SANDBOX_SLACK_PORT', port: 3100, path: '/_sandbox/stats' },
};

function runningProcess(): string | undefined {
  try {
    const cmdline = fs.readFileSync('/proc/1/cmdline', 'utf8');
    return /dist\/(server|bot|workers|sandbox)\/main\.js/.exec(cmdline)?.[1];
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const name = process.argv[2] ?? runningProcess();
  const target = name ? PORTS[name] : undefined;
  if (!target) {
    console.error(`container-health: cannot tell which process runs here (got "${name ?? ''}")`);
    process.exit(1);
  }
  const port = Number(process.env[target.env] || target.port);
  const res = await fetch(`http://127.0.0.1:${port}${target.path}`, { signal: AbortSignal.timeout(4000) });
  if (res.status !== 200) {
    console.error(`container-health: ${name} answered ${res.status}`);
    process.exit(1);
  }
}

main().catch((err: Error) => {
  console.error(`container-health: ${err.message}`);
  process.exit(1);
});
