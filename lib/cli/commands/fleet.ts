// isoprobe fleet run: the comparison on every node of an Ansible inventory, each node's run
// imported here under its inventory name, then the comparison by node.
import { existsSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';

import { byNode } from '../../compare/by-node';
import { BUILTIN_SUITES } from '../../compare/suites';
import { optionError } from '../../errors';
import { inventoryNodes } from '../../fleet/inventory';
import { fleetRun, type NodeOutcome } from '../../fleet/run';
import { fleetRuns } from '../../fleet/stored';
import { suiteOrFio } from '../../formats/fio-job';
import { flagOf } from '../../probe/options';
import { renderNodeReport } from '../../report/node-html';
import { formatNodeTables } from '../../report/node-text';
import { parseVariantList } from '../../targets/variant';
import { parseCommand, type Table, type Values } from '../args';
import type { Reporter } from '../reporter';
import { SESSION_OPTIONS } from '../session-options';
import { DB, openStore } from '../store';

/** The targets each node compares when none are given (not compare's default: no VM on a small node). */
const NODE_TARGETS = 'host,runc';

/** What each node's `isoprobe compare` is given, as given here. */
const PASSED = {
  targets: { kind: 'string', default: NODE_TARGETS, help: 'targets or variants each node compares, or @FILE (copied to the nodes)' },
  suite: { kind: 'string', default: 'quick', help: 'quick, paper, scaling, or a suite file (copied to the nodes)' },
  reps: { kind: 'uint', default: 5, min: 1, max: 1000, help: 'repetitions per target and workload' },
  seed: { kind: 'uint', default: 0, help: 'seed of the shuffled order (0: from the clock)' },
  force: { kind: 'bool', default: false, help: 'compare even if the probe binaries measured in the targets differ' },
  ...SESSION_OPTIONS,
} satisfies Table;

const OPTIONS = {
  inventory: { kind: 'string', default: '', help: 'the Ansible inventory (INI or YAML) listing the nodes' },
  limit: { kind: 'string', default: '', help: "only these nodes: Ansible's host pattern (a group, a host, edge:!pi3)", defaultText: 'every node' },
  forks: { kind: 'uint', default: 5, min: 1, max: 500, help: 'nodes worked on at once (Ansible --forks)' },
  package: { kind: 'string', default: '', help: 'a packed isoprobe (npm pack) to install on the nodes', defaultText: 'this checkout, packed now' },
  become: { kind: 'bool', default: false, help: "become root on the nodes (Ansible become; the user's own sudo setup)" },
  node_cache: { kind: 'string', default: '', help: 'a folder on each node that keeps the built package for the next run of the same tarball', defaultText: 'none: built in the work folder and removed' },
  node_env: { kind: 'string', default: '', help: "environment of isoprobe on the nodes, NAME=VALUE,... (ISOPROBE_CACHE, ISOPROBE_DATA_FILE; never a secret: it goes into Ansible's variables)" },
  npm_offline: { kind: 'bool', default: false, help: "install on the nodes from npm's cache only (nodes without the registry)" },
  baseline_node: { kind: 'string', default: '', help: 'the node the ratios are taken against', defaultText: 'the first node' },
  html: { kind: 'string', default: '', help: 'also write the HTML report by node to this file' },
  ...DB,
  ...PASSED,
} satisfies Table;

const HEAD = ['usage: isoprobe fleet run --inventory FILE [--limit PATTERN] [--forks N] [compare options]', '',
  'Runs the comparison on every node of an Ansible inventory with the playbook shipped in fleet/isoprobe.yml',
  "(the user's SSH configuration and keys, host-key checking on): on each node isoprobe is copied and built, the",
  'comparison runs, its results are fetched, and the work folder is removed. Each node\'s run is imported into',
  'this store under its inventory name; a failing node fails alone. Exit: 0 every node landed, 1 a node failed.'];

/** The node-side `compare` options, and the local files they name (copied into each work folder). */
function passedArgs(v: Values<typeof OPTIONS>): { args: string[]; files: string[] } {
  const args: string[] = [];
  const files: string[] = [];
  const given = new Map(Object.entries(v));
  const passed: Table = PASSED;  // with the session options it spreads
  for (const [k, def] of Object.entries(passed)) {
    let x = given.get(k);
    if (x === undefined) continue;
    if (k === 'suite' && typeof x === 'string' && !BUILTIN_SUITES.includes(x) && existsSync(x)) files.push(x), (x = basename(x));
    if (k === 'targets' && typeof x === 'string' && x.startsWith('@')) files.push(x.slice(1)), (x = `@${basename(x.slice(1))}`);
    if (def.kind === 'bool') args.push(x ? flagOf(k) : `--no-${flagOf(k).slice(2)}`);
    else args.push(flagOf(k), String(x));
  }
  return { args: v.targets === undefined ? ['--targets', NODE_TARGETS, ...args] : args, files };
}

function nodeEnv(text: string | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const kv of (text ?? '').split(',').map((x) => x.trim()).filter(Boolean)) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(kv);
    if (!m) throw optionError('node_env', `--node-env "${kv}": expected NAME=VALUE (comma-separated)`);
    env[m[1]!] = m[2]!;
  }
  return env;
}

function outcomeLine(n: NodeOutcome): string {
  if (n.status === 'ok') return `${n.name}: imported as run ${n.run}${n.message ? ` (${n.message})` : ''}`;
  return `${n.name}: ${n.status.toUpperCase()} at "${n.step ?? '?'}": ${n.message ?? ''}`;
}

export async function cmdFleet(argv: string[], io: Reporter, signal: AbortSignal): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'run') {
    if (sub === undefined || sub === '--help' || sub === 'help') return parseCommand(['--help'], OPTIONS, 'fleet run', HEAD, io.out), sub === undefined ? 2 : 0;
    throw optionError('command', `isoprobe fleet ${sub}: unknown; expected "isoprobe fleet run --inventory FILE"`);
  }
  const p = parseCommand(rest, OPTIONS, 'fleet run', HEAD, io.out);
  if (!p) return 0;
  const { values: v, positionals } = p;
  if (positionals.length) throw optionError('inventory', `unexpected argument "${positionals[0]}" (options start with --)`);
  if (!v.inventory) throw optionError('inventory', 'isoprobe fleet run: --inventory FILE is required (an Ansible inventory listing the nodes)');
  // Checked here before any node is touched: a bad suite or target fails once, not on every node.
  suiteOrFio(v.suite ?? 'quick', (n) => io.err(`note: ${n}`));
  parseVariantList(v.targets ?? NODE_TARGETS);
  const { args, files } = passedArgs(v);
  const env = nodeEnv(v.node_env);
  const nodes = inventoryNodes(v.inventory, v.limit || undefined);
  const base = v.baseline_node;
  if (base && !nodes.some((n) => n.name === base)) throw optionError('baseline_node', `--baseline-node ${base}: not a node of ${v.inventory}${v.limit ? ` --limit ${v.limit}` : ''}; expected one of ${nodes.map((n) => n.name).join(', ')}`);
  const store = openStore(v.db, io);
  try {
    const o = await fleetRun({ inventory: v.inventory, nodes, limit: v.limit || undefined, forks: v.forks ?? 5, package: v.package || undefined,
      become: v.become === true, nodeCache: v.node_cache || undefined, npmFlags: v.npm_offline ? ['--offline'] : [], compareArgs: args, files, env, store, signal,
      onLine: (l) => io.err(l) });
    io.out(`fleet run ${o.fleet}:`);
    for (const n of o.nodes) io.out(`  ${outcomeLine(n)}`);
    const landed = o.nodes.filter((n) => n.status === 'ok');
    if (landed.length) {
      const runs = fleetRuns(store, o.fleet);
      const tables = byNode(runs, v.baseline_node || undefined);
      io.out(`\n${formatNodeTables(tables, runs)}\n\nisoprobe report --fleet ${o.fleet} writes the HTML report by node`);
      if (v.html) writeFileSync(v.html, renderNodeReport(o.fleet, tables, runs), { mode: 0o644 });
    }
    return landed.length === o.nodes.length ? 0 : 1;
  } finally {
    store.close();
  }
}
