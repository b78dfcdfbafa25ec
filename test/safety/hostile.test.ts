// Hostile names through every command: file and target names with spaces, quotes, $(...), ;,
// newlines. Nothing is ever run through a shell, so nothing in them is ever executed.
import test from 'ava';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { runCli, targetSkips, tempDir, testIf, why } from '../helpers';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());

const CANARY = 'ISOPROBE-PWNED';
const HOSTILE = [`a b'c"d $(touch ${CANARY}) ;touch ${CANARY}; \`touch ${CANARY}\` e`, `new\nline ${CANARY}`, `-leading-dash`, `semi;colon&amp|pipe>redir<in`];

function noCanary(t: { false: (v: boolean, m: string) => void }, dir: string): void {
  for (const d of [process.cwd(), dir, '/tmp']) t.false(existsSync(join(d, CANARY)), `no ${CANARY} in ${d}`);
}

test('hostile data file names: measured as plain names, nothing executed', (t) => {
  for (const name of HOSTILE) {
    const file = join(tmp.dir, name);
    const r = runCli(['block', '--file', file, '--size', '1M', '--duration', '50ms', '--warmup', '0ns', '--json']);
    t.is(r.code, 0, r.stderr);
    t.is(JSON.parse(r.stdout).options.file, file);
    t.true(statSync(file).isFile());
    const b = runCli(['block', '--file', file, '--size', '1M', '--duration', '50ms', '--warmup', '0ns', '--json', '--via', 'binary']);
    t.is(b.code, 0, b.stderr);
  }
  noCanary(t, tmp.dir);
});

test('hostile target, suite, database and address arguments are refused by name, nothing executed', (t) => {
  const cases: [string[], RegExp][] = [
    [['run', '--target', `$(touch ${CANARY})`, 'block'], /^isoprobe: --target "\$\(touch ISOPROBE-PWNED\)": expected a target, or a target with settings like qemu-microvm\[kernel=6\.12,aio=threads\]$/],
    [['compare', '--targets', `host;touch ${CANARY}`], /^isoprobe: --targets "host;touch ISOPROBE-PWNED": expected a target, or a target with settings like/],
    [['compare', '--suite', `x; touch ${CANARY}`], /^isoprobe: --suite "x; touch ISOPROBE-PWNED": expected quick, paper, scaling \(quick\+udp-stream-1472 adds an optional workload\) or a readable suite file/],
    [['net', 'rr', '--connect', `127.0.0.1:1;touch ${CANARY}`], /^isoprobe: --connect "127\.0\.0\.1:1;touch ISOPROBE-PWNED": expected a loopback address/],
    [['history', '--db', join(tmp.dir, `db $(touch ${CANARY})`, 'x.db')], /^$/],
  ];
  for (const [args, re] of cases) {
    const r = runCli(args);
    t.regex(r.stderr.trim(), re, args.join(' '));
  }
  noCanary(t, tmp.dir);
});

const runcSkip = targetSkips(['runc']).get('runc');
testIf(runcSkip, test.serial)('a hostile data file name through a container target (bind mount) and cache honesty' + why(runcSkip), (t) => {
  const file = join(tmp.dir, `ctr a b'c"$(touch ${CANARY});d`);
  const r = runCli(['run', '--target', 'runc', '--data-file', file, '--data-size', '1M', 'block', '--size', '1M', '--direct', '--duration', '100ms', '--warmup', '0ns', '--json']);
  t.is(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  t.is(j.host_page_cache.file, file);
  t.is(j.host_page_cache.mode, 'bypassed');
  noCanary(t, tmp.dir);
});

test('no code in lib/ runs a shell: every child process gets an argument array', (t) => {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name.endsWith('.ts')) files.push(join(d, e.name));
    }
  };
  walk(join(__dirname, '..', '..', '..', 'lib'));
  t.true(files.length > 20);
  for (const f of files) {
    const src = readFileSync(f, 'utf8');
    t.notRegex(src, /shell:\s*true/, f);
    t.notRegex(src, /import\s*\{[^}]*\b(exec|execSync)\b[^}]*\}\s*from\s*'node:child_process'/, `${f} imports a shell-based exec`);
    t.notRegex(src, /require\('node:child_process'\)\.(exec|execSync)\(/, f);
  }
});
