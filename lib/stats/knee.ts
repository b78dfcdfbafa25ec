// The knee of a load-latency curve: where more offered load stops buying throughput and starts
// buying latency. The rule (stated in the README, fixed so two curves are judged alike): the
// highest throughput whose p99 stays within KNEE_FACTOR of the curve's lowest p99.

export const KNEE_FACTOR = 2;
export const KNEE_RULE = `the highest throughput whose p99 stays within ${KNEE_FACTOR}x of the curve's lowest p99`;

export interface KneePoint {
  throughput: number;
  p99: number;
}

/** The index of the knee among `points`, or undefined for a curve with no usable point. */
export function kneeIndex(points: KneePoint[], factor = KNEE_FACTOR): number | undefined {
  const usable = points.map((p, i) => ({ ...p, i })).filter((p) => Number.isFinite(p.throughput) && Number.isFinite(p.p99) && p.p99 > 0);
  if (!usable.length) return undefined;
  const floor = Math.min(...usable.map((p) => p.p99));
  const within = usable.filter((p) => p.p99 <= factor * floor);
  return within.reduce((best, p) => (p.throughput > best.throughput ? p : best)).i;
}
