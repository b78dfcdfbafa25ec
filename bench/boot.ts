// Boot to first result under QEMU microvm: the guest kernel built from Debian's linux-source
// (tinyconfig + guest-image/isoprobe-guest.config, PVH vmlinux) against Debian's cloud kernel,
// the same workload (TCP RR on the guest's loopback, 300 ms + 50 ms warm-up), interleaved pairs.
//   npm run bench:boot            (BENCH_PAIRS, default 6; BENCH_KERNEL, default 6.1)
import { makeTarget } from '../lib/targets';
import type { VmSpec } from '../lib/targets/vm';
import { interleave, machine, median, saveResults } from './common';

const PAIRS = Number(process.env.BENCH_PAIRS || 6);
const BUILT = process.env.BENCH_KERNEL || '6.1';

interface Boot {
  probe_ms: number;
  first_result_ms: number;
  exit_ms: number;
}

async function boot(kernel: string): Promise<Boot> {
  const s = await makeTarget('qemu-microvm').start({ accel: 'tcg', network: false, kernel } as VmSpec);
  try {
    const r = (await s.run({ kind: 'rr', options: { duration: '300ms', warmup: '50ms' }, placement: 'loopback' })) as unknown as { boot: { vmm_start_to_probe_ns: number; vmm_start_to_first_result_ns: number; vmm_start_to_exit_ns: number } };
    return { probe_ms: r.boot.vmm_start_to_probe_ns / 1e6, first_result_ms: r.boot.vmm_start_to_first_result_ns / 1e6, exit_ms: r.boot.vmm_start_to_exit_ns / 1e6 };
  } finally {
    await s.stop();
  }
}

async function main(): Promise<void> {
  console.log(`boot to first result, QEMU microvm under TCG, ${PAIRS} interleaved pairs, on ${machine()}`);
  await boot(BUILT);  // builds or loads the kernel once, outside the timing
  await boot('cloud');
  const r = await interleave(PAIRS, () => boot(BUILT), () => boot('cloud'));
  const line = (label: string, xs: Boot[]) =>
    `${label.padEnd(34)} probe running ${median(xs.map((x) => x.probe_ms)).toFixed(0).padStart(5)} ms   first result ${median(xs.map((x) => x.first_result_ms)).toFixed(0).padStart(5)} ms   (each: ${xs.map((x) => x.first_result_ms.toFixed(0)).join(', ')})`;
  console.log(line(`built from linux-source-${BUILT}`, r.a));
  console.log(line("Debian's cloud kernel", r.b));
  const ratio = median(r.a.map((x) => x.first_result_ms)) / median(r.b.map((x) => x.first_result_ms));
  console.log(`ratio built / cloud (first result): ${ratio.toFixed(3)}; goal: built <= 1500 ms: ${median(r.a.map((x) => x.first_result_ms)) <= 1500 ? 'met' : 'NOT MET'}`);
  console.log(`results: ${saveResults('boot', { machine: machine(), built: BUILT, pairs: PAIRS, a: r.a, b: r.b })}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
