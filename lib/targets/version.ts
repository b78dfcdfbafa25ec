// Versions printed by VMMs ("Firecracker v1.7.0", "cloud-hypervisor v48.0.0"): parsed and compared,
// for the gates that depend on what a release can do.

/** [major, minor, patch] from the first vX.Y[.Z] or X.Y[.Z] in the text; undefined when there is none. */
export function parseVersion(text: string): [number, number, number] | undefined {
  const m = /\bv?(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : undefined;
}

/** a >= b, comparing major, minor, patch in turn. */
export function atLeast(a: readonly number[], b: readonly number[]): boolean {
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  return true;
}
