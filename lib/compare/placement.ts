// Where a repetition's measuring threads ran, as one label, so a row whose repetitions ran with
// different placements can say so (a loopback round trip on one CPU reads 3x faster than across
// two: a mix of both is two populations, not noise).
import type { TargetResult } from '../targets/types';
import { KINDS } from './kinds';

/** "client on 0, server on 1" / "on 0,1"; undefined for results from before placement was recorded. */
export function placementLabel(r: TargetResult): string | undefined {
  const p = r.cpu_placement;
  if (!p) return undefined;
  const ran = p.ran_on.length ? p.ran_on.join(',') : '?';
  if (!KINDS[r.kind].network) return `on ${ran}`;
  const cpus = (r.options as { server_cpus?: unknown }).server_cpus;
  const asked = typeof cpus === 'string' && cpus && cpus !== 'auto' ? cpus : 'unpinned';
  const server = p.server_pinned?.length ? p.server_pinned.join(',') : asked;
  return `client on ${ran}, server ${server === 'unpinned' ? server : `on ${server}`}`;
}

/** The placements of a row's repetitions with their counts, when there is more than one. */
export function mixedPlacements(rs: TargetResult[]): string | undefined {
  const counts = new Map<string, number>();
  for (const r of rs) {
    const l = placementLabel(r);
    if (l) counts.set(l, (counts.get(l) ?? 0) + 1);
  }
  if (counts.size < 2) return undefined;
  return [...counts.entries()].map(([l, n]) => `${l} ×${n}`).join('; ');
}
