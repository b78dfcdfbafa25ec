// The boundary layer against a delay injected at the VMM: QEMU's own disk throttling on the data
// drive (throttling.iops-total, set by the test hook $ISOPROBE_TEST_QEMU_THROTTLE) holds each guest
// request inside QEMU before it makes its host call, so the probe's latency grows by the wait, the
// boundary share by about as much, and the host call and the device not at all.
import test from 'ava';
import { join } from 'node:path';

import type { BlockResult } from '../../lib/probe/types';
import { makeTarget } from '../../lib/targets';
import type { Attribution, AttributionField } from '../../lib/trace/attribution';
import { traceUnavailable } from '../../lib/trace/available';
import { targetSkips, tempDir, testIf, why } from '../helpers';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());
const skip = traceUnavailable() ?? targetSkips(['qemu-microvm']).get('qemu-microvm');

// 50 operations a second: each guest read waits about 20 ms in QEMU's throttle at QD1.
const IOPS = 50;
const us = (ns: number) => `${(ns / 1e3).toFixed(1)} µs`;

/** One traced psync run (aio=threads) with QEMU's throttle on the drive or not. */
async function traced(throttle?: string): Promise<{ r: BlockResult; a: Attribution; storage: string }> {
  if (throttle) process.env.ISOPROBE_TEST_QEMU_THROTTLE = throttle;
  try {
    const s = await makeTarget('qemu-microvm').start({ dataFile: join(tmp.dir, 'boundary.dat'), dataSize: 16 * 2 ** 20, network: false, attribution: true, aio: 'threads' });
    try {
      const r = (await s.run({ kind: 'block', options: { engine: 'psync', direct: true, size: '16M', duration: '2s', warmup: '300ms' } })) as BlockResult & { attribution?: AttributionField };
      const a = r.attribution!;
      if ('unavailable' in a) throw new Error(`qemu-microvm: ${a.unavailable}`);
      return { r, a, storage: s.stack.storage };
    } finally {
      await s.stop();
    }
  } finally {
    delete process.env.ISOPROBE_TEST_QEMU_THROTTLE;
  }
}

const mean = (a: Attribution) => ({ probe: a.layers.probe_ns.mean, hostCall: a.layers.host_call_ns.mean, device: a.layers.device_ns.mean, hostKernel: a.layers.host_kernel_ns.mean, boundary: a.layers.boundary_ns.mean });

testIf(skip, test.serial)('boundary: QEMU\'s disk throttle raises the boundary by the probe\'s added latency (±10 %), not the host call or the device' + why(skip), async (t) => {
  const before = await traced();
  const after = await traced(`throttling.iops-total=${IOPS}`);
  const [b, a] = [mean(before.a), mean(after.a)];
  t.log(`probe ${us(b.probe)} -> ${us(a.probe)} (${before.r.ops} -> ${after.r.ops} ops); host call ${us(b.hostCall)} -> ${us(a.hostCall)}, device ${us(b.device)} -> ${us(a.device)}, boundary ${us(b.boundary)} -> ${us(a.boundary)}`);
  // The throttle took: the probe's own rate is at most what QEMU lets through (its bucket allows a
  // burst of a tenth of a second's worth).
  t.true(after.r.iops <= IOPS * 1.1, `throttled to ${IOPS}/s, the probe saw ${after.r.iops.toFixed(1)}/s`);
  // The reference: how much the probe's own latency grew, by its own clock.
  const added = a.probe - b.probe;
  t.true(added > 0.5e9 / IOPS, `the throttle added ${us(added)} per operation (at ${IOPS}/s an operation takes ${us(1e9 / IOPS)})`);
  t.true(Math.abs(a.boundary - b.boundary - added) <= 0.1 * added, `boundary +${us(a.boundary - b.boundary)} for ${us(added)} added`);
  t.true(Math.abs(a.hostCall - b.hostCall) <= 0.1 * added, `host call moved ${us(a.hostCall - b.hostCall)}`);
  t.true(Math.abs(a.device - b.device) <= 0.1 * added, `device moved ${us(a.device - b.device)}`);
  t.true(after.a.matched_share >= 0.9, `${after.a.matched} of ${after.a.ops_logged} matched`);
  t.regex(after.storage, /throttling\.iops-total=50 \(ISOPROBE_TEST_QEMU_THROTTLE\)/, 'the session says its disk was throttled');
  t.notRegex(before.storage, /throttling/);
});
