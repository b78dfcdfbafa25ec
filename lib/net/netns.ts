// Network namespaces and veth pairs that isoprobe creates for a run, and removes again, also on
// error and on SIGINT/SIGTERM. Addresses exist only inside these namespaces.
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

import { IsoprobeError } from '../errors';
import { orphaned, OWNER } from '../owner';

export { OWNER };

const run = promisify(execFile);

async function ip(args: string[]): Promise<string> {
  try {
    const { stdout } = await run('ip', args, { timeout: 15_000 });
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new IsoprobeError('ENETNS', `ip ${args.join(' ')} failed: ${(err.stderr || err.message).trim()}`);
  }
}

/** Why namespaces cannot be made here, or undefined when they can. */
export function netnsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'creating network namespaces needs root';
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
  } catch {
    return 'the ip command (iproute2) is not installed';
  }
  return undefined;
}

let counter = 0;

/**
 * A unique name: prefix, this process's mark, a counter and a random byte. Interface names are
 * limited to 15 characters, so prefixes of links are short; nothing is ever cut off.
 */
export function uniqueName(prefix: string, max = 15): string {
  const name = `${prefix}${OWNER}-${(counter++).toString(36)}${randomBytes(1).toString('hex')}`;
  if (name.length > max) throw new Error(`uniqueName: "${name}" is longer than ${max} characters`);
  return name;
}

export interface NamespacePair {
  /** Namespace names; run commands inside with `ip netns exec NAME ...` or nsenter. */
  a: string;
  b: string;
  /** The addresses of each side's veth end (inside its namespace only). */
  addrA: string;
  addrB: string;
  destroy(): Promise<void>;
}

// Namespaces alive in this process, deleted synchronously if the process exits before their
// owner does (deleting a namespace removes its veth end too).
const liveNamespaces = new Set<string>();
let hooked = false;

/** A namespace this process made: deleted at exit if its owner has not deleted it by then. */
function track(ns: string): void {
  hookExit();
  liveNamespaces.add(ns);
}

async function deleteNamespace(ns: string): Promise<void> {
  await ip(['netns', 'delete', ns]).catch(() => undefined);
  liveNamespaces.delete(ns);
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', () => {
    for (const ns of liveNamespaces) {
      try {
        execFileSync('ip', ['netns', 'delete', ns], { stdio: 'ignore', timeout: 5000 });
      } catch {
        /* already gone */
      }
    }
  });
}

/**
 * Two namespaces joined by a veth pair, each side addressed in a /30 that exists only between
 * them. Loopback is brought up in both.
 */
export async function createNamespacePair(subnet = 77): Promise<NamespacePair> {
  const a = uniqueName('isoprobe-a', 64);
  const b = uniqueName('isoprobe-b', 64);
  const va = uniqueName('iso-va');
  const vb = uniqueName('iso-vb');
  const addrA = `10.${subnet}.0.1`;
  const addrB = `10.${subnet}.0.2`;
  const made: string[] = [];
  const destroy = async () => {
    for (const ns of made.reverse()) await deleteNamespace(ns);
    made.length = 0;
  };
  try {
    for (const ns of [a, b]) {
      track(ns);
      made.push(ns);
      await ip(['netns', 'add', ns]);
    }
    await ip(['link', 'add', va, 'netns', a, 'type', 'veth', 'peer', 'name', vb, 'netns', b]);
    await ip(['-n', a, 'addr', 'add', `${addrA}/30`, 'dev', va]);
    await ip(['-n', b, 'addr', 'add', `${addrB}/30`, 'dev', vb]);
    for (const [ns, dev] of [[a, va], [b, vb]] as const) {
      await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
      await ip(['-n', ns, 'link', 'set', dev, 'up']);
    }
  } catch (e) {
    await destroy();
    throw e;
  }
  return { a, b, addrA, addrB, destroy };
}

/** Namespaces and links named by isoprobe that still exist (for leftover checks). */
export async function leftoverNetObjects(): Promise<string[]> {
  const ns = (await ip(['netns', 'list']).catch(() => '')).split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.startsWith('isoprobe'));
  const links = (await ip(['-o', 'link']).catch(() => '')).split('\n').filter((l) => /iso-|isoprobe/.test(l)).map((l) => l.split(':')[1]!.trim());
  return [...ns, ...links];
}

export interface PeerLink {
  /** The peer namespace (isoprobe's) and its address. */
  peer: string;
  peerAddr: string;
  /** The address given to the veth end inside the target's namespace. */
  targetAddr: string;
  destroy(): Promise<void>;
}

/**
 * A veth pair between a new peer namespace and the network namespace of a running process (a
 * container started with no network). Both ends are addressed in a /30 that exists only there.
 */
export async function createPeerForPid(pid: number, subnet = 77): Promise<PeerLink> {
  const peer = uniqueName('isoprobe-p', 64);
  const vp = uniqueName('iso-vp');
  const vt = uniqueName('iso-vt');
  const peerAddr = `10.${subnet}.1.2`;
  const targetAddr = `10.${subnet}.1.1`;
  track(peer);
  const destroy = () => deleteNamespace(peer);
  try {
    await ip(['netns', 'add', peer]);
    await ip(['link', 'add', vp, 'netns', peer, 'type', 'veth', 'peer', 'name', vt, 'netns', String(pid)]);
    await ip(['-n', peer, 'addr', 'add', `${peerAddr}/30`, 'dev', vp]);
    await ip(['-n', peer, 'link', 'set', 'lo', 'up']);
    await ip(['-n', peer, 'link', 'set', vp, 'up']);
    const inTarget = async (args: string[]) => {
      try {
        await run('nsenter', ['-t', String(pid), '-n', 'ip', ...args], { timeout: 15_000 });
      } catch (e) {
        throw new IsoprobeError('ENETNS', `ip ${args.join(' ')} in the namespace of pid ${pid} failed: ${((e as { stderr?: string }).stderr ?? String(e)).trim()}`);
      }
    };
    await inTarget(['addr', 'add', `${targetAddr}/30`, 'dev', vt]);
    await inTarget(['link', 'set', 'lo', 'up']);
    await inTarget(['link', 'set', vt, 'up']);
  } catch (e) {
    await destroy();
    throw e;
  }
  return { peer, peerAddr, targetAddr, destroy };
}

export interface TapNamespace {
  /** The namespace the VMM runs in, and its tap device. */
  ns: string;
  tap: string;
  /** The tap's address (the host side) and the guest's, in a /30 that exists only there. */
  hostAddr: string;
  guestAddr: string;
  destroy(): Promise<void>;
}

/**
 * A namespace holding a tap device for a VMM that runs inside it (nsenter): the host side of the
 * guest's network. On the exit-time list like every namespace isoprobe makes.
 */
export async function createTapNamespace(queues = 1): Promise<TapNamespace> {
  const ns = uniqueName('isoprobe-vm', 64);
  const tap = uniqueName('iso-tap');
  const subnet = 60 + Math.floor(Math.random() * 15);
  const third = Math.floor(Math.random() * 250);
  const hostAddr = `10.${subnet}.${third}.1`;
  const guestAddr = `10.${subnet}.${third}.2`;
  const destroy = () => deleteNamespace(ns);
  track(ns);
  try {
    await ip(['netns', 'add', ns]);
    await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    // More than one queue: a multi-queue tap, one file descriptor per queue pair (QEMU queues=N).
    await ip(['-n', ns, 'tuntap', 'add', 'dev', tap, 'mode', 'tap', ...(queues > 1 ? ['multi_queue'] : [])]);
    await ip(['-n', ns, 'addr', 'add', `${hostAddr}/30`, 'dev', tap]);
    await ip(['-n', ns, 'link', 'set', tap, 'up']);
  } catch (e) {
    await destroy();
    throw e;
  }
  return { ns, tap, hostAddr, guestAddr, destroy };
}

/** The name prefixes of the namespaces isoprobe makes (pairs, peers, VMs). */
export const NAMESPACE_PREFIXES = ['isoprobe-a', 'isoprobe-b', 'isoprobe-p', 'isoprobe-vm'] as const;

/** isoprobe's namespaces on this machine whose maker is gone. */
export async function orphanNamespaces(): Promise<string[]> {
  const all = (await ip(['netns', 'list']).catch(() => '')).split('\n').map((l) => l.split(' ')[0]!).filter(Boolean);
  return all.filter((n) => orphaned(n, NAMESPACE_PREFIXES));
}

/**
 * Removes a namespace whose maker is gone, with every process still inside it (a VMM that
 * outlived isoprobe runs there): killed first, or deleting the name would leave them running.
 * Returns the pids it killed.
 */
export async function removeOrphanNamespace(ns: string): Promise<number[]> {
  const pids = (await ip(['netns', 'pids', ns]).catch(() => '')).split('\n').map(Number).filter((p) => p > 0);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  await ip(['netns', 'delete', ns]).catch(() => undefined);
  return pids;
}
