// The CLI as a user runs it: every command's --help, the echo server as its own process talked to
// by a plain socket client, and the defaults each help line states.
import test from 'ava';
import { spawn } from 'node:child_process';
import { createConnection, createServer } from 'node:net';
import { join } from 'node:path';

import { progressReporter } from '../../lib/cli/progress';
import { isRoot, runCli, tempDir } from '../helpers';

const CLI = join(__dirname, '..', '..', '..', 'bin', 'isoprobe.js');
const tmp = tempDir();
test.after.always(() => tmp.cleanup());

const COMMANDS = ['block', 'net', 'net serve', 'net rr', 'net stream', 'run', 'run block', 'run net rr', 'compare', 'sweep', 'sweep block', 'sweep net rr', 'ab', 'history', 'report', 'export', 'import', 'image build', 'targets'];

test('every command and subcommand answers --help with exit 0 and a usage line', (t) => {
  for (const c of COMMANDS) {
    const r = runCli([...c.split(' '), '--help']);
    t.is(r.code, 0, `isoprobe ${c} --help: ${r.stderr}`);
    t.regex(r.stdout, /^usage: isoprobe /, `isoprobe ${c} --help`);
    t.regex(r.stdout, /--help +show this help/, `isoprobe ${c} --help lists --help`);
  }
});

test('help lines state each real default or none: no "(default required)", no placeholder, no two defaults', (t) => {
  for (const c of COMMANDS) {
    const out = runCli([...c.split(' '), '--help']).stdout;
    t.notRegex(out, /\(default required\)/, `isoprobe ${c}`);
    t.notRegex(out, /\(default \)/, `isoprobe ${c}`);
    for (const line of out.split('\n')) t.true((line.match(/\(default /g) ?? []).length <= 1, `two defaults in "${line}"`);
    t.notRegex(out, / \|none/, `isoprobe ${c}: an empty choice shown`);
  }
  const run = runCli(['run', '--help']).stdout;
  t.regex(run, /--data-file STRING .*\(default \/var\/tmp\/isoprobe-data\.dat/);
  t.regex(run, /--runtime STRING .*\(default the engine's own\)/);
  t.regex(run, /--kernel STRING .*\(default cloud\)/);
  t.regex(run, /--host-cache none\|writeback\|unsafe .*qemu-microvm, qemu-virt: .*default none\); firecracker: .*default unsafe\)/);
  // compare and ab --run take the same session options as run.
  for (const c of ['compare', 'ab']) for (const flag of ['--vcpus', '--kernel', '--runtime', '--storage', '--mem', '--aio']) t.regex(runCli([c, '--help']).stdout, new RegExp(`^  ${flag} `, 'm'), `${c} ${flag}`);
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A plain TCP client, not isoprobe's: sends one message, resolves with what came back. */
function echoOnce(port: number, message: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const c = createConnection({ host: '127.0.0.1', port }, () => c.write(message));
    c.on('data', (d) => {
      chunks.push(d);
      got += d.length;
      if (got >= message.length) c.end();
    });
    c.on('end', () => resolve(Buffer.concat(chunks)));
    c.on('error', reject);
    c.setTimeout(5000, () => c.destroy(new Error('no echo within 5 s')));
  });
}

for (const via of ['addon', 'binary'] as const) {
  test.serial(`net serve (--via ${via}) stays up until a signal, echoes a plain client, and reports what it served`, async (t) => {
    const port = await freePort();
    const child = spawn(process.execPath, [CLI, 'net', 'serve', '--bind', `127.0.0.1:${port}`, '--via', via], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    let exitCode: number | null | undefined;
    const exited = new Promise<void>((resolve) => child.once('exit', (code) => { exitCode = code; resolve(); }));
    try {
      const t0 = Date.now();
      while (!/listening on/.test(stdout) && exitCode === undefined && Date.now() - t0 < 15_000) await new Promise((r) => setTimeout(r, 50));
      t.regex(stdout, new RegExp(`listening on 127\\.0\\.0\\.1:${port}`), stderr);
      await new Promise((r) => setTimeout(r, 4000));
      t.is(exitCode, undefined, `the server exited on its own after ${Date.now() - t0} ms: ${stdout} ${stderr}`);
      const messages = [Buffer.from('hello isoprobe'), Buffer.alloc(3000, 7)];
      for (const m of messages) t.deepEqual(await echoOnce(port, m), m);
      child.kill('SIGINT');
      await exited;
      t.is(exitCode, 0, stderr);
      t.regex(stdout, /served 2 connections, [1-9]\d* echoes/);
    } finally {
      if (exitCode === undefined) child.kill('SIGKILL');
    }
  });
}

test.serial('net serve stops on SIGTERM too, and with --duration by itself', async (t) => {
  const port = await freePort();
  const child = spawn(process.execPath, [CLI, 'net', 'serve', '--bind', `127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const t0 = Date.now();
  while (!/listening/.test(stdout) && Date.now() - t0 < 15_000) await new Promise((r) => setTimeout(r, 50));
  child.kill('SIGTERM');
  t.is(await exited, 0);
  t.regex(stdout, /served 0 connections/);
  // It serves for its duration, so the command cannot return sooner (a bound that follows from the
  // rule, not from this machine's speed); one that never stopped by itself is killed by runCli's
  // 60 s timeout and has no exit code 0.
  const s = performance.now();
  const r = runCli(['net', 'serve', '--bind', '127.0.0.1:0', '--duration', '1500ms']);
  const took = performance.now() - s;
  t.is(r.code, 0, `${r.stderr} (after ${Math.round(took)} ms)`);
  t.true(took >= 1500, `--duration 1500ms served for ${Math.round(took)} ms`);
});

(isRoot ? test.serial : test.serial.skip)('run --data-size without --size: the region covers the data file' + (isRoot ? '' : ' [skipped: needs root]'), (t) => {
  const file = join(tmp.dir, 'sized.dat');
  const r = runCli(['run', '--target', 'host', '--data-file', file, '--data-size', '8M', 'block', '--direct', '--duration', '200ms', '--warmup', '0ns', '--json']);
  t.is(r.code, 0, r.stderr);
  t.is(JSON.parse(r.stdout).options.size, 8 << 20);
  // Known now (the file exists): again without --data-size, the region is the file.
  const again = runCli(['run', '--target', 'host', '--data-file', file, 'block', '--offset', '4M', '--duration', '100ms', '--warmup', '0ns', '--json']);
  t.is(again.code, 0, again.stderr);
  t.is(JSON.parse(again.stdout).options.size, 4 << 20);
  const bad = runCli(['run', '--target', 'host', '--data-file', file, '--data-size', '8M', 'block', '--size', '16M']);
  t.is(bad.code, 2);
  t.is(bad.stderr.trim(), 'isoprobe: --data-size 8388608: smaller than --offset + --size (16777216 bytes)');
});

test('compare without a terminal prints one line per measurement, each ending in a newline', (t) => {
  let text = '';
  const p = progressReporter(false, (s) => (text += s));
  p(0, 3, NaN, 'host (rep 1/1): a, b');
  p(1, 3, 2000, '');
  p(2, 3, 1000, '');
  p(2, 3, 1000, 'runc (rep 1/1): a');
  p(3, 3, 0, '');
  p(3, 3, 0, 'done');
  const lines = text.split('\n');
  t.is(lines.pop(), '', 'the output ends with a newline');
  t.deepEqual(lines.map((l) => l.replace(/\d+ s/g, 'N s')), [
    'measuring host (rep 1/1): a, b', '[1/3] N s ~N s left', '[2/3] N s ~N s left', 'measuring runc (rep 1/1): a', '[3/3] N s',
  ]);
  t.notRegex(text, /\r|\x1b/);
});

(isRoot ? test.serial : test.serial.skip)('isoprobe compare without a terminal: a line per measurement on stderr, stdout ends with a newline' + (isRoot ? '' : ' [skipped: needs root]'), (t) => {
  const suite = join(tmp.dir, 'tiny.yaml');
  require('node:fs').writeFileSync(suite, 'name: tiny\nduration: 150ms\nwarmup: 0ns\nworkloads:\n  - name: rd\n    kind: block\n    options: {size: 4M, direct: true}\n');
  const r = runCli(['compare', '--targets', 'host', '--suite', suite, '--reps', '2', '--no-store', '--data-file', join(tmp.dir, 'cmp.dat'), '--data-size', '4M']);
  t.is(r.code, 0, r.stderr);
  t.true(r.stdout.endsWith('\n'), `stdout ends with ${JSON.stringify(r.stdout.slice(-20))}`);
  t.regex(r.stdout, /^rd {2}\(block\)$/m);
  t.regex(r.stderr, /^measuring host \(rep 1\/2\): rd$/m);
  t.regex(r.stderr, /^measuring host \(rep 2\/2\): rd$/m);
  t.regex(r.stderr, /^\[2\/2\] \d+ s$/m);
});
