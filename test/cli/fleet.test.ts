// isoprobe fleet run without a fleet: its --help, bad input refused naming the option before any
// node is touched, the inventory's nodes and groups as Ansible itself reads them, the progress
// of a real ansible-playbook run (local connection: one host passes, one fails a step) read from
// its JSON-lines callback, and the by-node tables' ratios against the baseline node.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { byNode, type NodeRun } from '../../lib/compare/by-node';
import { PlayProgress } from '../../lib/fleet/events';
import { inventoryNodes } from '../../lib/fleet/inventory';
import { formatNodeTables } from '../../lib/report/node-text';
import type { TargetResult } from '../../lib/targets/types';
import { runCli, tempDir } from '../helpers';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());
const ansible = spawnSync('ansible-playbook', ['--version']).status === 0;
const withAnsible = ansible ? test : test.skip;
const why = ansible ? '' : ' [skipped: ansible-playbook is not installed (Debian package ansible; scripts/setup.sh fleet installs it)]';

const inv = join(tmp.dir, 'nodes.yaml');
// Every node is loopback port 1 (nothing listens): should a refusal below ever fail to stop the
// run, Ansible's connection goes nowhere but this machine's loopback and is refused at once.
writeFileSync(inv, ['all:', '  vars: { ansible_host: 127.0.0.1, ansible_port: 1 }', '  children:', '    arm:', '      children:', '        pi: { hosts: { pi1: {}, pi2: {} } }', '    x86:', '      hosts: { nuc1: {} }', ''].join('\n'));

test('fleet run --help names its options and the compare options it passes on', (t) => {
  const r = runCli(['fleet', 'run', '--help']);
  t.is(r.code, 0);
  for (const o of ['--inventory', '--limit', '--forks', '--package', '--become', '--node-cache', '--npm-offline', '--baseline-node', '--targets', '--suite', '--reps'])
    t.regex(r.stdout, new RegExp(`^  ${o} `, 'm'), o);
});

const refusals: [string[], RegExp][] = [
  [['fleet', 'run'], /--inventory FILE is required/],
  [['fleet', 'walk'], /isoprobe fleet walk: unknown; expected "isoprobe fleet run --inventory FILE"/],
  [['fleet', 'run', '--inventory', '/nonexistent/nodes.ini'], /--inventory \/nonexistent\/nodes.ini: no such file; expected an Ansible inventory/],
  [['fleet', 'run', '--inventory', inv, '--suite', 'quik'], /--suite "quik": expected quick, paper, scaling \(quick\+udp-stream-1472 adds an optional workload\) or a readable suite file/],
  [['fleet', 'run', '--inventory', inv, '--targets', 'hots'], /unknown target "hots"/],
  [['fleet', 'run', '--inventory', inv, '--node-env', 'ISOPROBE_CACHE'], /--node-env "ISOPROBE_CACHE": expected NAME=VALUE/],
  [['fleet', 'run', '--inventory', inv, '--forks', '0'], /--forks/],
  [['fleet', 'run', '--inventory', inv, '--limit', 'arm', '--baseline-node', 'nuc1'], /--baseline-node nuc1: not a node of .*nodes.yaml --limit arm; expected one of pi1, pi2/],
];
for (const [args, message] of refusals) {
  (args.includes(inv) ? withAnsible : test)(`isoprobe ${args.slice(0, 2).join(' ')} ${args.slice(2).filter((a) => a !== inv).join(' ')}: refused, exit 2, no node touched${args.includes(inv) ? why : ''}`, (t) => {
    const db = join(tmp.dir, 'refused.db');
    const r = runCli([...args, '--db', db]);
    t.is(r.code, 2, r.stderr);
    t.regex(r.stderr, message);
    t.false(existsSync(db), 'no store was opened');
  });
}

withAnsible('an inventory\'s nodes with their groups through parents, and --limit as Ansible resolves it' + why, (t) => {
  // In the order Ansible lists them (ansible --list-hosts).
  t.deepEqual(inventoryNodes(inv), [{ name: 'nuc1', groups: ['x86'] }, { name: 'pi1', groups: ['pi', 'arm'] }, { name: 'pi2', groups: ['pi', 'arm'] }]);
  t.deepEqual(inventoryNodes(inv, 'arm:!pi2').map((n) => n.name), ['pi1']);
  const e = t.throws(() => inventoryNodes(inv, 'mips'));
  t.regex(e!.message, /^--limit "mips": selects no node of .*nodes.yaml \(ansible: Could not match supplied host pattern, ignoring: mips/);
  const empty = join(tmp.dir, 'empty.ini');
  writeFileSync(empty, '# no nodes\n');
  t.regex(t.throws(() => inventoryNodes(empty))!.message, /^--inventory .*empty.ini: no nodes in it/);
});

withAnsible('a real play read from its JSON lines: each step per node, the failed step with Ansible\'s message and stderr, the node that passed' + why, (t) => {
  const local = join(tmp.dir, 'local.ini');
  writeFileSync(local, 'good ansible_connection=local ansible_python_interpreter=/usr/bin/python3\nbad ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n');
  const play = join(tmp.dir, 'play.yml');
  writeFileSync(play, ['- hosts: all', '  gather_facts: false', '  tasks:', '    - name: first step', '      command: "true"',
    '    - name: the step that fails', '      shell: "echo disk on fire >&2; exit 3"', '      when: inventory_hostname == "bad"', '    - name: last step', '      command: "true"', ''].join('\n'));
  const r = spawnSync('ansible-playbook', ['-i', local, play], { encoding: 'utf8', env: { ...process.env, ANSIBLE_STDOUT_CALLBACK: 'ansible.posix.jsonl', ANSIBLE_NOCOLOR: '1' } });
  const p = new PlayProgress(['good', 'bad']);
  const lines = r.stdout.split('\n').flatMap((l) => p.onLine(l));
  t.true(lines.some((l) => /^good: first step: ok, \d+\.\d s$/.test(l)), lines.join('\n'));
  t.true(lines.includes('bad: the step that fails: FAILED: exit code 3; disk on fire'), lines.join('\n'));
  t.like(p.nodes.get('good'), { status: 'ok', step: 'last step', reached: true });
  t.like(p.nodes.get('bad'), { status: 'failed', failedStep: 'the step that fails', message: 'exit code 3; disk on fire', reached: true });
  t.false(lines.some((l) => l.startsWith('bad: last step')), 'the failed node stops there');
});

function result(iops: number, p50: number): TargetResult {
  return { kind: 'block', iops, latency_ns: { percentiles: { '50': p50, '99': p50 * 2 } }, target: { emulated: false } } as unknown as TargetResult;
}

test('by node: a row per node, a column per target, each node\'s ratio to the baseline node on the same target', (t) => {
  const node = (name: string, f: number): NodeRun => ({ node: name, groups: [], run: 1, suite: 's', reps: 5, machine: { hostname: name },
    cells: ['host', 'runc'].map((target) => ({ workload: 'rr', target, results: [1, 1.02, 0.98, 1.01, 0.99].map((x) => result(10_000 * f * x * (target === 'runc' ? 0.5 : 1), 50_000 / f)) })) });
  const runs = [node('a', 1), node('b', 2)];
  const [tab] = byNode(runs);
  t.deepEqual(tab!.nodes, ['a', 'b']);
  t.deepEqual(tab!.targets, ['host', 'runc']);
  for (const target of ['host', 'runc']) {
    const ratio = tab!.rows.get('b')!.get(target)!.ratio!;
    t.true(Math.abs(ratio.estimate - 2) < 0.05, `${target}: b is twice a (${ratio.estimate})`);
    t.true(ratio.low <= 2 && ratio.high >= 2 * 0.98);
  }
  t.is(tab!.rows.get('a')!.get('host')!.ratio, undefined, 'the baseline node has no ratio');
  const [other] = byNode(runs, 'b');
  t.deepEqual(other!.nodes, ['b', 'a']);
  t.true(Math.abs(other!.rows.get('a')!.get('runc')!.ratio!.estimate - 0.5) < 0.02);
  const text = formatNodeTables([tab!], runs);
  t.regex(text, /^ {2}a \* +10,000 IOPS p50 50\.0 µs \(baseline\) +5,000 IOPS p50 50\.0 µs \(baseline\)$/m);
  t.regex(text, /^ {2}b +20,000 IOPS p50 25\.0 µs 2\.00x \[\d\.\d\d, \d\.\d\d\]/m);
});
