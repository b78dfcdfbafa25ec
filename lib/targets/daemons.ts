// containerd and dockerd: used when running, started when not (and stopped again by whoever
// started them). Docker is started the way this machine allows: no iptables, no bridge.
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

import { IsoprobeError } from '../errors';
import { exec, which } from './exec';

const started: { name: string; pid: number }[] = [];

async function until(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

async function containerdUp(): Promise<boolean> {
  const r = await exec(['ctr', 'version'], { timeoutMs: 5000 }).catch(() => undefined);
  return r?.code === 0 && /Server:/.test(r.stdout);
}

async function dockerdUp(): Promise<boolean> {
  const r = await exec(['docker', 'version', '--format', '{{.Server.Version}}'], { timeoutMs: 5000 }).catch(() => undefined);
  return r?.code === 0 && r.stdout.trim() !== '';
}

function logFile(name: string): number {
  const dir = join(tmpdir(), 'isoprobe-daemons');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return openSync(join(dir, `${name}.log`), 'a', 0o600);
}

function launch(name: string, argv: string[]): void {
  const fd = logFile(name);
  const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', fd, fd] });
  child.unref();
  started.push({ name, pid: child.pid! });
}

/** Ensures containerd answers; starts it when it is installed but not running. */
export async function ensureContainerd(): Promise<void> {
  if (await containerdUp()) return;
  if (!(await which('containerd'))) throw new IsoprobeError('EUNAVAILABLE', 'containerd is not installed (Debian package containerd)');
  launch('containerd', ['containerd']);
  if (!(await until(containerdUp, 20_000))) throw new IsoprobeError('EUNAVAILABLE', 'containerd did not answer within 20 s of starting it');
}

/** Ensures a Docker engine answers; starts dockerd (with gVisor as runtime "runsc") when needed. */
export async function ensureDockerd(): Promise<void> {
  if (await dockerdUp()) return;
  if (!(await which('dockerd'))) throw new IsoprobeError('EUNAVAILABLE', 'dockerd is not installed (Debian package docker.io)');
  await ensureContainerd();
  const dir = join(tmpdir(), 'isoprobe-daemons');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const config = join(dir, 'daemon.json');
  const runsc = await which('runsc');
  // gVisor joins Docker as a runtime; ptrace works without KVM, hostinet works with this runsc.
  writeFileSync(config, JSON.stringify(runsc ? { runtimes: { runsc: { path: runsc, runtimeArgs: ['--platform=ptrace', '--network=host'] } } } : {}), { mode: 0o600 });
  launch('dockerd', ['dockerd', '--iptables=false', '--ip6tables=false', '--bridge=none', '--containerd=/run/containerd/containerd.sock', `--config-file=${config}`]);
  if (!(await until(dockerdUp, 30_000))) throw new IsoprobeError('EUNAVAILABLE', 'dockerd did not answer within 30 s of starting it');
}

/** Stops the daemons this process started (dockerd before containerd), waiting for each to exit. */
export async function stopStartedDaemons(): Promise<void> {
  for (const d of started.reverse()) {
    try {
      process.kill(d.pid, 'SIGTERM');
    } catch {
      continue;
    }
    await until(async () => {
      try {
        process.kill(d.pid, 0);
        return false;
      } catch {
        return true;
      }
    }, 20_000);
  }
  started.length = 0;
}
