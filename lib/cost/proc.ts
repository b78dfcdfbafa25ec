// What /proc says about processes, threads and the machine's CPUs: the raw readings host-cost
// accounting is made of. Every reader tolerates a process or thread that exits while it is read.
import { readdirSync, readFileSync } from 'node:fs';

/** USER_HZ: the unit of utime/stime in /proc/.../stat and of /proc/stat (10 ms on Linux). */
export const TICK_NS = 10_000_000;

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** The fields of a /proc/.../stat line after "(comm)": index 0 is field 3 (state). */
function statFields(text: string | undefined): string[] | undefined {
  if (!text) return undefined;
  const close = text.lastIndexOf(')');
  return close < 0 ? undefined : text.slice(close + 2).trim().split(' ');
}

export interface ThreadTimes {
  tid: number;
  comm: string;
  /** Time on a CPU, ns (schedstat's first field: the scheduler's own clock, exact). */
  ns: number;
  userTicks: number;
  sysTicks: number;
  /** The CPU it last ran on (stat field 39). */
  cpu: number;
}

/** One thread's times, or undefined when it has gone. */
export function threadTimes(pid: number, tid: number): ThreadTimes | undefined {
  const base = `/proc/${pid}/task/${tid}`;
  const f = statFields(read(`${base}/stat`));
  const sched = read(`${base}/schedstat`);
  if (!f || !sched) return undefined;
  return {
    tid,
    comm: (read(`${base}/comm`) ?? '').trim(),
    ns: Number(sched.split(' ')[0]),
    userTicks: Number(f[11]),
    sysTicks: Number(f[12]),
    cpu: Number(f[36]),
  };
}

/** A CPU list as the kernel writes it ("0-3,6"), as numbers. */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(',').filter(Boolean)) {
    const [a, b] = part.split('-').map(Number);
    for (let c = a!; c <= (b ?? a!); c++) out.push(c);
  }
  return out;
}

/** The CPUs a thread may run on (Cpus_allowed_list), or undefined when it has gone. */
export function threadAllowedCpus(pid: number, tid: number): number[] | undefined {
  const m = /^Cpus_allowed_list:\s*(\S+)/m.exec(read(`/proc/${pid}/task/${tid}/status`) ?? '');
  return m ? parseCpuList(m[1]!) : undefined;
}

/** How often the scheduler moved a thread to another CPU (se.nr_migrations; kernels with CONFIG_SCHED_DEBUG). */
export function threadMigrations(pid: number, tid: number): number | undefined {
  const m = /^se\.nr_migrations\s*:\s*(\d+)/m.exec(read(`/proc/${pid}/task/${tid}/sched`) ?? '');
  return m ? Number(m[1]) : undefined;
}

/** The thread ids of a process (none once it has gone). */
export function tidsOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).map(Number).filter((n) => n > 0);
  } catch {
    return [];
  }
}

/** A whole process's user and system ticks, its exited threads' included (stat fields 14, 15). */
export function processTicks(pid: number): { userTicks: number; sysTicks: number } | undefined {
  const f = statFields(read(`/proc/${pid}/stat`));
  return f ? { userTicks: Number(f[11]), sysTicks: Number(f[12]) } : undefined;
}

export function parentOf(pid: number): number | undefined {
  const f = statFields(read(`/proc/${pid}/stat`));
  return f ? Number(f[1]) : undefined;
}

export function commOf(pid: number): string {
  return (read(`/proc/${pid}/comm`) ?? '').trim();
}

/** A process's command line, argument by argument (none once it has gone). */
export function cmdlineOf(pid: number): string[] {
  return (read(`/proc/${pid}/cmdline`) ?? '').split('\0').filter((a, i, all) => a || i < all.length - 1);
}

/** argv[0] as the process set it (gVisor names its processes runsc-sandbox and runsc-gofer there). */
export function argv0Of(pid: number): string {
  return cmdlineOf(pid)[0] ?? '';
}

/** Every pid on the machine (kernel threads included). */
export function allPids(): number[] {
  try {
    return readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number);
  } catch {
    return [];
  }
}

/** Every pid on the machine whose comm matches. */
export function pidsNamed(re: RegExp): number[] {
  return allPids().filter((pid) => re.test(commOf(pid)));
}

export interface MachineTimes {
  cpus: number;
  /** Ticks the CPUs spent on anything but idle and iowait, summed over CPUs. */
  busyTicks: number;
  /** Of which in softirq (network receive on veth and tap is served there, by whoever is running). */
  softirqTicks: number;
  totalTicks: number;
}

/** The machine's CPU times from /proc/stat (ticks, summed over CPUs). */
export function machineTimes(): MachineTimes {
  const text = read('/proc/stat') ?? '';
  const cpu = text.split('\n').find((l) => l.startsWith('cpu '))?.trim().split(/\s+/).slice(1).map(Number) ?? [];
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = cpu;
  const cpus = text.split('\n').filter((l) => /^cpu\d+ /.test(l)).length || 1;
  return { cpus, busyTicks: user + nice + system + irq + softirq + steal, softirqTicks: softirq, totalTicks: user + nice + system + idle + iowait + irq + softirq + steal };
}

export interface Memory {
  rssBytes: number;
  pssBytes: number;
}

/** A process's resident and proportional set sizes (smaps_rollup), or undefined when it has gone. */
export function memoryOf(pid: number): Memory | undefined {
  const t = read(`/proc/${pid}/smaps_rollup`);
  if (!t) return undefined;
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(t)?.[1] ?? 0) * 1024;
  return { rssBytes: kb('Rss'), pssBytes: kb('Pss') };
}

/** VmHWM: the peak resident set of a process over its life. */
export function peakRssOf(pid: number): number | undefined {
  const t = read(`/proc/${pid}/status`);
  const m = t && /^VmHWM:\s+(\d+) kB/m.exec(t);
  return m ? Number(m[1]) * 1024 : undefined;
}

/** The resident bytes of each mapping of a process: its size and Rss, from /proc/PID/smaps. */
export function mappingsOf(pid: number): { sizeBytes: number; rssBytes: number; name: string }[] {
  const t = read(`/proc/${pid}/smaps`);
  if (!t) return [];
  const out: { sizeBytes: number; rssBytes: number; name: string }[] = [];
  for (const block of t.split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/m.exec(block);
    if (!head) continue;
    const size = parseInt(head[2]!, 16) - parseInt(head[1]!, 16);
    const rss = Number(/^Rss:\s+(\d+) kB/m.exec(block)?.[1] ?? 0) * 1024;
    out.push({ sizeBytes: size, rssBytes: rss, name: head[3]!.trim() });
  }
  return out;
}
