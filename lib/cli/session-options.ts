// The options of a target session for `run`, `compare`, `ab --run`, `sweep` and `fleet`: the few
// that are the session's own (its data file, the probe's architecture), and one flag per target
// setting declared as one, derived from the targets' own declarations (lib/targets/variant.ts).
import { seccompFor } from '../image/seccomp';
import { defaultDataFile } from '../targets/session';
import type { SessionSpec } from '../targets/types';
import { sessionFlags, specOfFlags } from '../targets/variant';
import type { Table } from './args';

/** The session's own options (no target declares them). */
const OWN: Table = {
  data_file: { kind: 'string', default: '', help: 'host file behind block workloads, created when missing', defaultText: '/var/tmp/isoprobe-data.dat, or $ISOPROBE_DATA_FILE' },
  data_size: { kind: 'size', default: 0, min: 4096, help: 'its size when isoprobe creates it; a block workload without --size then covers it', defaultText: "--offset + --size; 256M when neither is given" },
  arch: { kind: 'enum', default: '', choices: ['', 'x64', 'arm64'], help: "the probe's architecture: a microVM's is its machine's (qemu-virt: arm64); the host and containers run another only through a binfmt handler", defaultText: "this machine's" },
};

export const SESSION_OPTIONS: Table = { ...OWN, ...sessionFlags() };

/** The SessionSpec for parsed session options; a seccomp profile file is read (and refused) now. */
export function sessionSpecFrom(v: Record<string, unknown>): SessionSpec {
  if (v.seccomp !== undefined) seccompFor(v.seccomp as string);
  const spec: SessionSpec = { dataFile: (v.data_file as string) || defaultDataFile(), ...specOfFlags(v) };
  if (v.data_size !== undefined) spec.dataSize = v.data_size as number;
  if (v.arch !== undefined && v.arch !== '') spec.arch = v.arch as SessionSpec['arch'];
  return spec;
}

export type { SessionSpec };
