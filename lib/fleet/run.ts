// `isoprobe fleet run`: the suite on every node of an inventory through Ansible, each node's run
// imported into this store under its inventory name, with the host identity the node measured.
// One failing node fails alone; a cancelled run stops the play and cleans every node it reached.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { IsoprobeError, optionError } from '../errors';
import { OWNER } from '../owner';
import { packageRoot } from '../paths';
import type { Store } from '../store/db';
import { importRuns } from '../store/import';
import type { NodeStatus } from './events';
import { type FleetNode, inventoryNodes } from './inventory';
import { play, type PlayOutcome, playbookPath } from './play';

export interface FleetRunOptions {
  inventory: string;
  /** The inventory's nodes, when the caller has read them already (inventoryNodes). */
  nodes?: FleetNode[];
  limit?: string;
  forks: number;
  /** A packed isoprobe (npm pack); default: this checkout, packed now. */
  package?: string;
  become: boolean;
  /** A folder on each node that keeps the built package for the next run of the same tarball. */
  nodeCache?: string;
  npmFlags: string[];
  /** The comparison each node runs: `isoprobe compare` options. */
  compareArgs: string[];
  /** Local files the comparison names (a suite file, a targets file): copied into each node's work folder. */
  files: string[];
  /** Environment of isoprobe on the nodes (ISOPROBE_CACHE, ISOPROBE_DATA_FILE). */
  env?: Record<string, string>;
  store: Store;
  signal?: AbortSignal;
  onLine?: (line: string) => void;
}

export interface NodeOutcome {
  name: string;
  groups: string[];
  status: NodeStatus | 'no results';
  /** Its run in this store, once imported. */
  run?: number;
  step?: string;
  message?: string;
}

export interface FleetOutcome {
  fleet: string;
  nodes: NodeOutcome[];
}

function fleetId(): string {
  return `${new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${OWNER}`;
}

/** `npm pack` of the package isoprobe runs from, into `dir`; the tarball's path. */
export function packThis(dir: string): string {
  const out = execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: packageRoot(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return join(dir, out.trim().split('\n').pop()!);
}

export async function fleetRun(o: FleetRunOptions): Promise<FleetOutcome> {
  const nodes = o.nodes ?? inventoryNodes(o.inventory, o.limit);
  if (o.package && !existsSync(o.package)) throw optionError('package', `--package ${o.package}: no such file; expected a tarball from npm pack`);
  const fleet = fleetId();
  const dir = mkdtempSync(join(tmpdir(), `isoprobe-fleet-${OWNER}-`));
  try {
    const pkg = o.package ? resolve(o.package) : packThis(dir);
    // This checkout's lock file goes with its own package: the nodes install the same versions.
    const lock = join(packageRoot(), 'package-lock.json');
    const lockfile = !o.package && existsSync(lock) ? lock : '';
    const results = join(dir, 'results');
    const vars = { isoprobe_run_id: fleet, isoprobe_package: pkg, isoprobe_results: results, isoprobe_compare_args: o.compareArgs, isoprobe_files: o.files.map((f) => resolve(f)),
      isoprobe_become: o.become, isoprobe_node_cache: o.nodeCache ?? '', isoprobe_npm_flags: o.npmFlags, isoprobe_lockfile: lockfile, isoprobe_env: o.env ?? {} };
    const names = nodes.map((n) => n.name);
    o.onLine?.(`fleet run ${fleet}: ${names.length} node${names.length === 1 ? '' : 's'} (${names.join(', ')}), ${o.forks} at a time; work folders /tmp/isoprobe-node-${fleet}-NODE`);
    const p = await play(playbookPath('isoprobe'), names, { inventory: o.inventory, limit: names.join(','), forks: o.forks, vars, dir, signal: o.signal, onLine: o.onLine });
    if (p.cancelled) return await cancelled(p, o, vars, dir);
    const seen = [...p.progress.nodes.values()].some((n) => n.reached || n.status === 'unreachable');
    if (!seen) throw new IsoprobeError('EFLEET', `ansible-playbook ended (exit code ${p.code}) before any node answered: ${p.stderr.trim().split('\n').slice(-3).join(' | ') || 'no message'}`);
    return { fleet, nodes: nodes.map((n) => land(n, p, results, fleet, o.store)) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A node's outcome: its fetched run imported, or the step that failed and Ansible's message. */
function land(n: { name: string; groups: string[] }, p: PlayOutcome, results: string, fleet: string, store: Store): NodeOutcome {
  const s = p.progress.nodes.get(n.name);
  const file = join(results, n.name, 'run.json');
  if (s?.status === 'failed' || s?.status === 'unreachable') return { ...n, status: s.status, step: s.failedStep, message: s.message };
  if (!existsSync(file)) return { ...n, status: 'no results', step: s?.step, message: `no results were fetched (ansible-playbook exit code ${p.code})` };
  const r = importRuns(store, file, { node: n.name, node_groups: n.groups, fleet });
  return { ...n, status: 'ok', run: r.imported[0], ...(r.refused.length ? { message: r.refused.join('; ') } : {}) };
}

/** After Ctrl-C: the clean-up play on every node the run reached, then the cancellation. */
async function cancelled(p: PlayOutcome, o: FleetRunOptions, vars: Record<string, unknown>, dir: string): Promise<never> {
  const reached = [...p.progress.nodes.values()].filter((n) => n.reached).map((n) => n.name);
  let cleaned = 'no node had been reached';
  if (reached.length) {
    o.onLine?.(`interrupted: cleaning up on ${reached.join(', ')}`);
    const c = await play(playbookPath('cleanup'), reached, { inventory: o.inventory, limit: reached.join(','), forks: o.forks, vars, dir, onLine: o.onLine });
    const bad = [...c.progress.nodes.values()].filter((n) => n.status === 'failed' || n.status === 'unreachable');
    cleaned = bad.length ? `the clean-up failed on ${bad.map((n) => `${n.name} (${n.message})`).join(', ')}` : `cleaned up on ${reached.join(', ')}`;
  }
  throw new IsoprobeError('ECANCELED', `the fleet run was interrupted: ${cleaned}; nothing was imported`);
}
