/**
 * `npm run bench [-- args]`: runs every benchmark in turn, passing the args on.
 * Today that is bench/mcp-tools.ts (see its header for the method and flags).
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const benches = ['mcp-tools.ts'];
let failed = false;
for (const file of benches) {
  const r = spawnSync(process.execPath, [...process.execArgv, path.join(__dirname, file), ...process.argv.slice(2)], { stdio: 'inherit' });
  if (r.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
