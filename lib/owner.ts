// Whose is it: every name isoprobe gives (namespaces, links, containers, work folders, build
// trees) carries its maker's pid, so what a killed run left is found and removed by the next one,
// and nothing of a run still alive, or of anyone else, is ever touched. What outlives a process
// (a stored run) records its identity instead: pid, start time, boot and pid namespace.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** This process's mark in every name it gives: leftovers can be traced to their maker. */
export const OWNER = process.pid.toString(36);

/**
 * The pid of the process that made a name `${prefix}${mark}-...` (uniqueName, tempWorkDir), or
 * undefined when the name does not start with the prefix followed by a mark.
 */
export function ownerOf(name: string, prefix: string): number | undefined {
  if (!name.startsWith(prefix)) return undefined;
  const m = /^([0-9a-z]+)-/.exec(name.slice(prefix.length));
  const pid = m ? parseInt(m[1]!, 36) : NaN;
  return Number.isSafeInteger(pid) && pid > 0 && pid <= PID_MAX_LIMIT ? pid : undefined;
}

/** Linux's largest possible pid: a longer "mark" is a word of the name, not a pid. */
const PID_MAX_LIMIT = 4_194_304;

/**
 * The maker of a name under the longest of the prefixes it starts with ("iso-docker-avail-" before
 * "iso-docker-": the shorter one would read "avail" as the mark).
 */
export function ownerOfAny(name: string, prefixes: readonly string[]): number | undefined {
  const p = [...prefixes].sort((a, b) => b.length - a.length).find((x) => name.startsWith(x));
  return p === undefined ? undefined : ownerOf(name, p);
}

/** A name of isoprobe's whose maker (by its mark) is no longer running. */
export function orphaned(name: string, prefixes: readonly string[]): boolean {
  const pid = ownerOfAny(name, prefixes);
  return pid !== undefined && !pidAlive(pid);
}

/**
 * The names some running process has on its command line: a runtime still making a container of
 * a maker just killed (runc run goes on without it) is at work on it; its leftovers are not yet.
 */
export function namedByAProcess(names: readonly string[], proc = '/proc'): Set<string> {
  const found = new Set<string>();
  if (!names.length) return found;
  for (const p of readdirSync(proc).filter((x) => /^\d+$/.test(x))) {
    let argv: string;
    try {
      argv = readFileSync(`${proc}/${p}/cmdline`, 'utf8');
    } catch {
      continue;  // ended meanwhile
    }
    for (const n of names) if (argv.includes(n)) found.add(n);
  }
  return found;
}

/** Whether a process of that pid still exists (a zombie counts as gone: it holds nothing). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    return !/^\d+ \(.*\) Z /s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/**
 * A process as the kernel tells it apart over time: its pid, when it started (clock ticks after
 * boot, /proc/PID/stat field 22), the boot (a reused pid after a reboot is not the same process)
 * and its pid namespace (a pid means something only in its own). Recorded by what outlives a
 * process (a stored run), so the next run can tell whether that process is still there.
 */
export interface ProcessIdentity {
  pid: number;
  start: number;
  boot: string;
  pidns: string;
}

/** The start time (ticks after boot) of a process in a /proc, or undefined when it is gone or a zombie. */
export function processStart(pid: number, proc = '/proc'): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`${proc}/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name may hold spaces and parentheses: the fields after it follow its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
  const start = Number(fields[19]);
  return Number.isSafeInteger(start) ? start : undefined;
}

function readTrim(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function pidNamespace(proc: string): string | undefined {
  try {
    return readlinkSync(`${proc}/self/ns/pid`);
  } catch {
    return undefined;
  }
}

/** This process's identity, or undefined where /proc does not tell it. */
export function selfIdentity(proc = '/proc'): ProcessIdentity | undefined {
  const start = processStart(process.pid, proc);
  const boot = readTrim(`${proc}/sys/kernel/random/boot_id`);
  const pidns = pidNamespace(proc);
  return start === undefined || !boot || !pidns ? undefined : { pid: process.pid, start, boot, pidns };
}

/**
 * Whether the process of a recorded identity (made on this machine) has ended: a boot since then
 * ends every process; otherwise the pid must be absent, a zombie, or another process's (a later
 * start time). Undefined when this process cannot tell: the record's pid belongs to another pid
 * namespace (a container's), whose pids mean other processes here.
 */
export function identityGone(id: ProcessIdentity, proc = '/proc'): boolean | undefined {
  const boot = readTrim(`${proc}/sys/kernel/random/boot_id`);
  if (!boot) return undefined;
  if (boot !== id.boot) return true;
  if (pidNamespace(proc) !== id.pidns) return undefined;
  return processStart(id.pid, proc) !== id.start;
}
