// npm run bench:gate-power - how many repetitions the gate needs: the chance that a planted 5 % or
// 10 % shift in one of 25 cells is flagged, by repetitions a side and noise (cv of the values
// between repetitions), with a shared per-repetition drift as real runs have. Seeded, so the
// README's table can be made again exactly; ~1 minute.
import { maxT } from '../lib/stats/maxt';
import { rng } from '../lib/stats/resample';

const ALPHA = 0.01;
const CELLS = 25;
const SEEDS = Number(process.env.POWER_SEEDS || 150);

function normal(r: () => number): number {
  return Math.sqrt(-2 * Math.log(r() || 1e-12)) * Math.cos(2 * Math.PI * r());
}

/** The share of suites in which the shifted cell 0 is flagged as worse. */
function power(reps: number, cv: number, shift: number): number {
  let found = 0;
  for (let s = 1; s <= SEEDS; s++) {
    const r = rng(100_000 * reps + 1000 * Math.round(cv * 1000) + s);
    const drift = () => Array.from({ length: reps }, () => 0.5 * cv * normal(r));
    const [da, db] = [drift(), drift()];
    const cells = Array.from({ length: CELLS }, (_, c) => ({
      higherIsWorse: true,
      a: da.map((d) => 1e4 * Math.exp(d + cv * normal(r))),
      b: db.map((d) => 1e4 * Math.exp(d + cv * normal(r)) * (c === 0 ? shift : 1)),
    }));
    if (maxT(cells, { seed: s, maxPermutations: 2000, alpha: ALPHA }).pWorse[0]! <= ALPHA) found++;
  }
  return found / SEEDS;
}

const cvs = (process.env.POWER_CVS || '0.02,0.03,0.05').split(',').map(Number);
console.log(`power of the gate (alpha ${ALPHA}, ${CELLS} cells, ${SEEDS} seeded suites each): a shift in one cell flagged`);
console.log(['reps a side', ...cvs.flatMap((cv) => [`+5 % at cv ${cv * 100} %`, `+10 % at cv ${cv * 100} %`])].join(' | '));
for (const reps of [5, 7, 10, 15, 20]) {
  const row = [String(reps)];
  for (const cv of cvs) for (const shift of [1.05, 1.1]) row.push(`${Math.round(power(reps, cv, shift) * 100)} %`);
  console.log(row.join(' | '));
}
