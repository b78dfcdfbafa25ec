// Children that die with isoprobe: a VMM, a kernel build or a probe started by a process that is
// killed (SIGKILL included, where no handler runs) gets SIGKILL from the kernel at once, instead
// of running on unsupervised. util-linux setpriv sets the parent-death signal and execs the
// command, so the pid, stdio and exit status stay the command's own.
import { existsSync } from 'node:fs';

const SETPRIV = '/usr/bin/setpriv';

/** The argv that runs `argv` with SIGKILL as its parent-death signal (as is where setpriv is missing). */
export function diesWithParent(argv: readonly string[]): string[] {
  return existsSync(SETPRIV) ? [SETPRIV, '--pdeathsig', 'KILL', '--', ...argv] : [...argv];
}
