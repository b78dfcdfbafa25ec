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

export type Arch = 'x64' | 'arm64';
export const ARCHES: readonly Arch[] = ['x64', 'arm64'];

/** The architecture of this machine, as isoprobe names it. */
export function hostArch(): Arch {
  return process.arch === 'arm64' ? 'arm64' : 'x64';
}

/** The build folder of another architecture's probe: its CMake preset's (CMakePresets.json has aarch64 only). */
const CROSS_BUILD_DIR: Record<Arch, string> = { x64: 'x86_64', arm64: 'aarch64' };

/**
 * The static probe binary: this machine's, built by `npm install` (override with ISOPROBE_PROBE),
 * or another architecture's (arm64: cross-built by scripts/setup.sh arm64, the aarch64 preset,
 * into build/aarch64).
 */
export function probeBinaryPath(arch: Arch = hostArch()): string {
  if (arch === hostArch()) return process.env.ISOPROBE_PROBE || join(packageRoot(), 'build', 'Release', 'isoprobe-probe');
  return join(packageRoot(), 'build', CROSS_BUILD_DIR[arch], 'isoprobe-probe');
}
