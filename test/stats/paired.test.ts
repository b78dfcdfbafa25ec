// The paired max-T test on synthetic suites with a drift shared by the two members of a pair (the
// shape this machine's noise has: bench/noise-shape.ts): its family-wise false-positive rate stays
// under alpha, and at the same number of measurements it finds a planted change far more often
// than the unpaired test, which the drift blinds.
import test from 'ava';

import { maxT } from '../../lib/stats/maxt';
import { detectableChange, normalQuantile, pairedMaxT, pairedT, pairsNeeded, smallestPairedP } from '../../lib/stats/paired';
import { rng } from '../../lib/stats/resample';

const normal = (r: () => number) => Math.sqrt(-2 * Math.log(r() || 1e-12)) * Math.cos(2 * Math.PI * r());

/** A suite of `cells` cells, `pairs` pairs: a drift per pair (shared by A and B and every cell), noise per block. */
function suite(seed: number, pairs: number, o: { cells?: number; drift?: number; noise?: number; shift?: number } = {}) {
  const r = rng(seed);
  const { cells = 25, drift = 0.08, noise = 0.02, shift = 1 } = o;
  const d = Array.from({ length: pairs }, () => drift * normal(r));
  return Array.from({ length: cells }, (_, c) => ({
    higherIsWorse: true,
    a: d.map((x) => 1e4 * Math.exp(x + noise * normal(r))),
    b: d.map((x) => 1e4 * Math.exp(x + noise * normal(r)) * (c === 0 ? shift : 1)),
  }));
}

test('exact with few pairs: 2^n sign vectors, the smallest p 1/2^n; 7 pairs are enough at alpha 0.01', (t) => {
  const res = pairedMaxT(suite(1, 7, { cells: 3 }));
  t.true(res.exact);
  t.is(res.permutations, 128);
  t.is(smallestPairedP(7), 1 / 128);
  t.is(pairsNeeded(0.01), 7);
  t.is(pairsNeeded(0.05), 5);
  for (const p of [...res.pWorse, ...res.pBetter]) t.true(p >= 1 / 128 && p <= 1);
});

test('A/A with a shared drift: the family-wise false-positive rate stays under alpha', (t) => {
  let flagged = 0;
  const trials = 300;
  for (let s = 0; s < trials; s++) {
    const res = pairedMaxT(suite(10_000 + s, 10), { alpha: 0.01, seed: s, maxPermutations: 1024 });
    if (res.pWorse.some((p) => p <= 0.01) || res.pBetter.some((p) => p <= 0.01)) flagged++;
  }
  // Two one-sided families at 0.01 each: about 2 % of suites flagged at most (6 of 300). More than
  // 14 happens by chance with probability < 0.001 (binomial, p = 0.02).
  t.true(flagged <= 14, `${flagged}/${trials} A/A suites flagged`);
});

test('at the same measurements, a +10 % change under drift: paired finds it most of the time, unpaired rarely', (t) => {
  let paired = 0;
  let unpaired = 0;
  const trials = 60;
  for (let s = 0; s < trials; s++) {
    const cells = suite(20_000 + s, 10, { shift: 1.1 });
    if (pairedMaxT(cells, { alpha: 0.01, seed: s, maxPermutations: 1024 }).pWorse[0]! <= 0.01) paired++;
    if (maxT(cells, { alpha: 0.01, seed: s, maxPermutations: 2000 }).pWorse[0]! <= 0.01) unpaired++;
  }
  t.log(`found: paired ${paired}/${trials}, unpaired ${unpaired}/${trials}`);
  t.true(paired >= 0.8 * trials, `paired ${paired}/${trials}`);
  t.true(unpaired <= 0.5 * trials, `unpaired ${unpaired}/${trials}: the drift (8 %) hides a 10 % change from it`);
});

test('pairedT, the normal quantile and the detectable change agree with hand values', (t) => {
  const p = pairedT([0.1, 0.2, 0.3]);
  t.is(p.mean.toFixed(6), '0.200000');
  t.is(p.se.toFixed(6), (0.1 / Math.sqrt(3)).toFixed(6));
  t.is(normalQuantile(0.975).toFixed(4), '1.9600');
  t.is(normalQuantile(0.8).toFixed(4), '0.8416');
  t.is(normalQuantile(0.01).toFixed(4), '-2.3263');
  t.is(detectableChange(0.01, 2.5, 0.8).toFixed(4), Math.expm1(3.3416 * 0.01).toFixed(4));
  t.is(detectableChange(Infinity, 2.5), Infinity);
});
