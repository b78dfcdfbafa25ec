// The fleet runs in the store: each node's run carries its node name, groups and fleet id in its
// host identity (fleet/run.ts put them there at import), so a fleet is found again by its id.
import type { Side } from '../compare/ab';
import type { NodeRun } from '../compare/by-node';
import type { Cell } from '../compare/compare';
import { IsoprobeError } from '../errors';
import type { Store } from '../store/db';
import type { TargetResult } from '../targets/types';

interface FleetMachine {
  fleet?: string;
  node?: string;
  node_groups?: string[];
}

/** Each stored run's cells: its results by workload and target, a failure where one has none. */
export function cellsOf(store: Store, run: number): Cell[] {
  const cells: Cell[] = [];
  const cell = (workload: string, target: string) => {
    let c = cells.find((x) => x.workload === workload && x.target === target);
    if (!c) cells.push((c = { workload, target, results: [] }));
    return c;
  };
  for (const r of store.results(run)) cell(r.workload, r.target).results.push(JSON.parse(r.json) as TargetResult);
  for (const f of store.failures(run)) {
    const c = cell(f.workload, f.target);
    if (!c.results.length) c.error = f.message;
  }
  return cells;
}

/** The fleet ids in the store, newest first. */
export function fleetIds(store: Store): string[] {
  const ids: string[] = [];
  for (const r of store.runs(100_000)) {
    const f = (JSON.parse(r.machine) as FleetMachine).fleet;
    if (f && !ids.includes(f)) ids.push(f);
  }
  return ids;
}

/** A fleet's node runs ("last": the newest fleet), in inventory order as imported. */
export function fleetRuns(store: Store, fleet: string, option = 'fleet'): NodeRun[] {
  const ids = fleetIds(store);
  const id = fleet === 'last' ? ids[0] : fleet;
  if (!id || !ids.includes(id)) throw new IsoprobeError('EINVALOPT', `--${option} ${fleet}: ${ids.length ? `no such fleet run in ${store.path}; expected last or one of ${ids.slice(0, 5).join(', ')}` : `${store.path} holds no fleet run (isoprobe fleet run makes one)`}`, { option });
  const out: NodeRun[] = [];
  for (const r of store.runs(100_000).reverse()) {
    const m = JSON.parse(r.machine) as FleetMachine & Record<string, unknown>;
    if (m.fleet !== id || !m.node) continue;
    out.push({ node: m.node, groups: m.node_groups ?? [], run: r.id, suite: r.suite, reps: r.reps, machine: m, cells: cellsOf(store, r.id) });
  }
  return out;
}

/**
 * One side of the gate from a fleet run: a node ("pi4-1"), several ("pi4-1,pi4-2") or an
 * inventory group ("group:arm"), their repetitions pooled per workload and target.
 */
export function nodeSide(store: Store, fleet: string, spec: string, option: string): Side {
  const runs = fleetRuns(store, fleet);
  const group = /^group:(.+)$/.exec(spec)?.[1];
  const names = group ? runs.filter((r) => r.groups.includes(group)).map((r) => r.node) : spec.split(',').map((s) => s.trim()).filter(Boolean);
  const picked = runs.filter((r) => names.includes(r.node));
  const missing = names.filter((n) => !runs.some((r) => r.node === n));
  if (!picked.length || missing.length)
    throw new IsoprobeError('EINVALOPT', `--${option.replace(/_/g, '-')} ${spec}: ${group ? `no node of fleet ${runs[0]!.machine.fleet} is in group "${group}"` : `${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not a node of fleet ${runs[0]!.machine.fleet}`}; expected a node (${runs.map((r) => r.node).join(', ')}) or group:NAME (${[...new Set(runs.flatMap((r) => r.groups))].join(', ') || 'no groups'})`, { option });
  const side: Side = { label: `${spec} (fleet ${runs[0]!.machine.fleet})`, results: new Map() };
  // One node's repetitions keep their numbers; pooled nodes are numbered in order.
  if (picked.length === 1) side.reps = new WeakMap();
  for (const r of picked)
    for (const row of store.results(r.run)) {
      const res = JSON.parse(row.json) as TargetResult;
      if (!side.results.has(row.workload)) side.results.set(row.workload, new Map());
      const m = side.results.get(row.workload)!;
      m.set(row.target, [...(m.get(row.target) ?? []), res]);
      side.reps?.set(res, row.rep);
    }
  return side;
}
