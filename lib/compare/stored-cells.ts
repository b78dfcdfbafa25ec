// A stored run's cells: its results by workload and target in the order they were stored, each
// failure's message on its cell (a cell of failures alone where nothing was measured).
import type { Store } from '../store/db';
import type { TargetResult } from '../targets/types';
import type { Cell } from './compare';

export function storedCells(store: Store, run: number): Cell[] {
  const cells: Cell[] = [];
  const cell = (workload: string, target: string) => {
    let c = cells.find((x) => x.target === target && x.workload === workload);
    if (!c) cells.push((c = { target, workload, results: [] }));
    return c;
  };
  for (const r of store.results(run)) cell(r.workload, r.target).results.push(JSON.parse(r.json) as TargetResult);
  for (const f of store.failures(run)) cell(f.workload, f.target).error = f.message;
  return cells;
}
