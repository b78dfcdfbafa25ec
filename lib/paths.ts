// Where the package's own files are, wherever it is installed or run from.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

let root: string | undefined;

export function packageRoot(): string {
  if (root) return root;
  let dir = __dirname;
  for (;;) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj) && JSON.parse(readFileSync(pj, 'utf8')).name === 'isoprobe') return (root = dir);
    const up = dirname(dir);
    if (up === dir) throw new Error('isoprobe: cannot find the package root above ' + __dirname);
    dir = up;
  }
}

/** The static probe binary built by `npm install` (override with ISOPROBE_PROBE). */
export function probeBinaryPath(): string {
  return process.env.ISOPROBE_PROBE || join(packageRoot(), 'build', 'Release', 'isoprobe-probe');
}
