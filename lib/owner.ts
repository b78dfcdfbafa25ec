// Whose is it: every name isoprobe gives (namespaces, links, containers, work folders, build
// trees) carries its maker's pid, so what a killed run left is found and removed by the next one,
// and nothing of a run still alive, or of anyone else, is ever touched.
import { readFileSync } from 'node:fs';

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
