// A small stored run for the export tests: two block workloads and one request-response workload
// on the host target, three repetitions, measured by `isoprobe compare` into a temp database.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { runCli } from '../helpers';

export function storedRun(dir: string): { db: string; code: number | null; stderr: string } {
  const db = join(dir, 'runs.db');
  const suite = join(dir, 'suite.yaml');
  writeFileSync(suite, ['name: fmt', 'duration: 200ms', 'warmup: 50ms', 'workloads:',
    '  - { name: randread-4k, kind: block, options: { pattern: randread, bs: 4k, size: 8M } }',
    '  - { name: write-4k, kind: block, options: { pattern: write, bs: 4k, size: 8M } }',
    '  - { name: tcp-rr-64, kind: rr, options: { size: 64 } }', ''].join('\n'));
  const r = runCli(['compare', '--targets', 'host', '--suite', suite, '--reps', '3', '--db', db]);
  return { db, code: r.code, stderr: r.stderr };
}
