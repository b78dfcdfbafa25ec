// The suite-wide gate's statistics, measured: the family-wise false-positive rate on no-shift data
// stays at or below alpha, a planted 10 % p99 shift in one of 25 cells is found, and why Holm over
// per-cell exact p-values could not have done it at 5 repetitions.
import test from 'ava';

import { simultaneousChange } from '../../lib/compare/gate';
import { CV_FLOOR, maxT, repsNeeded, smallestP, underpowered, welchLog } from '../../lib/stats/maxt';
import { rng } from '../../lib/stats/resample';

const ALPHA = 0.01;
const CELLS = 25;
const REPS = 5;

/** Standard normal from a uniform generator (Box-Muller). */
function normal(r: () => number): number {
  return Math.sqrt(-2 * Math.log(r() || 1e-12)) * Math.cos(2 * Math.PI * r());
}

/**
 * A suite of CELLS cells, REPS repetitions per side: lognormal noise of coefficient `cv` per cell,
 * plus a per-repetition factor shared by all cells of that repetition (machine drift: the cells
 * of one repetition are correlated, as they are in real runs). `shift` multiplies cell 0 of b.
 */
function suite(seed: number, cv: number, shift = 1, reps = REPS) {
  const r = rng(seed);
  const drift = (n: number) => Array.from({ length: n }, () => 0.5 * cv * normal(r));
  const da = drift(reps);
  const db = drift(reps);
  return Array.from({ length: CELLS }, (_, c) => {
    const base = 10_000 * (1 + c);
    const higherIsWorse = c % 3 !== 2;  // latencies and rates, like block p50, p99, IOPS
    return {
      higherIsWorse,
      a: da.map((d) => base * Math.exp(d + cv * normal(r))),
      b: db.map((d) => base * Math.exp(d + cv * normal(r)) * (c === 0 ? shift : 1)),
    };
  });
}

test('Welch t on log values: oriented so that a worse candidate is positive, for latencies and rates', (t) => {
  t.true(welchLog([100, 101, 99], [120, 121, 119], true) > 10);
  t.true(welchLog([100, 101, 99], [120, 121, 119], false) < -10, 'a higher rate is better');
  t.is(welchLog([100, 101], [NaN, 5]), 0, 'fewer than 2 values on a side: no evidence');
});

test(`the arithmetic: an exact 5 vs 5 permutation test cannot go below 1/252, so Holm over ${CELLS} cells at alpha ${ALPHA} never flags; max-T can`, (t) => {
  const perCellFloor = 1 / 252;
  t.true(perCellFloor > ALPHA / CELLS, `1/252 = ${perCellFloor.toFixed(4)} > ${ALPHA}/${CELLS} = ${(ALPHA / CELLS).toFixed(4)}`);
  const g = maxT(suite(7, 0.03, 1.5));
  t.is(g.permutations, 252);
  t.true(g.exact);
  t.is(g.pWorse[0], 1 / 252, 'a 50 % shift: the smallest p max-T can give');
  t.true(g.pWorse[0]! <= ALPHA);
});

test('family-wise false-positive rate with no shift, 400 seeds of 25 correlated cells: at most alpha (binomial slack)', (t) => {
  let familiesWithAFalsePositive = 0;
  const seeds = 400;
  for (let s = 1; s <= seeds; s++) {
    const g = maxT(suite(1000 + s, 0.05), { seed: s });
    if (g.pWorse.some((p) => p <= ALPHA)) familiesWithAFalsePositive++;
  }
  const rate = familiesWithAFalsePositive / seeds;
  t.log(`FWER at alpha ${ALPHA}: ${familiesWithAFalsePositive}/${seeds} = ${rate.toFixed(4)}`);
  // Binomial(400, 0.01): 9 or more happens with probability < 1 %.
  t.true(familiesWithAFalsePositive <= 8, `${familiesWithAFalsePositive} families of ${seeds} had a false positive`);
});

function power(cv: number, reps: number, seeds: number, perms: number): { found: number; others: number } {
  let found = 0;
  let others = 0;
  for (let s = 1; s <= seeds; s++) {
    const g = maxT(suite(5000 + s, cv, 1.1, reps), { seed: s, maxPermutations: perms });
    if (g.pWorse[0]! <= ALPHA) found++;
    if (g.pWorse.slice(1).some((p) => p <= ALPHA)) others++;
  }
  return { found, others };
}

// Measured here (seeded, so repeatable): 5 vs 5 repetitions, cv 2 %: 114/150; cv 3 %: 46/150.
test('power: a planted 10 % shift in one cell of 25 is found at 5 repetitions when the noise is low', (t) => {
  const lo = power(0.02, REPS, 150, 20_000);
  const hi = power(0.03, REPS, 150, 20_000);
  t.log(`5 vs 5: cv 2 % power ${lo.found}/150, cv 3 % power ${hi.found}/150; unshifted cells flagged in ${lo.others} and ${hi.others} of 150`);
  t.true(lo.found >= 100, `cv 2 %: ${lo.found}/150`);
  t.true(hi.found >= 35, `cv 3 %: ${hi.found}/150`);
  t.true(lo.others <= 4 && hi.others <= 4, 'the other 24 cells stay quiet');
});

test('power at 10 repetitions (the ab --run default): the same shift is found reliably at cv 3 %', (t) => {
  const r = power(0.03, 10, 60, 2000);
  t.log(`10 vs 10, cv 3 %: power ${r.found}/60; unshifted cells flagged in ${r.others}/60`);
  t.true(r.found >= 45, `${r.found}/60`);
  t.true(r.others <= 3);
});

test('the smallest p a permutation test over whole repetitions can reach, and the repetitions an alpha needs', (t) => {
  t.is(smallestP(5, 5), 1 / 252);
  t.is(smallestP(4, 4), 1 / 70);
  t.is(smallestP(3, 3), 1 / 20);
  t.is(repsNeeded(0.01), 5);
  t.is(repsNeeded(0.05), 3);
  t.is(repsNeeded(0.001), 7, '1/C(14, 7) = 1/3432');
  t.is(underpowered(5, 5, 0.01), undefined);
  t.regex(underpowered(4, 4, 0.01)!, /^with 4 and 4 repetitions the smallest p the permutation test can reach is 1\/70 = 0\.014, above alpha 0\.01/);
});

test('the statistic\'s floor is the resolution of the values: one histogram bucket (1/256), not finer', (t) => {
  t.is(CV_FLOOR, 1 / 256);
  // Two sides 0.1 % apart with no spread: at the old 0.2 % floor |t| was 0.5 * sqrt(5/2) ~ 0.79; at one bucket it is below 0.41.
  const t1 = welchLog([1000, 1000, 1000, 1000, 1000], [1001, 1001, 1001, 1001, 1001]);
  t.true(t1 > 0 && t1 < 0.41, `t = ${t1}`);
});

test('false verdicts of either kind, 400 no-shift suites: regressions at most alpha, improvements at most alpha, either at most 2 alpha', (t) => {
  let worse = 0;
  let better = 0;
  let either = 0;
  for (let s = 1; s <= 400; s++) {
    const g = maxT(suite(1000 + s, 0.05), { seed: s });
    const w = g.pWorse.some((p) => p <= ALPHA);
    const b = g.pBetter.some((p) => p <= ALPHA);
    worse += +w;
    better += +b;
    either += +(w || b);
  }
  t.log(`no shift, 400 suites: a false regression in ${worse}, a false improvement in ${better}, either in ${either}`);
  // Binomial(400, 0.01): 9 or more with probability < 1 %; Binomial(400, 0.02): 15 or more with probability < 1 %.
  t.true(worse <= 8 && better <= 8, `${worse} and ${better}`);
  t.true(either <= 14, `${either}`);
});

test('a partial null: three cells truly 20 % worse, the other 22 quiet at the family-wise rate', (t) => {
  let falseFlags = 0;
  let found = 0;
  for (let s = 1; s <= 200; s++) {
    const cells = suite(3000 + s, 0.03).map((c, i) => (i < 3 ? { ...c, b: c.b.map((x) => (c.higherIsWorse ? x * 1.2 : x / 1.2)) } : c));
    const g = maxT(cells, { seed: s });
    found += g.pWorse.slice(0, 3).filter((p) => p <= ALPHA).length;
    if (g.pWorse.slice(3).some((p) => p <= ALPHA) || g.pBetter.slice(3).some((p) => p <= ALPHA)) falseFlags++;
  }
  t.log(`partial null, 200 suites: the three shifted cells found ${found} of 600 times; a quiet cell flagged (either way) in ${falseFlags} suites`);
  t.true(found >= 300, `${found}/600`);
  t.true(falseFlags <= 8, `${falseFlags}/200`);
});

test('the printed interval agrees with the verdict: it excludes 1 exactly when the cell is significant, each way', (t) => {
  let significant = 0;
  for (let s = 1; s <= 60; s++) {
    // Shifts of 0 to 12 % either way across the cells, so that some cells clear the test and some do not.
    const cells = suite(7000 + s, 0.03).map((c, i) => {
      const f = 1 + ((i % 7) - 3) * 0.04;
      return { ...c, b: c.b.map((x) => x * f) };
    });
    const g = maxT(cells, { seed: s, alpha: ALPHA });
    cells.forEach((c, i) => {
      const iv = simultaneousChange(g.delta[i]!, g.se[i]!, g.qWorse, g.qBetter, c.higherIsWorse, ALPHA);
      const worseBoundPasses1 = c.higherIsWorse ? iv.low > 1 : iv.high < 1;
      const betterBoundPasses1 = c.higherIsWorse ? iv.high < 1 : iv.low > 1;
      t.is(worseBoundPasses1, g.pWorse[i]! <= ALPHA, `seed ${s} cell ${i}: worse bound vs pWorse ${g.pWorse[i]}`);
      t.is(betterBoundPasses1, g.pBetter[i]! <= ALPHA, `seed ${s} cell ${i}: better bound vs pBetter ${g.pBetter[i]}`);
      if (g.pWorse[i]! <= ALPHA || g.pBetter[i]! <= ALPHA) significant++;
    });
  }
  t.log(`${significant} of ${60 * CELLS} cells significant, each one's interval excluding 1, and no other's`);
  t.true(significant > 100 && significant < 60 * CELLS - 100, 'both kinds of cell were tested');
});

test('simultaneous coverage: all 25 intervals cover their true ratio together in at least 1 - 2 alpha of 300 suites (binomial slack)', (t) => {
  let all = 0;
  for (let s = 1; s <= 300; s++) {
    const truth = Array.from({ length: CELLS }, (_, i) => (i < 5 ? 1.15 : i < 8 ? 0.8 : 1));
    const cells = suite(9000 + s, 0.03).map((c, i) => ({ ...c, b: c.b.map((x) => x * truth[i]!) }));
    const g = maxT(cells, { seed: s, alpha: ALPHA });
    if (cells.every((c, i) => {
      const iv = simultaneousChange(g.delta[i]!, g.se[i]!, g.qWorse, g.qBetter, c.higherIsWorse, ALPHA);
      return iv.low <= truth[i]! && truth[i]! <= iv.high;
    })) all++;
  }
  t.log(`all 25 covered together in ${all} of 300 suites (nominal ${(1 - 2 * ALPHA) * 100} %)`);
  // Binomial(300, 0.98): 288 or fewer with probability < 1 %.
  t.true(all >= 288, `${all}/300`);
});

test('a strong improvement elsewhere no longer hides a regression: the reference is built with each cell\'s shift removed', (t) => {
  let alone = 0;
  let beside = 0;
  for (let s = 1; s <= 150; s++) {
    const base = suite(11000 + s, 0.03);
    const shifted = (improveOthers: boolean) => base.map((c, i) => {
      const f = i === 0 ? 1.1 : improveOthers && i >= 1 && i <= 3 ? 0.75 : 1;
      return { ...c, b: c.b.map((x) => (c.higherIsWorse ? x * f : x / f)) };
    });
    if (maxT(shifted(false), { seed: s }).pWorse[0]! <= ALPHA) alone++;
    if (maxT(shifted(true), { seed: s }).pWorse[0]! <= ALPHA) beside++;
  }
  t.log(`a +10 % cell, 5 vs 5, cv 3 %: found ${alone}/150 alone, ${beside}/150 beside three cells improved by 25 %`);
  t.true(beside >= alone - 8, `${beside} beside, ${alone} alone`);
});

test('step-down max-T: never a larger p than single-step, more power where several cells moved, and no more false flags', (t) => {
  let single = 0;
  let down = 0;
  for (let s = 1; s <= 120; s++) {
    // Eight cells truly 10 % worse at 7 vs 7, cv 3 %.
    const cells = suite(13000 + s, 0.03, 1, 7).map((c, i) => (i < 8 ? { ...c, b: c.b.map((x) => (c.higherIsWorse ? x * 1.1 : x / 1.1)) } : c));
    const g = maxT(cells, { seed: s, maxPermutations: 2000 });
    g.stepDownWorse.forEach((p, i) => t.true(p <= g.pWorse[i]! + 1e-12, `seed ${s} cell ${i}`));
    single += g.pWorse.slice(0, 8).filter((p) => p <= ALPHA).length;
    down += g.stepDownWorse.slice(0, 8).filter((p) => p <= ALPHA).length;
  }
  t.log(`eight +10 % cells, 7 vs 7, cv 3 %: found ${single}/960 single-step, ${down}/960 step-down`);
  t.true(down > single, `${down} > ${single}`);
  let either = 0;
  let worse = 0;
  for (let s = 1; s <= 2000; s++) {
    const g = maxT(suite(15000 + s, 0.05), { seed: s });
    if (g.stepDownWorse.some((p) => p <= ALPHA)) worse++;
    if (g.stepDownWorse.some((p) => p <= ALPHA) || g.stepDownBetter.some((p) => p <= ALPHA)) either++;
  }
  t.log(`no shift, 2000 suites: step-down flagged a regression in ${worse}, something either way in ${either}`);
  // Binomial(2000, 0.01): 32 or more with probability < 1 %; Binomial(2000, 0.02): 56 or more likewise.
  t.true(worse <= 31 && either <= 55, `${worse} and ${either} of 2000`);
});
