// isoprobe's version: package.json's, the one place it is written (the native build reads the same
// file for the probe's and the addon's kProbeVersion).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { packageRoot } from '../paths';

let version: string | undefined;

export function packageVersion(): string {
  version ??= (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  return version;
}
