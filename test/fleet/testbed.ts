// A fleet on this machine, for the fleet tests: N nodes, each a network namespace the test makes
// with its own OpenSSH sshd on its own address, and a controller namespace joined to each node by
// a veth pair, where the test runs `isoprobe fleet run` (and so Ansible): no address is added to
// the machine's own namespace, and no traffic leaves these namespaces. The key pair, the nodes'
// host keys and the known_hosts file are the test's own; host-key checking stays on.
// The nodes share this machine's disk and kernel: each gets its own remote folder, and isoprobe's
// machine lock serializes their measurements.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const SSHD = '/usr/sbin/sshd';

/** Why the fleet tests cannot run here, or undefined. */
export function fleetSkip(): string | undefined {
  if (process.getuid?.() !== 0) return 'the fleet tests make network namespaces: they need root';
  if (spawnSync('ansible-playbook', ['--version']).status !== 0) return 'ansible-playbook is not installed (Debian package ansible; scripts/setup.sh fleet installs it)';
  if (!existsSync(SSHD)) return `${SSHD} is not installed (Debian package openssh-server; scripts/setup.sh fleet installs it)`;
  return undefined;
}

/** The namespaces of testbeds whose test process is gone (killed before its teardown), with their processes. */
export function sweepDeadTestbeds(): void {
  const names = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').map((l) => l.split(' ')[0]!).filter((n) => /^ipf-(ctl|\d+)-[0-9a-z]+$/.test(n));
  for (const ns of names) {
    const pid = parseInt(ns.split('-').pop()!, 36);
    try {
      process.kill(pid, 0);
      continue;  // its test still runs
    } catch {
      /* dead: swept */
    }
    for (const p of spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean)) {
      try {
        process.kill(Number(p), 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    spawnSync('ip', ['netns', 'del', ns]);
  }
}

export interface Node {
  name: string;
  ns: string;
  addr: string;
  sshd?: ChildProcess;
  dir: string;
}

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });

export class Testbed {
  readonly ctl: string;
  readonly nodes: Node[] = [];
  readonly inventory: string;
  /** This process's pid, base 36: what a killed test left is known by it and swept by the next. */
  private readonly tag = process.pid.toString(36);

  constructor(readonly dir: string, groups: Record<string, string[]>) {
    this.ctl = `ipf-ctl-${this.tag}`;
    const names = Object.values(groups).flat();
    names.forEach((name, i) => this.nodes.push({ name, ns: `ipf-${i + 1}-${this.tag}`, addr: `10.251.${i + 1}.2`, dir: join(dir, name) }));
    this.inventory = join(dir, 'nodes.ini');
    const lines: string[] = [];
    for (const [g, hs] of Object.entries(groups)) lines.push(`[${g}]`, ...hs.map((h) => `${h} ansible_host=${this.node(h).addr}`), '');
    lines.push('[all:vars]', 'ansible_user=root', `ansible_ssh_private_key_file=${join(dir, 'id_ed25519')}`,
      `ansible_ssh_common_args=-o UserKnownHostsFile=${join(dir, 'known_hosts')} -o GlobalKnownHostsFile=/dev/null -o IdentitiesOnly=yes -o ConnectTimeout=10`,
      'ansible_python_interpreter=/usr/bin/python3', '');
    writeFileSync(this.inventory, lines.join('\n'));
  }

  node(name: string): Node {
    return this.nodes.find((n) => n.name === name)!;
  }

  /** The namespaces, links, keys and one sshd per node; undone by down(), also half made. */
  async up(): Promise<void> {
    sweepDeadTestbeds();
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'isoprobe-fleet-test', '-f', join(this.dir, 'id_ed25519')]);
    writeFileSync(join(this.dir, 'authorized_keys'), readFileSync(join(this.dir, 'id_ed25519.pub')));
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    ip('netns', 'add', this.ctl);
    ip('-n', this.ctl, 'link', 'set', 'lo', 'up');
    const known: string[] = [];
    for (const [i, n] of this.nodes.entries()) {
      mkdirSync(n.dir, { recursive: true });
      ip('netns', 'add', n.ns);
      ip('-n', n.ns, 'link', 'set', 'lo', 'up');
      const [c, d] = [`ipfc${i + 1}-${this.tag}`, `ipfn${i + 1}-${this.tag}`];
      ip('link', 'add', c, 'netns', this.ctl, 'type', 'veth', 'peer', 'name', d, 'netns', n.ns);
      ip('-n', this.ctl, 'addr', 'add', `10.251.${i + 1}.1/30`, 'dev', c);
      ip('-n', n.ns, 'addr', 'add', `${n.addr}/30`, 'dev', d);
      ip('-n', this.ctl, 'link', 'set', c, 'up');
      ip('-n', n.ns, 'link', 'set', d, 'up');
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(n.dir, 'host_ed25519')]);
      known.push(`${n.addr} ${readFileSync(join(n.dir, 'host_ed25519.pub'), 'utf8').split(' ').slice(0, 2).join(' ')}`);
      writeFileSync(join(n.dir, 'sshd_config'), [`Port 22`, `ListenAddress ${n.addr}`, `HostKey ${join(n.dir, 'host_ed25519')}`, `PidFile ${join(n.dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${join(this.dir, 'authorized_keys')}`, 'PermitRootLogin prohibit-password', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no',
        'UsePAM no', 'StrictModes no', 'Subsystem sftp /usr/lib/openssh/sftp-server', 'LogLevel ERROR', ''].join('\n'));
      await this.startSshd(n);
    }
    writeFileSync(join(this.dir, 'known_hosts'), known.join('\n') + '\n');
  }

  async startSshd(n: Node): Promise<void> {
    // nsenter --net, not ip netns exec: that one also remounts /sys, and runc on the node would
    // find no cgroup mount.
    n.sshd = spawn('nsenter', [`--net=/var/run/netns/${n.ns}`, SSHD, '-D', '-e', '-f', join(n.dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    n.sshd.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    for (let i = 0; i < 100; i++) {
      if (spawnSync('ip', ['netns', 'exec', n.ns, 'ss', '-Hltn', `sport = :22`], { encoding: 'utf8' }).stdout.includes(n.addr)) return;
      if (n.sshd.exitCode !== null) throw new Error(`sshd of ${n.name} exited: ${err}`);
      await sleep(50);
    }
    throw new Error(`sshd of ${n.name} did not listen on ${n.addr}:22: ${err}`);
  }

  /** Stops a node's sshd and its sessions (Ansible's lingering ssh masters with them): the node becomes unreachable. */
  async stopSshd(n: Node): Promise<void> {
    if (!n.sshd || n.sshd.exitCode !== null) return;
    const gone = new Promise((r) => n.sshd!.once('exit', r));
    n.sshd.kill('SIGTERM');
    await gone;
    for (const pid of this.pids(n.ns)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }

  /** The processes in a namespace (ip netns pids). */
  pids(ns: string): number[] {
    const r = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
    return r.status === 0 ? r.stdout.split('\n').filter(Boolean).map(Number) : [];
  }

  /** isoprobe fleet run (or any command) in the controller namespace. */
  inController(argv: string[]): string[] {
    return ['nsenter', `--net=/var/run/netns/${this.ctl}`, ...argv];
  }

  /** Every process in the namespaces killed (sshd, its sessions, Ansible's ssh masters), the namespaces deleted. */
  async down(): Promise<string[]> {
    const left: string[] = [];
    for (const ns of [this.ctl, ...this.nodes.map((n) => n.ns)]) {
      for (const pid of this.pids(ns)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      for (let i = 0; i < 50 && this.pids(ns).length; i++) await sleep(20);
      spawnSync('ip', ['netns', 'del', ns]);
    }
    for (const ns of [this.ctl, ...this.nodes.map((n) => n.ns)]) if (spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').some((l) => l.split(' ')[0] === ns)) left.push(ns);
    return left;
  }
}
