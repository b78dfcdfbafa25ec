// npm run bench:noise - the shape of this machine's noise, before deciding how to fight it: for
// windows of 0.1 to 4 s, the spread (CV) of a workload's window values and how much two adjacent
// windows share (their correlation). A and B run the same workload (an A/A), in alternating
// windows A B B A ..., so the correlation of a pair is the drift they share, and var(A-B) against
// var(A)+var(B) is what pairing them saves. Block (4 KiB O_DIRECT random reads, QD1) and TCP RR
// (64 B) on host and runc. NOISE_SECONDS (default 20) of windows per cell; writes bench/results/.
import { makeTarget } from '../lib/targets';
import { defaultDataFile } from '../lib/targets/session';
import type { Session, TargetResult, Workload } from '../lib/targets/types';
import { median, saveResults } from './common';

const WINDOWS_S = (process.env.NOISE_WINDOWS || '0.1,0.25,0.5,1,2,4').split(',').map(Number);
const SECONDS = Number(process.env.NOISE_SECONDS || 20);
const TARGETS = (process.env.NOISE_TARGETS || 'host,runc').split(',');

const workloads = (s: number): Record<string, Workload> => {
  const t = { duration: `${Math.round(s * 1000)}ms`, warmup: '20ms', cpus: '0', server_cpus: '1' };
  return {
    'randread-4k-qd1': { kind: 'block', options: { pattern: 'randread', bs: '4k', direct: true, engine: 'psync', duration: t.duration, warmup: t.warmup, cpus: t.cpus } },
    'tcp-rr-64': { kind: 'rr', options: { size: 64, ...t }, placement: 'client-inside' },
  };
};

const rate = (r: TargetResult) => (r.kind === 'block' ? r.iops : r.tps!);
const p50 = (r: TargetResult) => r.latency_ns!.percentiles['50']!;

function stats(a: number[], b: number[]): { cv: number; corr: number; pairGain: number } {
  const mean = (x: number[]) => x.reduce((s, v) => s + v, 0) / x.length;
  const v = (x: number[]) => { const m = mean(x); return x.reduce((s, y) => s + (y - m) ** 2, 0) / (x.length - 1); };
  const all = [...a, ...b];
  const [ma, mb] = [mean(a), mean(b)];
  const cov = a.reduce((s, x, i) => s + (x - ma) * (b[i]! - mb), 0) / (a.length - 1);
  const d = a.map((x, i) => x - b[i]!);
  return { cv: Math.sqrt(v(all)) / mean(all), corr: cov / Math.sqrt(v(a) * v(b)), pairGain: v(d) / (v(a) + v(b)) };
}

async function cell(s: Session, name: string, w: Workload, windows: number): Promise<{ a: TargetResult[]; b: TargetResult[] }> {
  const a: TargetResult[] = [];
  const b: TargetResult[] = [];
  for (let i = 0; i < windows; i++) {
    // ABBA: pair i is (A, B) when i is even, (B, A) when odd; each side is first half the time.
    const [first, second] = i % 2 === 0 ? [a, b] : [b, a];
    for (const side of [first, second]) {
      const [r] = await s.runSuite([w]);
      if (r instanceof Error) throw new Error(`${name}: ${r.message}`);
      side.push(r!);
    }
  }
  return { a, b };
}

async function main(): Promise<void> {
  const rows: Record<string, unknown>[] = [];
  console.log(`noise shape: A/A windows, ${SECONDS} s of windows a cell; cv of the rate over windows, correlation of the A and B of a pair,`);
  console.log('and var(A-B)/(var A + var B): below 1, pairing A with B in time cancels that share of the noise');
  console.log(['target', 'workload', 'window', 'pairs', 'rate cv', 'rate corr', 'rate pair var', 'p50 cv', 'p50 corr', 'p50 pair var'].join(' | '));
  for (const target of TARGETS) {
    const session = await makeTarget(target as never).start({ network: true, dataFile: defaultDataFile() });
    try {
      for (const ws of WINDOWS_S) {
        for (const [name, w] of Object.entries(workloads(ws))) {
          const pairs = Math.max(6, Math.round(SECONDS / ws / 2));
          const { a, b } = await cell(session, name, w, pairs);
          const r = stats(a.map(rate), b.map(rate));
          const l = stats(a.map(p50), b.map(p50));
          const row = { target, workload: name, window_s: ws, pairs, rate: r, p50: l, rate_median: median([...a, ...b].map(rate)) };
          rows.push(row);
          const f = (x: number) => x.toFixed(2);
          console.log([target, name, `${ws} s`, pairs, `${(r.cv * 100).toFixed(1)} %`, f(r.corr), f(r.pairGain), `${(l.cv * 100).toFixed(1)} %`, f(l.corr), f(l.pairGain)].join(' | '));
        }
      }
    } finally {
      await session.stop();
    }
  }
  saveResults('noise-shape', { windows_s: WINDOWS_S, seconds: SECONDS, rows });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
