import fs from 'node:fs';
import path from 'node:path';

/** The package version, read once; reported by /health and ops_health_check. */
export const SERVER_VERSION: string = (() => {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
})();
