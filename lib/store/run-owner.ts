// Whether the isoprobe that recorded a run is still there: a run left "running" by a process that
// has ended (SIGKILL, a crash, a reboot) is interrupted, and one whose process lives is never so.
// Decided from /proc (a parameter, so a test can hand in a made-up one).
import { readdirSync, readFileSync } from 'node:fs';

import { TICK_NS } from '../cost/proc';
import { identityGone, type ProcessIdentity, processStart } from '../owner';

/** What identifies a machine across its boots, from a run's `machine` fingerprint. */
interface MachineKey {
  hostname?: string;
  machine_id_sha256?: string;
}

/** Whether a fingerprint names this machine: the same hostname, and the same machine-id when both have one. */
export function sameMachine(run: MachineKey, here: MachineKey): boolean {
  if (run.hostname !== here.hostname) return false;
  return !run.machine_id_sha256 || !here.machine_id_sha256 || run.machine_id_sha256 === here.machine_id_sha256;
}

export interface RunOwnerFacts {
  started_at: string;
  machine: string;
  /** The recording process's identity as JSON (schema 3), or null: a run recorded before, or imported. */
  owner: string | null;
  command: string;
  note: string | null;
}

/** The boot time from /proc/stat, ms since the epoch. */
function bootMs(proc: string): number | undefined {
  try {
    const s = /^btime (\d+)$/m.exec(readFileSync(`${proc}/stat`, 'utf8'))?.[1];
    return s ? Number(s) * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A run recorded before owners were (schema 2 and older): its process is gone when the machine has
 * booted since it started, or when no process here that had started by then runs its command line
 * (the same command run again later is a new process, not its owner).
 */
function legacyOwnerGone(r: RunOwnerFacts, proc: string): boolean | undefined {
  const boot = bootMs(proc);
  const started = Date.parse(r.started_at);
  if (boot === undefined || !Number.isFinite(started)) return undefined;
  if (started < boot) return true;
  const tail = r.command.replace(/^isoprobe /, '');
  let pids: string[];
  try {
    pids = readdirSync(proc).filter((n) => /^\d+$/.test(n));
  } catch {
    return undefined;
  }
  for (const p of pids) {
    let argv: string;
    try {
      argv = readFileSync(`${proc}/${p}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    } catch {
      continue;  // ended meanwhile
    }
    if (!argv.includes(tail)) continue;
    const start = processStart(Number(p), proc);
    // btime is whole seconds: a second of slack, so an owner is never taken for a later process.
    if (start !== undefined && boot + (start * TICK_NS) / 1e6 <= started + 1000) return false;
  }
  return true;
}

/**
 * Whether the process that recorded a running run has ended: true, false, or undefined when this
 * process cannot tell (another machine's run, an imported one, another pid namespace's).
 */
export function runOwnerGone(r: RunOwnerFacts, here: MachineKey, proc = '/proc'): boolean | undefined {
  if (r.note?.startsWith('imported')) return undefined;
  let machine: MachineKey;
  try {
    machine = JSON.parse(r.machine) as MachineKey;
  } catch {
    return undefined;
  }
  if (!sameMachine(machine, here)) return undefined;
  if (r.owner === null) return legacyOwnerGone(r, proc);
  let id: ProcessIdentity;
  try {
    id = JSON.parse(r.owner) as ProcessIdentity;
  } catch {
    return undefined;
  }
  return identityGone(id, proc);
}
