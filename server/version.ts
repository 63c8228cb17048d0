import fs from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../lib/package-root';

/** The package version, read once; reported by /health and ops_health_check. */
export const SERVER_VERSION: string = (() => {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
})();
