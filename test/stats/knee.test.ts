// The knee rule on curves whose knee is known: the highest throughput whose p99 stays within 2x
// of the curve's lowest p99.
import test from 'ava';

import { kneeIndex } from '../../lib/stats/knee';

test('a curve that saturates: the knee is the last point before p99 leaves 2x of its floor', (t) => {
  const pts = [[200, 1.1e6], [400, 1.1e6], [800, 1.2e6], [950, 1.9e6], [990, 8e6], [995, 40e6]].map(([throughput, p99]) => ({ throughput: throughput!, p99: p99! }));
  t.is(kneeIndex(pts), 3);
});

test('throughput that falls past saturation: the knee is the highest throughput within the bound, not the last point', (t) => {
  const pts = [[100, 10e3], [300, 12e3], [500, 15e3], [450, 18e3], [900, 90e3]].map(([throughput, p99]) => ({ throughput: throughput!, p99: p99! }));
  t.is(kneeIndex(pts), 2);
});

test('points that did not measure are skipped; a curve with none has no knee', (t) => {
  t.is(kneeIndex([{ throughput: NaN, p99: 5 }, { throughput: 10, p99: 5 }]), 1);
  t.is(kneeIndex([{ throughput: 10, p99: NaN }]), undefined);
  t.is(kneeIndex([]), undefined);
});
