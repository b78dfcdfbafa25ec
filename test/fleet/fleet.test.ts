// isoprobe fleet run for real: three nodes, each a network namespace with its own OpenSSH sshd
// (testbed.ts), driven by ansible-playbook from a controller namespace of the test's own. The
// nodes share this machine's disk and kernel: each gets its own remote folder, the first node
// builds the package into the shared --node-cache while the others wait for it, and isoprobe's
// machine lock serializes their measurements. Checked: every node's run is imported under its
// name with the host identity it measured; the report by node, in a browser; the gate between a
// group and a node; a node whose sshd is stopped fails with Ansible's reason while the others
// land; Ctrl-C mid-run leaves no remote work folder, no remote process, no namespace, no sshd.
import test from 'ava';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { hostname, release } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { packageRoot } from '../../lib/paths';
import { Store } from '../../lib/store/db';
import { findLeftovers } from '../../lib/targets/leftovers';
import { chromiumSkip, targetSkips, tempDir, withChromium } from '../helpers';
import { fleetSkip, Testbed } from './testbed';

// The nodes are namespaces of this machine and measure --targets host,runc on it: each target must
// be available here by its own check (runc installed, a cgroup it can use), or the tests skip
// saying which is not.
const TARGETS = ['host', 'runc'];
function targetsSkip(): string | undefined {
  const missing = [...targetSkips(TARGETS)].filter(([, why]) => why).map(([name, why]) => `target ${name} is not available here: ${why}`);
  return missing.length ? missing.join('; ') : undefined;
}
const skip = fleetSkip() ?? targetsSkip();
const tmp = tempDir('ipf-test-');
let bed: Testbed | undefined;
const CLI = join(packageRoot(), 'bin', 'isoprobe.js');

test.before(async () => {
  if (skip) return;
  bed = new Testbed(tmp.dir, { edge: ['node1', 'node2'], core: ['node3'] });
  await bed.up();
  const suite = (d: string) => `name: fleet-test\nduration: ${d}\nwarmup: 50ms\nworkloads:\n  - name: randread-4k\n    kind: block\n    options: { pattern: randread, bs: 4k, size: 8M, direct: true }\n  - name: tcp-rr-64\n    kind: rr\n    options: { size: 64 }\n`;
  writeFileSync(join(tmp.dir, 'suite.yaml'), suite('200ms'));
  writeFileSync(join(tmp.dir, 'long.yaml'), suite('3s'));
});

test.after.always(async () => {
  if (bed) await bed.down();
  tmp.cleanup();
});

const db = join(tmp.dir, 'fleet.db');

/** The fleet command line, run in the controller namespace. */
function fleetArgv(extra: string[]): string[] {
  const env = [`ISOPROBE_DATA_FILE=${join(tmp.dir, 'data.dat')}`, ...(process.env.ISOPROBE_CACHE ? [`ISOPROBE_CACHE=${process.env.ISOPROBE_CACHE}`] : [])].join(',');
  return bed!.inController([process.execPath, CLI, 'fleet', 'run', '--inventory', bed!.inventory, '--targets', TARGETS.join(','), '--node-cache', join(tmp.dir, 'nodecache'),
    '--npm-offline', '--node-env', env, '--db', db, ...extra]);
}

function run(argv: string[], timeoutMs = 600_000) {
  return spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: timeoutMs });
}

const remoteFolders = (fleet: string) => readdirSync('/tmp').filter((d) => d.startsWith(`isoprobe-node-${fleet}-`));
const fleetOf = (stderr: string) => /^fleet run (\S+): \d+ nodes/m.exec(stderr)?.[1] ?? 'none';
const remoteProcesses = () => spawnSync('pgrep', ['-f', '/tmp/isoprobe-node-'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number);

function fleetRunsIn(path: string): { id: number; machine: Record<string, unknown> }[] {
  const s = new Store(path);
  try {
    return s.runs(1000).map((r) => ({ id: r.id, machine: JSON.parse(r.machine) as Record<string, unknown>, results: s.results(r.id).length }));
  } finally {
    s.close();
  }
}

const serial = skip ? test.serial.skip : test.serial;
const why = skip ? ` [skipped: ${skip}]` : '';

serial('three nodes: each run lands under its inventory name with the identity the node measured; report and gate by node' + why, async (t) => {
  t.timeout(900_000);
  const r = run(fleetArgv(['--suite', join(tmp.dir, 'suite.yaml'), '--reps', '3', '--html', join(tmp.dir, 'fleet.html')]));
  t.log(r.stderr.split('\n').filter((l) => /install isoprobe|run the comparison/.test(l)).join('\n'));
  t.is(r.status, 0, `${r.stdout}\n${r.stderr}`);
  const fleet = /^fleet run (\S+):$/m.exec(r.stdout)?.[1];
  t.truthy(fleet, r.stdout);
  for (const n of ['node1', 'node2', 'node3']) t.regex(r.stdout, new RegExp(`^  ${n}: imported as run \\d+$`, 'm'));
  const runs = fleetRunsIn(db).filter((x) => x.machine.fleet === fleet);
  t.deepEqual(runs.map((x) => x.machine.node).sort(), ['node1', 'node2', 'node3']);
  for (const x of runs) {
    // The identity the node measured of itself: here this machine, seen through each sshd.
    t.is(x.machine.hostname, hostname());
    t.is(x.machine.kernel, release());
    t.deepEqual(x.machine.node_groups, x.machine.node === 'node3' ? ['core'] : ['edge']);
    t.is((x as unknown as { results: number }).results, 2 * 2 * 3, 'two workloads x two targets x three repetitions');
  }
  t.is(fleetOf(r.stderr), fleet ?? '');
  t.deepEqual(remoteFolders(fleet ?? 'none'), [], 'every node removed its work folder');
  // The report by node from the store, as a user asks for it.
  const rep = run([process.execPath, CLI, 'report', '--fleet', 'last', '--db', db, '--baseline-node', 'node2', '-o', join(tmp.dir, 'report.html')]);
  t.is(rep.status, 0, rep.stderr);
  t.regex(rep.stdout, /randread-4k \(block\): median over repetitions, ratio to node2 on the same target/);
  t.regex(rep.stdout, /^ {2}node2 \* +[\d,]+ IOPS p50 [\d.]+ µs \(baseline\)/m);
  t.regex(rep.stdout, /^ {2}node3 +[\d,]+ IOPS p50 [\d.]+ µs [\d.]+x \[[\d.]+, [\d.]+\]/m);
  const bad = run([process.execPath, CLI, 'report', '--fleet', 'last', '--db', db, '--baseline-node', 'node9']);
  t.is(bad.status, 2);
  t.regex(bad.stderr, /--baseline-node node9: not a node of this fleet run; expected one of node1, node2, node3/);
  // The gate between the edge group (two nodes' repetitions pooled) and node3.
  const ab = run([process.execPath, CLI, 'ab', '--baseline-node', 'group:edge', '--candidate-node', 'node3', '--alpha', '0.1', '--metric', 'iops,tps', '--db', db, '--json']);
  t.true(ab.status === 0 || ab.status === 1 || ab.status === 125, ab.stderr);
  const g = JSON.parse(ab.stdout) as { baseline: string; candidate: string; verdict: string; cells: { baseline: number[]; candidate: number[]; verdict: string }[] };
  // Six repetitions against three decide little: whatever the verdict, the exit code says the cells' word.
  t.is(g.verdict, ab.status === 1 ? 'regression' : ab.status === 125 ? 'inconclusive' : 'no regression');
  t.is(ab.status === 125, g.cells.some((c) => c.verdict === 'inconclusive') && !g.cells.some((c) => c.verdict === 'regression'));
  t.regex(g.baseline, /^group:edge \(fleet /);
  t.is(g.cells.length, 4, 'two workloads x two targets, one metric each');
  for (const c of g.cells) t.deepEqual([c.baseline.length, c.candidate.length], [6, 3], 'two nodes pooled against one');
  if (chromiumSkip) return t.log(`the report is not looked at in a browser: ${chromiumSkip}`);
  await withChromium(async (b) => {
    const page = await b.newPage();
    await page.goto(`file://${join(tmp.dir, 'report.html')}`);
    const tables = await page.$$eval('table.by-node', (ts) => ts.map((x) => ({ w: x.getAttribute('data-workload'), nodes: [...x.querySelectorAll('tr[data-node]')].map((r) => r.getAttribute('data-node')) })));
    t.deepEqual(tables, [{ w: 'randread-4k', nodes: ['node2', 'node1', 'node3'] }, { w: 'tcp-rr-64', nodes: ['node2', 'node1', 'node3'] }]);
    t.is(await page.$$eval('table.nodes tr', (rs) => rs.length), 4, 'a header and a row per node');
  });
});

serial('a node whose sshd is stopped fails alone, with Ansible\'s reason; the other two land' + why, async (t) => {
  t.timeout(900_000);
  await bed!.stopSshd(bed!.node('node3'));
  try {
    const r = run(fleetArgv(['--suite', join(tmp.dir, 'suite.yaml'), '--reps', '1']));
    t.is(r.status, 1, `${r.stdout}\n${r.stderr}`);
    t.regex(r.stdout, /^ {2}node3: UNREACHABLE at "Gathering Facts": Failed to connect to the host via ssh: ssh: connect to host 10\.251\.3\.2 port 22: Connection refused/m);
    t.regex(r.stdout, /^ {2}node1: imported as run \d+$/m);
    t.regex(r.stdout, /^ {2}node2: imported as run \d+$/m);
    const fleet = /^fleet run (\S+):$/m.exec(r.stdout)![1];
    t.deepEqual(fleetRunsIn(db).filter((x) => x.machine.fleet === fleet).map((x) => x.machine.node).sort(), ['node1', 'node2']);
    t.deepEqual(remoteFolders(fleet!), []);
  } finally {
    await bed!.startSshd(bed!.node('node3'));
  }
});

serial('Ctrl-C mid-run stops the play and cleans every node it reached: no work folder, no process, nothing of isoprobe\'s left, nothing imported' + why, async (t) => {
  t.timeout(900_000);
  const before = fleetRunsIn(db).length;
  const argv = fleetArgv(['--suite', join(tmp.dir, 'long.yaml'), '--reps', '3']);
  const child: ChildProcess = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((res) => child.once('exit', (c) => res(c)));
  // Interrupted once a node's comparison is measuring (its isoprobe is running remotely).
  let remote: number[] = [];
  for (let i = 0; i < 3000 && !remote.length; i++) {
    await sleep(100);
    remote = remoteProcesses().filter((p) => spawnSync('cat', [`/proc/${p}/cmdline`], { encoding: 'utf8' }).stdout.includes('compare'));
  }
  t.true(remote.length > 0, `a remote comparison started: ${stderr}`);
  await sleep(1500);
  child.kill('SIGINT');
  const code = await exited;
  t.is(code, 130, stderr);
  t.regex(stderr, /interrupted: cleaning up on (node\d(, )?)+/);
  t.regex(stderr, /the fleet run was interrupted: cleaned up on /);
  const fleet = fleetOf(stderr);
  t.not(fleet, 'none', stderr);
  t.deepEqual(remoteFolders(fleet), [], 'no remote work folder');
  t.deepEqual(remoteProcesses(), [], 'no remote process of the run');
  for (const p of remote) {
    const l = await findLeftovers(p);
    t.deepEqual([...l.containers, ...l.net, ...l.loops, ...l.tempDirs, ...l.cgroups], [], `what the remote isoprobe ${p} made is gone`);
  }
  t.is(fleetRunsIn(db).length, before, 'nothing imported');
  t.deepEqual(readdirSync('/tmp').filter((d) => d.startsWith(`isoprobe-fleet-${child.pid!.toString(36)}-`)), [], "the controller's own folder is gone");
  const left = await bed!.down();
  bed = undefined;
  t.deepEqual(left, [], 'the namespaces are gone');
  t.deepEqual(spawnSync('pgrep', ['-f', `sshd -D -e -f ${tmp.dir}`], { encoding: 'utf8' }).stdout.trim(), '', 'no sshd of the test is left');
});
