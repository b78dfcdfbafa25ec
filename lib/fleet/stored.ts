// The fleet runs in the store: each node's run carries its node name, groups and fleet id in its
// host identity (fleet/run.ts put them there at import), so a fleet is found again by its id.
import { loadSide, type Side } from '../compare/ab';
import type { NodeRun } from '../compare/by-node';
import { storedCells } from '../compare/stored-cells';
import { IsoprobeError } from '../errors';
import type { RunRow, Store } from '../store/db';

interface FleetMachine {
  fleet?: string;
  node?: string;
  node_groups?: string[];
}

/** Every stored run that belongs to a fleet, oldest first, with its identity read once. */
function fleetRows(store: Store): { row: RunRow; machine: FleetMachine & Record<string, unknown> }[] {
  return store.runs(100_000).reverse().map((row) => ({ row, machine: JSON.parse(row.machine) as FleetMachine & Record<string, unknown> }))
    .filter((x) => x.machine.fleet && x.machine.node);
}

/** The fleet ids of those runs, newest first. */
function idsOf(rows: ReturnType<typeof fleetRows>): string[] {
  return [...new Set(rows.map((x) => x.machine.fleet!).reverse())];
}

/** A fleet's node runs ("last": the newest fleet), in the order they were imported. */
export function fleetRuns(store: Store, fleet: string, option = 'fleet'): NodeRun[] {
  const rows = fleetRows(store);
  const ids = idsOf(rows);
  const id = fleet === 'last' ? ids[0] : fleet;
  if (!id || !ids.includes(id)) throw new IsoprobeError('EINVALOPT', `--${option} ${fleet}: ${ids.length ? `no such fleet run in ${store.path}; expected last or one of ${ids.slice(0, 5).join(', ')}` : `${store.path} holds no fleet run (isoprobe fleet run makes one)`}`, { option });
  return rows.filter((x) => x.machine.fleet === id).map(({ row, machine }) => ({
    node: machine.node!, groups: machine.node_groups ?? [], run: row.id, suite: row.suite, reps: row.reps, machine, cells: storedCells(store, row.id),
  }));
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
  const label = `${spec} (fleet ${runs[0]!.machine.fleet})`;
  // One node's side is its stored run's (its repetitions keep their numbers); pooled nodes are
  // numbered in order.
  // A node whose run measured nothing adds nothing (its cells are failures alone).
  const sides = picked.map((r) => (r.cells.some((c) => c.results.length) ? loadSide(String(r.run), () => store, option) : { label, results: new Map() }));
  if (sides.length === 1) return { ...sides[0]!, label };
  const side: Side = { label, results: new Map() };
  for (const s of sides)
    for (const [w, byTarget] of s.results) {
      if (!side.results.has(w)) side.results.set(w, new Map());
      const m = side.results.get(w)!;
      for (const [t, rs] of byTarget) m.set(t, [...(m.get(t) ?? []), ...rs]);
    }
  return side;
}
