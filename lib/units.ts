// Sizes (k/M/G/T, powers of 1024) and durations (ns/us/ms/s/m/h): strict parsing, readable output.
// Same grammar as the core's units.cc, so a flag means the same to the CLI and the probe.

const SIZE_UNITS: Record<string, bigint> = {
  '': 1n, b: 1n, B: 1n,
  k: 1024n, K: 1024n, KiB: 1024n, kiB: 1024n,
  m: 1024n ** 2n, M: 1024n ** 2n, MiB: 1024n ** 2n,
  g: 1024n ** 3n, G: 1024n ** 3n, GiB: 1024n ** 3n,
  t: 1024n ** 4n, T: 1024n ** 4n, TiB: 1024n ** 4n,
};

const TIME_UNITS: Record<string, bigint> = {
  '': 1_000_000_000n, s: 1_000_000_000n, ms: 1_000_000n, us: 1_000n, ns: 1n,
  m: 60_000_000_000n, min: 60_000_000_000n, h: 3_600_000_000_000n,
};

const NUMBER = /^(\d+)(?:\.(\d+))?([A-Za-z]*)$/;

function scaled(text: string, units: Record<string, bigint>): number | undefined {
  const m = NUMBER.exec(text);
  if (!m) return undefined;
  const [, whole, frac = '', suffix = ''] = m;
  // Own keys only: "0valueOf" must not find Object.prototype's valueOf (fast-check found it).
  if (!Object.hasOwn(units, suffix)) return undefined;
  const mult = units[suffix]!;
  // Exact rational arithmetic: "1.5k" is 1536 bytes, "0.5ns" is not a whole unit.
  const scale = 10n ** BigInt(frac.length);
  const num = BigInt(whole! + frac) * mult;
  if (num % scale !== 0n) return undefined;
  const v = num / scale;
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return Number(v);
}

/** "4k" -> 4096; undefined when the text is not a size. */
export function parseSize(text: string): number | undefined {
  return scaled(text, SIZE_UNITS);
}

/** "250ms" -> 250000000 (ns); a bare number is seconds; undefined when not a duration. */
export function parseDuration(text: string): number | undefined {
  return scaled(text, TIME_UNITS);
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
}

/** ns -> "812 ns", "37.4 µs", "1.38 ms", "2.00 s"; compact (chart labels, narrow cells): one digit fewer. */
export function formatNs(ns: number, o: { compact?: boolean } = {}): string {
  if (!Number.isFinite(ns)) return '-';
  const a = Math.abs(ns);
  const d = o.compact ? 1 : 0;
  if (a < 1e3) return `${Math.round(ns)} ns`;
  if (a < 1e6) return `${(ns / 1e3).toFixed((a < 1e4 ? 2 : 1) - d)} µs`;
  if (a < 1e9) return `${(ns / 1e6).toFixed((a < 1e7 ? 2 : 1) - d)} ms`;
  return `${(ns / 1e9).toFixed(2 - d)} s`;
}

export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
