// What a machine says about itself that bears on a measurement's precision, read from a root that a
// test can point at a made-up /sys and /proc: the clock, frequency scaling, isolated CPUs, and, over
// a short window, the load of other processes, steal and the interrupts each CPU took.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CpuTimes {
  /** Busy ticks (user + nice + system + irq + softirq), idle ticks (idle + iowait), steal ticks. */
  busy: number;
  idle: number;
  steal: number;
}

/** One reading of the counters that move: /proc/stat per CPU and /proc/interrupts per CPU. */
export interface Counters {
  at: number;
  cpus: Map<number, CpuTimes>;
  /**
   * Device interrupts each CPU took: the numbered rows of /proc/interrupts, whose affinity can be
   * moved (the local timer, IPIs and the like follow the CPU's own work).
   */
  irqs: Map<number, number>;
  /** Ticks this process and its threads spent (/proc/self/stat): not "other processes". */
  selfTicks: number;
}

export interface StaticFacts {
  cpuCount: number;
  clocksource?: string;
  availableClocksources?: string[];
  /** scaling_governor per CPU that has cpufreq. */
  governors: Map<number, string>;
  /** intel_pstate no_turbo (1: off) or cpufreq boost (1: on); undefined: not visible. */
  turbo?: 'on' | 'off';
  thp?: string;
  aslr?: string;
  isolated: string;
  nohzFull: string;
  cmdlineIsolation: string[];
  /** The CPU says it runs under a hypervisor (the "hypervisor" flag). */
  virtualized: boolean;
  irqbalancePid?: number;
}

const read = (root: string, p: string): string | undefined => {
  try {
    return readFileSync(join(root, p), 'utf8').trim();
  } catch {
    return undefined;
  }
};

/** The facts that do not move over a run. */
export function readStaticFacts(root = '/'): StaticFacts {
  const cpuDir = 'sys/devices/system/cpu';
  let names: string[] = [];
  try {
    names = readdirSync(join(root, cpuDir)).filter((n) => /^cpu\d+$/.test(n));
  } catch {
    /* no sysfs: counted from /proc/stat below */
  }
  const governors = new Map<number, string>();
  for (const n of names) {
    const g = read(root, `${cpuDir}/${n}/cpufreq/scaling_governor`);
    if (g) governors.set(Number(n.slice(3)), g);
  }
  const noTurbo = read(root, `${cpuDir}/intel_pstate/no_turbo`);
  const boost = read(root, `${cpuDir}/cpufreq/boost`);
  const turbo = noTurbo !== undefined ? (noTurbo === '1' ? 'off' : 'on') : boost !== undefined ? (boost === '1' ? 'on' : 'off') : undefined;
  const cmdline = read(root, 'proc/cmdline') ?? '';
  const cpuinfo = read(root, 'proc/cpuinfo') ?? '';
  const statCpus = (read(root, 'proc/stat') ?? '').split('\n').filter((l) => /^cpu\d+ /.test(l)).length;
  const thpRaw = read(root, 'sys/kernel/mm/transparent_hugepage/enabled');
  return {
    cpuCount: names.length || statCpus,
    clocksource: read(root, 'sys/devices/system/clocksource/clocksource0/current_clocksource'),
    availableClocksources: read(root, 'sys/devices/system/clocksource/clocksource0/available_clocksource')?.split(/\s+/).filter(Boolean),
    governors,
    turbo,
    thp: thpRaw ? (/\[(\w+)\]/.exec(thpRaw)?.[1] ?? thpRaw) : undefined,
    aslr: read(root, 'proc/sys/kernel/randomize_va_space'),
    isolated: read(root, `${cpuDir}/isolated`) ?? '',
    nohzFull: read(root, `${cpuDir}/nohz_full`) ?? '',
    cmdlineIsolation: cmdline.split(/\s+/).filter((w) => /^(isolcpus|nohz_full|rcu_nocbs|irqaffinity)=/.test(w)),
    virtualized: /^flags\s*:.*\bhypervisor\b/m.test(cpuinfo),
    irqbalancePid: processNamed(root, 'irqbalance'),
  };
}

function processNamed(root: string, comm: string): number | undefined {
  let pids: string[] = [];
  try {
    pids = readdirSync(join(root, 'proc')).filter((n) => /^\d+$/.test(n));
  } catch {
    return undefined;
  }
  for (const p of pids) if (read(root, `proc/${p}/comm`) === comm) return Number(p);
  return undefined;
}

/** The moving counters, now. */
export function readCounters(root = '/', now = () => Number(process.hrtime.bigint())): Counters {
  const cpus = new Map<number, CpuTimes>();
  for (const l of (read(root, 'proc/stat') ?? '').split('\n')) {
    const m = /^cpu(\d+) (.*)$/.exec(l);
    if (!m) continue;
    const [user, nice, system, idle, iowait, irq, softirq, steal] = m[2]!.trim().split(/\s+/).map(Number) as number[];
    cpus.set(Number(m[1]), { busy: user! + nice! + system! + (irq ?? 0) + (softirq ?? 0), idle: idle! + (iowait ?? 0), steal: steal ?? 0 });
  }
  const irqs = new Map<number, number>();
  const lines = (read(root, 'proc/interrupts') ?? '').split('\n');
  const cols = (lines[0] ?? '').trim().split(/\s+/).map((c) => Number(c.replace(/^CPU/, '')));
  for (const l of lines.slice(1)) {
    const parts = l.trim().split(/\s+/);
    if (!/^\d+:$/.test(parts[0] ?? '')) continue;
    cols.forEach((cpu, i) => {
      const v = Number(parts[i + 1]);
      if (Number.isFinite(v)) irqs.set(cpu, (irqs.get(cpu) ?? 0) + v);
    });
  }
  const self = (read(root, 'proc/self/stat') ?? '').split(') ')[1]?.split(' ') ?? [];
  // Fields 14-17 of stat (utime, stime, cutime, cstime) are the 12th-15th after the comm.
  const selfTicks = [11, 12].reduce((s, i) => s + (Number(self[i]) || 0), 0);
  return { at: now(), cpus, irqs, selfTicks };
}
