// How a metric's values are written, for the registry's entries (metrics.ts): in full, a value with
// its unit ("52.1 µs", "1,234 IOPS"); in narrow tables, an estimate and its interval sharing one
// scale and one unit ("52.1 (50.2-56.0) µs", "1.23 (1.15-1.32)M").
import type { Interval } from '../stats/resample';
import { formatNs } from '../units';

/** A scale for a set of values: the divisor, the suffix (its leading space included), the decimals. */
export interface Scale {
  div: number;
  unit: string;
  digits: number;
}

/** Three significant digits of the scaled estimate (the intervals are wider than that anyway). */
function digits(scaled: number): number {
  const a = Math.abs(scaled);
  return a < 10 ? 2 : a < 100 ? 1 : 0;
}

export function nsScale(x: number): Scale {
  const a = Math.abs(x);
  const [div, unit] = a < 1e3 ? [1, 'ns'] : a < 1e6 ? [1e3, 'µs'] : a < 1e9 ? [1e6, 'ms'] : [1e9, 's'];
  return { div: div as number, unit: ` ${unit as string}`, digits: div === 1 ? 0 : digits(x / (div as number)) };
}

/** Nanoseconds that may be below one (host CPU per byte of a stream): three decimals there. */
export function fineNsScale(x: number): Scale {
  return Math.abs(x) < 10 ? { div: 1, unit: ' ns', digits: 3 } : nsScale(x);
}

/** Counts and rates: whole numbers below 10,000, then k and M with three significant digits. */
export function countScale(x: number): Scale {
  const a = Math.abs(x);
  if (a < 1e4) return { div: 1, unit: '', digits: 0 };
  const div = a < 1e6 ? 1e3 : 1e6;
  return { div, unit: div === 1e3 ? 'k' : 'M', digits: digits(x / div) };
}

/** Three significant digits, no unit (the column's heading names it). */
export const plainScale = (x: number): Scale => ({ div: 1, unit: '', digits: digits(x) });

/** A fixed number of decimals and a fixed suffix. */
export const fixedScale = (unit: string, decimals: number) => (): Scale => ({ div: 1, unit, digits: decimals });

/** "1,234 IOPS": a whole count with its unit. */
export const count = (v: number, unit: string) => `${Math.round(v).toLocaleString('en-US')} ${unit}`;

/** Nanoseconds in full: "812 ns", "37.4 µs"; below 10 ns with three decimals (per byte of a stream). */
export const fineNs = (v: number) => (Math.abs(v) < 10 ? `${v.toFixed(3)} ns` : formatNs(v));

/** "52.1 (50.2-56.0) µs": an interval with its unit once, in the estimate's scale; the estimate alone without bounds. */
export function compactInterval(i: Interval, scaleOf: (x: number) => Scale): string {
  if (!Number.isFinite(i.estimate)) return '-';
  const s = scaleOf(i.estimate);
  const f = (x: number) => (x / s.div).toFixed(s.digits);
  return Number.isFinite(i.low) ? `${f(i.estimate)} (${f(i.low)}-${f(i.high)})${s.unit}` : `${f(i.estimate)}${s.unit}`;
}

/** "52.1 µs [48.5 µs, 55.7 µs]": an interval in full. */
export function fullInterval(i: Interval, format: (x: number) => string): string {
  if (!Number.isFinite(i.estimate)) return '-';
  return Number.isFinite(i.low) ? `${format(i.estimate)} [${format(i.low)}, ${format(i.high)}]` : format(i.estimate);
}
