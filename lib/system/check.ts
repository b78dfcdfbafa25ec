// `isoprobe system check`: what on this machine can disturb a measurement, judged from its facts
// (facts.ts) the way pyperf's `system show` does: each line a fact, a verdict and what to do.
import { optionError } from '../errors';
import { type Counters, readCounters, readStaticFacts, type StaticFacts } from './facts';
import { activeShield, type ShieldRecord, shieldText } from './shield';

export type Verdict = 'ok' | 'warn' | 'unknown' | 'info';

export interface CheckLine {
  name: string;
  verdict: Verdict;
  /** What was read, short. */
  value: string;
  /** What it means and what to do, when anything. */
  advice?: string;
}

export interface SystemCheck {
  /** The CPUs the check judged the load and interrupts of (the measuring CPUs, or all). */
  cpus: number[];
  windowMs: number;
  lines: CheckLine[];
  /** The --shield this process raised for the run, when it did: what was shielded, what could not be moved. */
  shield?: ShieldRecord;
}

/** Thresholds, fixed: a CPU share of other processes, steal, and interrupts per second per CPU. */
export const LIMITS = { otherLoad: 0.05, steal: 0.01, irqPerS: 1000 } as const;

const TICK_NS = 1e9 / 100;  // USER_HZ

function clockLine(f: StaticFacts): CheckLine {
  const c = f.clocksource;
  if (!c) return { name: 'clocksource', verdict: 'unknown', value: 'not visible' };
  if (['tsc', 'kvm-clock', 'arch_sys_counter', 'hyperv_clocksource_tsc_page'].includes(c)) return { name: 'clocksource', verdict: 'ok', value: c };
  return { name: 'clocksource', verdict: 'warn', value: c, advice: `each clock read costs the kernel microseconds (available: ${(f.availableClocksources ?? []).join(' ') || 'unknown'}); prefer tsc` };
}

function frequencyLines(f: StaticFacts): CheckLine[] {
  const govs = [...new Set(f.governors.values())];
  const governor: CheckLine = !govs.length
    ? { name: 'governor', verdict: 'unknown', value: 'not visible', advice: f.virtualized ? 'no cpufreq in this VM: the host sets the frequency' : 'no cpufreq: a fixed frequency, or no driver' }
    : govs.every((g) => g === 'performance')
      ? { name: 'governor', verdict: 'ok', value: 'performance' }
      : { name: 'governor', verdict: 'warn', value: govs.join(', '), advice: 'the frequency follows the load: cpupower frequency-set -g performance' };
  const turbo: CheckLine = f.turbo === undefined
    ? { name: 'turbo', verdict: 'unknown', value: 'not visible' }
    : f.turbo === 'on'
      ? { name: 'turbo', verdict: 'warn', value: 'on', advice: 'the frequency varies with load and heat: turn boost off for stable figures' }
      : { name: 'turbo', verdict: 'ok', value: 'off' };
  return [governor, turbo];
}

function isolationLines(f: StaticFacts): CheckLine[] {
  const iso = [f.isolated && `isolated ${f.isolated}`, f.nohzFull && `nohz_full ${f.nohzFull}`].filter(Boolean).join(', ');
  return [
    iso
      ? { name: 'isolated CPUs', verdict: 'ok', value: iso }
      : { name: 'isolated CPUs', verdict: 'info', value: 'none', advice: 'other tasks share the measuring CPUs (isolcpus= or a cpuset keeps them off)' },
    f.irqbalancePid
      ? { name: 'irqbalance', verdict: 'warn', value: `running (pid ${f.irqbalancePid})`, advice: 'it moves interrupts onto the measuring CPUs at will: stop it for the run' }
      : { name: 'irqbalance', verdict: 'ok', value: 'not running' },
    f.thp === 'always'
      ? { name: 'THP', verdict: 'warn', value: 'always', advice: "khugepaged's compaction can stall a run: madvise is enough for isoprobe" }
      : { name: 'THP', verdict: f.thp ? 'ok' : 'unknown', value: f.thp ?? 'not visible' },
    { name: 'ASLR', verdict: 'info', value: f.aslr === '0' ? 'off' : f.aslr ? `on (${f.aslr})` : 'not visible', ...(f.aslr && f.aslr !== '0' ? { advice: "the static probe's layout varies per run; a few ns at most" } : {}) },
  ];
}

/** The load, steal and interrupts between two readings, on the CPUs judged. */
function windowLines(f: StaticFacts, a: Counters, b: Counters, cpus: number[]): CheckLine[] {
  const s = (b.at - a.at) / 1e9;
  let busy = 0;
  let steal = 0;
  let all = 0;
  for (const [cpu, t1] of b.cpus) {
    const t0 = a.cpus.get(cpu);
    if (!t0) continue;
    const d = { busy: t1.busy - t0.busy, idle: t1.idle - t0.idle, steal: t1.steal - t0.steal };
    busy += d.busy;
    if (cpus.includes(cpu)) {
      steal += d.steal;
      all += d.busy + d.idle + d.steal;
    }
  }
  const other = Math.max(0, busy - (b.selfTicks - a.selfTicks)) * TICK_NS / 1e9 / s;
  const stealShare = all ? steal / all : 0;
  const irqRate = Math.max(...cpus.map((c) => ((b.irqs.get(c) ?? 0) - (a.irqs.get(c) ?? 0)) / s), 0);
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  return [
    other > LIMITS.otherLoad
      ? { name: 'other load', verdict: 'warn', value: `${pct(other)} of a CPU`, advice: 'other processes ran during the check: keep the machine idle' }
      : { name: 'other load', verdict: 'ok', value: `${pct(other)} of a CPU` },
    stealShare > LIMITS.steal
      ? { name: 'steal', verdict: 'warn', value: pct(stealShare), advice: 'the hypervisor ran others on these CPUs: expect drift; pair A and B in time' }
      : { name: 'steal', verdict: 'ok', value: pct(stealShare), ...(f.virtualized && steal === 0 ? { advice: 'a hypervisor may not report steal at all' } : {}) },
    irqRate > LIMITS.irqPerS
      ? { name: 'IRQs on CPUs', verdict: 'warn', value: `${Math.round(irqRate)} device IRQs/s`, advice: 'interrupts land on the measuring CPUs: set /proc/irq/*/smp_affinity off them' }
      : { name: 'IRQs on CPUs', verdict: 'ok', value: `${Math.round(irqRate)} device IRQs/s on the busiest measuring CPU` },
  ];
}

/** The judgement of facts already read (a test gives made-up ones). */
export function judge(f: StaticFacts, a: Counters, b: Counters, cpus: number[]): SystemCheck {
  const lines: CheckLine[] = [clockLine(f), ...frequencyLines(f), ...isolationLines(f), ...windowLines(f, a, b, cpus)];
  if (f.virtualized) lines.push({ name: 'hypervisor', verdict: 'info', value: 'yes (the CPU flag)', advice: "a VM: the host's load, frequency and turbo are not visible from here" });
  return { cpus, windowMs: Math.round((b.at - a.at) / 1e6), lines };
}

/** Reads the machine (or `root`) over `windowMs` and judges it for the measuring CPUs (default: all). */
export async function systemCheck(opts: { root?: string; windowMs?: number; cpus?: number[] } = {}): Promise<SystemCheck> {
  const root = opts.root ?? '/';
  const f = readStaticFacts(root);
  const a = readCounters(root);
  await new Promise((r) => setTimeout(r, opts.windowMs ?? 500));
  const b = readCounters(root);
  const known = [...b.cpus.keys()];
  const absent = (opts.cpus ?? []).filter((c) => !b.cpus.has(c));
  if (absent.length) throw optionError('cpus', `--cpus ${opts.cpus!.join(',')}: no CPU ${absent.join(', ')} here (CPUs ${known.join(',')})`);
  const c = judge(f, a, b, opts.cpus ?? known);
  const shield = activeShield();
  if (shield) {
    c.shield = shield;
    c.lines.push({ name: 'shield', verdict: 'info', value: shieldText(shield).replace(/^shield: /, '') });
  }
  return c;
}

/** The check as text lines, each within 120 columns (advice that does not fit goes on its own line). */
export function formatCheck(c: SystemCheck): string[] {
  const out = [`system check: CPUs ${c.cpus.join(',')}, over ${c.windowMs} ms`];
  for (const l of c.lines) {
    const line = `  ${l.verdict.padEnd(7)} ${l.name.padEnd(14)} ${l.value}`;
    if (!l.advice) out.push(line);
    else if (line.length + 2 + l.advice.length <= 120) out.push(`${line}: ${l.advice}`);
    else out.push(`${line}:`, `${' '.repeat(25)}${l.advice}`);
  }
  return out;
}
