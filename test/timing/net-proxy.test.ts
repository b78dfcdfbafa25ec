// The RR split against a hold planted on the host side: a relay (test/timing/net-delay-proxy.py,
// the variant setting relay=) between the client inside the target and isoprobe's echo server
// holds every request a known time and measures its holds and its own request-to-reply time (a
// request's receive to its reply's receive: the hold and the leg through the echo server). Against
// the same relay holding nothing (runs in the order no hold, hold, no hold, one session), the host
// path must rise by what the relay measured its request-to-reply time rose, which is at least its
// hold (± 10 %, plus the host path's own spread between the two no-hold runs); the boundary and the
// server layer must not move (a tenth of the hold plus their own spread).
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { NetResult } from '../../lib/probe/types';
import { makeTarget, type TargetName } from '../../lib/targets';
import type { Session } from '../../lib/targets/types';
import { traceUnavailable } from '../../lib/trace/available';
import type { NetAttribution, NetAttributionField } from '../../lib/trace/net-attribution';
import { targetSkips, tempDir, testIf, why } from '../helpers';

const PROXY = join(__dirname, '..', '..', '..', 'test', 'timing', 'net-delay-proxy.py');
const HOLD_US = 2000;
const tmp = tempDir();
test.after.always(() => tmp.cleanup());

/** The relay's own record of one run (net-delay-proxy.py writes it at SIGTERM): its holds, and its request-to-reply times. */
interface Summary { count: number; mean_ns: number; median_ns: number }
interface Holds { hold_ns: number; hold: Summary; leg: Summary }
interface Run { r: NetResult; a: NetAttribution; holds: Holds }

const us = (ns: number) => `${(ns / 1e3).toFixed(1)} µs`;
let runs = 0;

/** One traced tcp_rr run through the relay, which holds each request `holdUs` (its control: the environment it inherits). */
async function through(s: Session, holdUs: number): Promise<Run> {
  const stats = join(tmp.dir, `holds-${runs++}.json`);
  process.env.NETPROXY_HOLD_US = String(holdUs);
  process.env.NETPROXY_STATS = stats;
  try {
    const r = (await s.run({ kind: 'rr', options: { proto: 'tcp', size: 64, duration: '2s', warmup: '200ms' } })) as NetResult & { attribution?: NetAttributionField };
    const a = r.attribution;
    if (!a || 'unavailable' in a) throw new Error(`${s.stack.target}: ${a ? a.unavailable : 'no attribution'}`);
    // The session stopped the relay when the run ended: its record is written.
    if (!existsSync(stats)) throw new Error(`the relay wrote no record to ${stats}: it was not in the path`);
    return { r, a, holds: JSON.parse(readFileSync(stats, 'utf8')) as Holds };
  } finally {
    delete process.env.NETPROXY_HOLD_US;
    delete process.env.NETPROXY_STATS;
  }
}

const python = spawnSync('python3', ['--version']).status === 0 ? undefined : 'python3 is not installed (the relay test/timing/net-delay-proxy.py is a Python script)';
const skips = targetSkips(['host', 'runc']);
const skipOf = (name: TargetName) => traceUnavailable() ?? python ?? skips.get(name);

type Layer = 'host_path_ns' | 'server_ns' | 'boundary_ns';
/** A layer's p50 with the hold less the no-hold runs' mean, and the no-hold runs' own spread. */
function moved(a1: Run, b: Run, a2: Run, layer: Layer): { by: number; spread: number } {
  const [x1, y, x2] = [a1.a.layers[layer].p50, b.a.layers[layer].p50, a2.a.layers[layer].p50];
  return { by: y - (x1 + x2) / 2, spread: Math.abs(x1 - x2) };
}

for (const name of ['runc', 'host'] as const) {
  const skip = skipOf(name);
  const where = name === 'host' ? 'the host (network: true: the client in one namespace isoprobe made, the server in its peer)' : 'runc (the container\'s client, the server in the peer namespace)';
  testIf(skip, test.serial)(`${where}: a relay holding each request ${HOLD_US} µs raises the host path by what the relay measured (± 10 % + the no-hold spread), not the boundary nor the server${why(skip)}`, async (t) => {
    const s = await makeTarget(name).start({ network: true, attribution: true, relay: PROXY });
    const [a1, b, a2] = await (async () => {
      try {
        return [await through(s, 0), await through(s, HOLD_US), await through(s, 0)] as const;
      } finally {
        await s.stop();
      }
    })();
    t.regex(s.stack.network, /through the relay .*net-delay-proxy\.py/, 'every result says its requests went through the relay');
    // Every request of the probe went through the relay (its count includes the warm-up's).
    for (const x of [a1, b, a2]) t.true(x.holds.hold.count >= x.r.transactions, `the relay forwarded ${x.holds.hold.count} requests, the probe made ${x.r.transactions}`);
    t.true(a1.holds.hold.median_ns === 0 && a2.holds.hold.median_ns === 0, 'no hold in the reference runs');
    const hold = b.holds.hold.median_ns;
    t.true(hold >= 0.9 * HOLD_US * 1e3, `the relay held each request ${us(hold)} (median), asked ${HOLD_US} µs`);
    // The relay's own request-to-reply time rose by the hold at least: after 2 ms idle the echo
    // server and the relay's reply thread wake slower too (on the host up to a tenth more here).
    const leg = b.holds.leg.median_ns - (a1.holds.leg.median_ns + a2.holds.leg.median_ns) / 2;
    t.true(leg >= 0.9 * hold, `the relay's request-to-reply time rose ${us(leg)} (median) for a ${us(hold)} hold`);
    // The hold took: the probe's own round trip grew by about as much.
    const probe = b.r.latency_ns!.percentiles['50']! - (a1.r.latency_ns!.percentiles['50']! + a2.r.latency_ns!.percentiles['50']!) / 2;
    t.true(probe >= 0.9 * hold, `the probe's p50 rose ${us(probe)} for a ${us(hold)} hold`);
    const host = moved(a1, b, a2, 'host_path_ns');
    const boundary = moved(a1, b, a2, 'boundary_ns');
    const server = moved(a1, b, a2, 'server_ns');
    t.log(`${name}: hold ${us(hold)} (median; mean ${us(b.holds.hold.mean_ns)}, ${b.holds.hold.count} requests), the relay's request-to-reply +${us(leg)}; probe p50 +${us(probe)}; host path p50 ${us(a1.a.layers.host_path_ns.p50)}, ${us(b.a.layers.host_path_ns.p50)}, ${us(a2.a.layers.host_path_ns.p50)} (+${us(host.by)}, spread ${us(host.spread)}); `
      + `boundary p50 ${us(boundary.by)} (spread ${us(boundary.spread)}); server p50 ${us(server.by)} (spread ${us(server.spread)}); matched ${b.a.matched} of ${b.a.transactions_seen}`);
    t.true(Math.abs(host.by - leg) <= 0.1 * leg + host.spread, `host path p50 +${us(host.by)} for the relay's +${us(leg)} (bound ${us(0.1 * leg + host.spread)})`);
    t.true(Math.abs(boundary.by) <= 0.1 * hold + boundary.spread, `boundary p50 moved ${us(boundary.by)} (bound ${us(0.1 * hold + boundary.spread)})`);
    t.true(Math.abs(server.by) <= 0.1 * hold + server.spread, `server p50 moved ${us(server.by)} (bound ${us(0.1 * hold + server.spread)})`);
    for (const x of [a1, b, a2]) t.true(x.a.matched >= 0.9 * x.a.transactions_seen, `${x.a.matched} of ${x.a.transactions_seen} transactions split`);
  });
}
