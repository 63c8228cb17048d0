import fs from 'node:fs';
import path from 'node:path';

/**
 * The package's root folder (the one holding package.json), found by walking up
 * from this file. From source that is one level up; from the build
 * (`dist/lib/package-root.js`) it is two. Files read at run time by path
 * (`runbooks/`, `config/`, `package.json`) are found from here, so both layouts
 * and the image (`/app/dist/...` next to `/app/runbooks`) work unchanged.
 */
export const PACKAGE_ROOT: string = findPackageRoot(__dirname);

export function findPackageRoot(start: string): string {
  let dir = start;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'runbooks'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return path.resolve(start, '..');
    dir = parent;
  }
}
