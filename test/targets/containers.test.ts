// The identical probe in runc, gVisor, containerd, Docker and Podman on this machine: block I/O with
// cache honesty checked against fincore, TCP RR across a veth pair, and nothing left behind.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

import type { IsoprobeError } from '../../lib/errors';
import { copyFileSync, appendFileSync } from 'node:fs';
import { compare } from '../../lib/compare/compare';
import { probeBinaryPath } from '../../lib/paths';
import { makeTarget, type TargetName } from '../../lib/targets';
import { releaseDaemons } from '../../lib/targets/daemons';
import { findLeftovers } from '../../lib/targets/leftovers';
import type { BlockResult, NetResult } from '../../lib/probe/types';
import { fincoreBytes, isRoot, onCalmPageCache, sha256sum, targetSkips, tempDir, testIf, why } from '../helpers';

const tmp = tempDir();
test.after.always(async () => {
  await releaseDaemons();
  tmp.cleanup();
});

const SHORT = { duration: '300ms', warmup: '50ms' };

// The container targets must work on this machine; where one does not, its own availability check
// says why and the test is a skip with that reason. crun and Kata are checked separately below.
const CONTAINERS: TargetName[] = ['runc', 'runsc', 'containerd', 'docker', 'podman'];
const reasons = targetSkips(CONTAINERS);
// What the probe reads in /proc/self/status, and what each stack records as the profile. gVisor:
// the bundle's profile is loaded (--oci-seccomp) but not applied to `runsc exec` processes.
const SECCOMP_SEEN: Record<string, 'filter' | 'disabled'> = { runc: 'filter', runsc: 'disabled', containerd: 'filter', docker: 'filter', podman: 'filter' };
const SECCOMP_STACK: Record<string, RegExp> = {
  runc: /^the system's containers default profile \/usr\/share\/containers\/seccomp\.json .*sha256 [0-9a-f]{12}$/,
  runsc: /^the system's containers default profile .*, loaded with --oci-seccomp; not applied to processes started with runsc exec/,
  containerd: /^containerd's default profile \(ctr --seccomp\)$/,
  docker: /^Docker's built-in default profile$/,
  podman: /^Podman's default profile/,
};

for (const name of CONTAINERS) {
  const skip = reasons.get(name);
  testIf(skip, test.serial)(`${name}: block O_DIRECT and TCP RR with the host's probe; cache honesty matches fincore${why(skip)}`, (t) => onCalmPageCache(t, async (t) => {
    const dataFile = join(tmp.dir, `${name}.dat`);
    const s = await makeTarget(name).start({ dataFile, dataSize: 8 << 20, network: true });
    try {
      const b = (await s.run({ kind: 'block', options: { direct: true, size: '8M', ...SHORT } })) as BlockResult & { host_page_cache: { mode: string; resident_bytes_after: number } };
      t.true(b.ops > 0);
      // Computed by the probe of itself inside the container; the reference is sha256sum on the host.
      t.is(b.probe.sha256, sha256sum(probeBinaryPath()), 'the identical probe binary measured');
      t.is(b.probe.sha256_of, '/proc/self/exe');
      const resident = fincoreBytes(dataFile);
      t.is(b.host_page_cache.resident_bytes_after, resident, 'isoprobe counts what fincore counts');
      t.is(b.host_page_cache.mode, resident > 0 ? 'used' : 'bypassed');
      if (name === 'runsc') {
        t.true(b.env.gvisor, 'the probe sees gVisor');
        t.is(b.host_page_cache.mode, 'used', 'gVisor serves O_DIRECT through the host page cache');
      } else {
        t.is(b.host_page_cache.mode, 'bypassed', `${name}: O_DIRECT bypasses the host page cache`);
      }
      const r = (await s.run({ kind: 'rr', options: SHORT, placement: 'client-inside' })) as NetResult;
      t.true(r.transactions > 50);
      t.is(r.errors.mismatches, 0);
      t.is(r.probe.sha256, sha256sum(probeBinaryPath()));
      t.is(r.env.uid, 65534, 'network workloads run as nobody inside the container');
      t.is(b.env.uid, 0, 'block workloads run as uid 0 (without capabilities)');
      t.is(b.env.cap_eff, '0000000000000000', 'the probe holds no capabilities (its own /proc/self/status)');
      t.is(r.env.cap_eff, '0000000000000000');
      t.is(b.env.seccomp, SECCOMP_SEEN[name], 'the seccomp mode the probe reads for itself');
      t.regex(s.stack.seccomp ?? '', SECCOMP_STACK[name]!);
      t.regex(r.peer, /^10\.\d+\.\d+\.2:\d+$/, 'the server is in isoprobe\'s peer namespace');
      const back = (await s.run({ kind: 'rr', options: SHORT, placement: 'server-inside' })) as NetResult;
      t.true(back.transactions > 50);
      t.regex(back.peer, /:7000$/);
    } finally {
      await s.stop();
    }
    const left = await findLeftovers(process.pid);
    t.deepEqual(left, { containers: [], net: [], loops: [], tempDirs: [], cgroups: [] }, 'nothing left behind');
  }));
}

const runcSkip = reasons.get('runc');
testIf(runcSkip, test.serial)('runc: the default seccomp profile blocks io_uring and says so; unconfined lets it run and is recorded' + why(runcSkip), async (t) => {
  const dataFile = join(tmp.dir, 'seccomp.dat');
  const uring = { kind: 'block' as const, options: { engine: 'io_uring' as const, size: '4M', ...SHORT } };
  const s = await makeTarget('runc').start({ dataFile, dataSize: 4 << 20, network: false });
  try {
    const e = await t.throwsAsync(s.run(uring));
    t.is((e as IsoprobeError).code, 'ENOSYS');
    t.regex((e as Error).message, /^io_uring is blocked by this process's seccomp filter \(Seccomp: 2 in \/proc\/self\/status\): the container's seccomp profile forbids it/);
  } finally {
    await s.stop();
  }
  const u = await makeTarget('runc').start({ dataFile, dataSize: 4 << 20, network: false, seccomp: 'unconfined' });
  try {
    const r = (await u.run(uring)) as BlockResult;
    t.true(r.ops > 0);
    t.is(r.env.seccomp, 'disabled');
    t.regex(u.stack.seccomp!, /^unconfined/);
  } finally {
    await u.stop();
  }
});

// --storage device: a loop device with direct I/O on the data file, passed into the container as
// a block device (runc: the bundle's devices and cgroup rule; Docker/Podman --device; ctr --device).
for (const name of ['runc', 'docker', 'podman', 'containerd'] as TargetName[]) {
  const skip = reasons.get(name);
  testIf(skip, test.serial)(`${name} with a loop device (direct I/O) passed in as the data device${why(skip)}`, async (t) => {
    const dataFile = join(tmp.dir, `dev-${name}.dat`);
    const s = await makeTarget(name).start({ dataFile, dataSize: 8 << 20, storage: 'device', network: false });
    try {
      t.regex(s.stack.storage, /^block device: loop device \/dev\/loop\d+ with direct I\/O on /);
      const b = (await s.run({ kind: 'block', options: { direct: true, size: '8M', pattern: 'randrw', verify: true, ...SHORT } })) as BlockResult & { host_page_cache: { mode: string } };
      t.is(b.file.type, 'block');
      t.true(b.ops > 0);
      t.is(b.verify.mismatches, 0);
      t.is(b.host_page_cache.mode, 'bypassed');
      t.is(b.env.cap_eff, '0000000000000000', 'the device is written without capabilities');
    } finally {
      await s.stop();
    }
    t.deepEqual((await findLeftovers(process.pid)).loops, []);
  });
}

test.serial('isoprobe targets: every unavailable target says exactly why', async (t) => {
  const crun = await makeTarget('crun').available();
  if (!crun.ok) t.regex(crun.reason!, /^crun (is not installed|cannot start a container here: .+)/);
  const kata = await makeTarget('kata').available();
  if (!kata.ok) t.regex(kata.reason!, /^ctr is not installed \(Debian package containerd\)$|containerd-shim-kata-v2 is not installed|\/dev\/kvm/);
  else t.truthy(kata.version);
  t.true((await makeTarget('host').available()).ok);
});

// The probe killed with SIGKILL mid-run, in each container kind whose processes the host can see
// (gVisor runs its applications inside its sandbox, where a host pkill does not reach them).
for (const name of ['runc', 'docker', 'containerd', 'podman'] as TargetName[]) {
  const skip = reasons.get(name);
  testIf(skip, test.serial)(`${name}: a probe killed mid-run is a clear error, and nothing is left behind${why(skip)}`, async (t) => {
    const s = await makeTarget(name).start({ network: true });
    const marker = String(900_000_000 + (process.pid % 1000) * 10 + CONTAINERS.indexOf(name));
    try {
      const killer = setInterval(() => {
        try {
          execFileSync('pkill', ['-KILL', '-f', `seed=${marker}`]);
        } catch {
          /* not running yet */
        }
      }, 300);
      const e = await t.throwsAsync(s.run({ kind: 'rr', options: { duration: '20s', warmup: '0ns', seed: marker } }));
      clearInterval(killer);
      t.regex((e as Error).message, new RegExp(`the probe in ${name}-?\\w* (was killed by SIGKILL|exited with code \\d+) without a result`));
    } finally {
      await s.stop();
    }
    t.deepEqual(await findLeftovers(process.pid), { containers: [], net: [], loops: [], tempDirs: [], cgroups: [] });
  });
}

testIf(isRoot ? undefined : 'needs root', test.serial)('a container runtime that hangs is killed after its time limit, with a clear error' + why(isRoot ? undefined : 'needs root'), async (t) => {
  // A "runc" that answers --version but hangs on everything else, first on PATH.
  const bin = join(tmp.dir, 'hung-bin');
  const { mkdirSync, writeFileSync: write } = await import('node:fs');
  mkdirSync(bin);
  write(join(bin, 'runc'), '#!/bin/sh\n[ "$1" = "--version" ] && { echo "runc version hung-for-test"; exit 0; }\nexec sleep 600\n', { mode: 0o755 });
  const path = process.env.PATH;
  process.env.PATH = `${bin}:${path}`;
  process.env.ISOPROBE_RUNTIME_TIMEOUT = '2';
  const started = Date.now();
  try {
    const e = await t.throwsAsync(makeTarget('runc').start({ network: true }));
    t.regex((e as Error).message, /^starting the runc container: runc did not finish within 2 s and was killed \(a hung runtime\?\)/);
  } finally {
    process.env.PATH = path;
    delete process.env.ISOPROBE_RUNTIME_TIMEOUT;
  }
  t.true(Date.now() - started < 30_000);
  t.deepEqual(await findLeftovers(process.pid), { containers: [], net: [], loops: [], tempDirs: [], cgroups: [] });
});

{
  const skip = reasons.get('runsc');
  testIf(skip, test.serial)('runsc: a probe killed mid-run inside the gVisor sandbox is a clear error, nothing left behind' + why(skip), async (t) => {
    const s = await makeTarget('runsc').start({ network: true });
    // The sandbox's processes are not host processes: runsc lists and kills them (from the
    // namespace the sandbox was started in, where its control socket lives).
    const cmd = s.stack.command!;
    const ns = cmd.slice(0, 2);
    const id = cmd[cmd.length - 1]!;
    const runsc = (...args: string[]) => execFileSync(ns[0]!, [...ns.slice(1), 'runsc', '--root', '/run/isoprobe/runsc', ...args], { encoding: 'utf8' });
    let killed = 0;
    const killer = setInterval(() => {
      try {
        for (const pid of JSON.parse(runsc('ps', '--format', 'json', id)) as number[]) {
          if (pid === 1) continue;  // the session's own echo server
          runsc('kill', '--pid', String(pid), id, 'KILL');
          killed++;
        }
      } catch {
        /* between states */
      }
    }, 500);
    try {
      const e = await t.throwsAsync(s.run({ kind: 'rr', options: { duration: '20s', warmup: '0ns' } }));
      t.regex((e as Error).message, /the probe in runsc (was killed by SIGKILL|exited with code \d+) without a result/);
      t.true(killed > 0);
    } finally {
      clearInterval(killer);
      await s.stop();
    }
    t.deepEqual(await findLeftovers(process.pid), { containers: [], net: [], loops: [], tempDirs: [], cgroups: [] });
  });
}

testIf(runcSkip, test.serial)('a target given a different probe binary: its own hash shows it, and compare refuses naming both hashes' + why(runcSkip), async (t) => {
  // A copy with one byte appended still runs, and is another binary.
  const other = join(tmp.dir, 'isoprobe-probe-other');
  copyFileSync(probeBinaryPath(), other);
  appendFileSync(other, Buffer.from([0]));
  require('node:fs').chmodSync(other, 0o755);
  const ours = sha256sum(probeBinaryPath());
  const theirs = sha256sum(other);
  t.not(ours, theirs);
  const suite = { name: 'one', workloads: [{ name: 'rd', workload: { kind: 'block' as const, options: { size: '4M', direct: true, ...SHORT } } }] };
  const e = await t.throwsAsync(compare({ targets: ['host', 'runc'], suite, reps: 1, spec: { dataFile: join(tmp.dir, 'probe.dat'), dataSize: 4 << 20 }, specs: { runc: { probe: other } } }));
  t.is((e as IsoprobeError).code, 'EPROBE');
  t.regex((e as Error).message, new RegExp(`host ran sha256 ${ours}`));
  t.regex((e as Error).message, new RegExp(`runc ran sha256 ${theirs}`));
  t.regex((e as Error).message, /refusing to compare them \(--force to do it anyway\)$/);
  const forced = await compare({ targets: ['host', 'runc'], suite, reps: 1, force: true, spec: { dataFile: join(tmp.dir, 'probe.dat'), dataSize: 4 << 20 }, specs: { runc: { probe: other } } });
  t.is(forced.cells.find((c) => c.target === 'runc')!.results[0]!.probe.sha256, theirs, 'measured inside runc, by the other binary');
});
