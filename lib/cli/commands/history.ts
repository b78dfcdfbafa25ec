// isoprobe history: the stored runs, newest first.
import { parseCommand, type Table } from '../args';
import type { Reporter } from '../reporter';
import { DB, openStore } from '../store';
import { COMPARE } from './compare';

export async function cmdHistory(argv: string[], io: Reporter): Promise<number> {
  const T = { ...DB, json: COMPARE.json, limit: { kind: 'uint', default: 50, min: 1, help: 'how many runs' } } satisfies Table;
  const p = parseCommand(argv, T, 'history', ['usage: isoprobe history [options]', '', 'The stored runs, newest first.'], io.out);
  if (!p) return 0;
  const { values: v } = p;
  const store = openStore(v.db, io);
  try {
    const runs = store.runs(v.limit ?? 50);
    if (v.json) io.out(JSON.stringify(runs, null, 2));
    else {
      if (!runs.length) io.out(`no runs in ${store.path}`);
      for (const r of runs) {
        const failed = store.failures(r.id).length;
        // A fleet's node runs are named by their inventory name and fleet: two nodes are two lines.
        const m = JSON.parse(r.machine) as { hostname?: string; node?: string; fleet?: string };
        const host = m.node ? `${m.node} (fleet ${m.fleet})` : String(m.hostname ?? '?');
        io.out(`${String(r.id).padStart(5)}  ${r.started_at}  ${r.status.padEnd(11)}  ${host.padEnd(12)} suite ${r.suite.padEnd(10)} reps ${String(r.reps).padEnd(3)} ${r.targets}  (${store.results(r.id).length} results${failed ? `, ${failed} failures` : ''})${r.note?.startsWith('imported') ? '  imported' : ''}`);
      }
    }
    return 0;
  } finally {
    store.close();
  }
}
