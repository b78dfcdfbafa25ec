// isoprobe import: runs measured elsewhere (export files, other databases) into this store.
import { optionError } from '../../errors';
import { importRuns } from '../../store/import';
import { parseCommand, type Table } from '../args';
import { list } from '../common';
import type { Reporter } from '../reporter';
import { DB, openStore } from '../store';
import { COMPARE } from './compare';

export async function cmdImport(argv: string[], io: Reporter): Promise<number> {
  const T = { ...DB, json: COMPARE.json,
    node: { kind: 'string', default: '', help: 'import as this node of a fleet (report --fleet, ab --baseline-node): e.g. a CI job\'s runner label' },
    node_groups: { kind: 'string', default: '', help: 'with --node: its groups, comma-separated (ab --baseline-node group:NAME)' },
    fleet: { kind: 'string', default: '', help: 'with --node: the fleet the run belongs to (e.g. the CI pipeline\'s id)', defaultText: 'import-DATE' } } satisfies Table;
  const p = parseCommand(argv, T, 'import', ['usage: isoprobe import [options] FILE.json|OTHER.db ...', '',
    'Runs measured on other machines (isoprobe export --format json RUN, or another isoprobe database) into this store,',
    'each with its host identity; a run already here is refused, the files themselves are never changed.'], io.out);
  if (!p) return 0;
  const { values: v, positionals } = p;
  if (!positionals.length) throw optionError('file', 'isoprobe import: expected one or more export files or isoprobe databases');
  if ((v.node_groups || v.fleet) && !v.node) throw optionError(v.fleet ? 'fleet' : 'node_groups', `--${v.fleet ? 'fleet' : 'node-groups'} goes with --node NAME`);
  if (v.node && !/^[A-Za-z0-9._-]{1,64}$/.test(v.node)) throw optionError('node', `--node "${v.node}": expected a name of letters, digits, . _ - (1-64)`);
  const machine = v.node ? { node: v.node, node_groups: list(v.node_groups) ?? [], fleet: v.fleet || `import-${new Date().toISOString().slice(0, 10)}` } : undefined;
  const store = openStore(v.db, io);
  try {
    let refused = 0;
    const report: Record<string, { imported: number[]; refused: string[] }> = {};
    for (const f of positionals) {
      const r = importRuns(store, f, machine);
      report[f] = r;
      refused += r.refused.length;
      if (!v.json) {
        for (const id of r.imported) io.out(`imported ${f}: run ${id}`);
        for (const m of r.refused) io.out(`refused ${m}`);
      }
    }
    if (v.json) io.out(JSON.stringify(report, null, 2));
    return refused ? 1 : 0;
  } finally {
    store.close();
  }
}
