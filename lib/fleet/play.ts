// One ansible-playbook run of a playbook shipped with isoprobe (fleet/*.yml): its variables in a
// file of isoprobe's own (never on a command line), its events read live, and on cancellation
// the play stopped as Ctrl-C stops it (SIGINT, then SIGKILL after a grace).
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import { IsoprobeError } from '../errors';
import { packageRoot } from '../paths';
import { PlayProgress } from './events';

export interface PlayOptions {
  inventory: string;
  /** Ansible's --limit: a host pattern, or the nodes' names. */
  limit?: string;
  forks: number;
  vars: Record<string, unknown>;
  /** Where the variables file is written (a private folder of the run's). */
  dir: string;
  signal?: AbortSignal;
  onLine?: (line: string) => void;
}

export interface PlayOutcome {
  progress: PlayProgress;
  code: number | null;
  cancelled: boolean;
  /** What ansible-playbook wrote to stderr (warnings, a playbook error). */
  stderr: string;
}

export function playbookPath(name: 'isoprobe' | 'cleanup'): string {
  return join(packageRoot(), 'fleet', `${name}.yml`);
}

const GRACE_MS = 20_000;

/** Plays `playbook` on the inventory's nodes; resolves when ansible-playbook has exited. */
export function play(playbook: string, nodes: string[], o: PlayOptions): Promise<PlayOutcome> {
  const vars = join(o.dir, `${playbook.split('/').pop()}.vars.json`);
  writeFileSync(vars, JSON.stringify(o.vars), { mode: 0o600 });
  const args = ['-i', o.inventory, '--forks', String(o.forks), ...(o.limit ? ['--limit', o.limit] : []), '-e', `@${vars}`, playbook];
  const child = spawn('ansible-playbook', args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ANSIBLE_STDOUT_CALLBACK: 'ansible.posix.jsonl', ANSIBLE_NOCOLOR: '1', ANSIBLE_RETRY_FILES_ENABLED: '0' },
  });
  const progress = new PlayProgress(nodes);
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  createInterface({ input: child.stdout }).on('line', (l) => progress.onLine(l).forEach((x) => o.onLine?.(x)));
  let cancelled = false;
  let kill: NodeJS.Timeout | undefined;
  const onAbort = () => {
    cancelled = true;
    child.kill('SIGINT');
    kill = setTimeout(() => child.kill('SIGKILL'), GRACE_MS);
  };
  if (o.signal?.aborted) onAbort();
  else o.signal?.addEventListener('abort', onAbort, { once: true });
  return new Promise((resolve, reject) => {
    child.once('error', (e) => reject(new IsoprobeError('EUNAVAILABLE', `ansible-playbook could not start (Debian package ansible; scripts/setup.sh fleet installs it): ${e.message}`)));
    child.once('close', (code) => {
      clearTimeout(kill);
      o.signal?.removeEventListener('abort', onAbort);
      resolve({ progress, code, cancelled, stderr });
    });
  });
}
