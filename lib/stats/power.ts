// How often the gate finds a change, by repetitions a side and the noise between repetitions:
// the table `npm run bench:gate-power` measured (seeded: alpha 0.01, 25 cells, a shift in one,
// a shared per-repetition drift, 150 suites a cell). Read conservatively: the noise column at or
// above the measured one, the repetitions row at or below the given number.
export const POWER_REPS = [5, 7, 10, 15, 20] as const;
export const POWER_CVS = [0.03, 0.05, 0.09] as const;

/** POWER[shift][reps index][cv index]: the share of suites in which the shifted cell was flagged. */
const POWER: Record<'0.05' | '0.1', number[][]> = {
  '0.05': [[0.02, 0.01, 0], [0.08, 0.01, 0.01], [0.28, 0.03, 0], [0.58, 0.1, 0], [0.84, 0.2, 0.01]],
  '0.1': [[0.29, 0.06, 0.01], [0.74, 0.17, 0.01], [0.95, 0.49, 0.07], [1, 0.81, 0.13], [1, 0.95, 0.28]],
};

export interface PowerReading {
  /** The share of the time a change of `shift` in one cell is flagged. */
  power: number;
  /** The table's noise and repetitions it was read at. */
  atCv: number;
  atReps: number;
  /** The fewest repetitions a side in the table that find it 80 % of the time at that noise, if any. */
  repsFor80?: number;
}

/** The gate's power for a shift of 5 % or 10 % (fraction), or undefined where the table does not reach (noise above its last column, fewer repetitions than its first row). */
export function gatePower(reps: number, cv: number, shift: 0.05 | 0.1): PowerReading | undefined {
  const c = POWER_CVS.findIndex((x) => x >= cv - 1e-9);
  const r = POWER_REPS.map((x, i) => [x, i] as const).filter(([x]) => x <= reps).pop()?.[1];
  if (c < 0 || r === undefined) return undefined;
  const table = POWER[shift === 0.05 ? '0.05' : '0.1'];
  const need = POWER_REPS.find((_, i) => table[i]![c]! >= 0.8);
  return { power: table[r]![c]!, atCv: POWER_CVS[c]!, atReps: POWER_REPS[r]!, ...(need ? { repsFor80: need } : {}) };
}

/** One sentence on what the gate can find at this noise with these repetitions. */
export function powerAdvice(reps: number, cv: number): string {
  const pct = (x: number) => `${Math.round(x * 100)} %`;
  const head = `the median variation between repetitions is ${pct(cv)}`;
  const p = gatePower(reps, cv, 0.1);
  if (!p) {
    if (cv > POWER_CVS.at(-1)!) return `${head}: at that noise the gate finds a 10 % change in one cell less than a third of the time even with 20 repetitions a side (bench/gate-power.ts): lower it first (longer cells, an idle machine)`;
    return `${head}; with ${reps} repetitions a side the gate cannot decide at alpha 0.01 (5 are needed)`;
  }
  const need = p.repsFor80 ? `80 % needs about ${p.repsFor80} a side` : `even 20 a side stay below 80 %: lower the noise first (longer cells, an idle machine)`;
  return `${head}: with ${reps} repetitions a side the gate finds a 10 % change in one cell about ${pct(p.power)} of the time (read at ${pct(p.atCv)} noise, ${p.atReps} repetitions; bench/gate-power.ts); ${need}`;
}

/** The same in a few words, for a one-line warning (the full sentence: --verbose). */
export function powerBrief(reps: number, cv: number): string {
  const pct = (x: number) => `${Math.round(x * 100)} %`;
  const p = gatePower(reps, cv, 0.1);
  if (!p) return cv > POWER_CVS.at(-1)! ? `at ${pct(cv)} spread a 10 % change is rarely found: lower the noise first` : `${reps} repetitions a side cannot decide at alpha 0.01 (5 are needed)`;
  return `at ${pct(cv)} spread, ${reps} repetitions a side find a 10 % change ${pct(p.power)} of the time${p.repsFor80 ? `; 80 % needs ~${p.repsFor80}` : ''}`;
}
