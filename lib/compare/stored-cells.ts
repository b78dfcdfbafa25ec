// What a stored run holds, read in one place: each result (kinds.ts's storedResult: its kind in today's words),
// its cells by workload and target in the order they were stored, each failure's message on its
// cell (a cell of failures alone where nothing was measured), and the comparison rebuilt from them
// for reports of earlier runs.
import type { Store } from '../store/db';
import { storedResult } from './kinds';
import { type Cell, type Comparison, notesFor, summarizeWorkloads } from './compare';

export function storedCells(store: Store, run: number): Cell[] {
  const cells: Cell[] = [];
  const cell = (workload: string, target: string) => {
    let c = cells.find((x) => x.target === target && x.workload === workload);
    if (!c) cells.push((c = { target, workload, results: [] }));
    return c;
  };
  for (const r of store.results(run)) cell(r.workload, r.target).results.push(storedResult(r.json));
  for (const f of store.failures(run)) cell(f.workload, f.target).error = f.message;
  return cells;
}

/** Rebuilds a comparison from a stored run (for reports of earlier runs). */
export function comparisonFromStore(store: Store, id: number): Comparison {
  const run = store.run(id);
  const rows = store.results(id);
  const targets = run.targets.split(',');
  const cells = storedCells(store, id);
  const workloads = [...new Set(cells.map((c) => c.workload))];
  for (const t of targets) for (const w of workloads) if (!cells.some((c) => c.target === t && c.workload === w)) cells.push({ target: t, workload: w, results: [], error: 'no results stored' });
  // Each workload's kind is what its results measured (none where nothing was).
  const summaries = summarizeWorkloads(cells, workloads.map((name) => ({ name })), targets);
  const notes = notesFor(summaries, run.reps);
  if (run.status !== 'complete') notes.unshift({ kind: 'failed', cell: `run ${id} ${run.status}`, text: `run ${id} is ${run.status}: it holds ${rows.length} of ${run.reps * workloads.length * targets.length} results` });
  const warnings = notes.map((n) => n.text);
  const stacks = Object.fromEntries(targets.map((t) => [t, cells.find((c) => c.target === t && c.results.length)?.results[0]?.target ?? null]));
  return { runId: id, suite: run.suite, reps: run.reps, targets, summaries, warnings, notes, cells, stacks };
}
