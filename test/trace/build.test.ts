// The tracer is part of the build where clang, bpftool and libbpf are found, and absent, never a
// build failure, where one is not: configured here with a PATH that lacks clang, with the tracer
// turned off, and as this machine has it, each against the same rule the build applies.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';

import { packageRoot } from '../../lib/paths';
import { tempDir } from '../helpers';

const root = packageRoot();
const tmp = tempDir();
test.after.always(() => tmp.cleanup());

const INSTALL = 'scripts/setup.sh trace installs clang, bpftool and libbpf-dev';

function which(cmd: string, path = process.env.PATH ?? ''): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8', env: { PATH: path } });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** A PATH holding only what the configure needs besides the tracer's tools. */
function pathWithout(name: string): string {
  const bin = join(tmp.dir, `bin-${name}`);
  mkdirSync(bin);
  for (const tool of ['cmake', 'ninja', 'c++', 'cc', 'g++', 'gcc', 'node', 'sh', 'as', 'ld', 'ar', 'ranlib']) {
    const p = which(tool);
    if (p) symlinkSync(p, join(bin, tool));
  }
  return bin;
}

/** The reason trace.cc is compiled with (ISOPROBE_TRACE_ABSENT, a C string literal), if any. */
function absent(args: string): string | undefined {
  return /-DISOPROBE_TRACE_ABSENT="\\"(.*?)\\""/.exec(args)?.[1];
}

/** Configures the release preset into a folder of its own; the arguments trace.cc is compiled with. */
function configure(name: string, env: NodeJS.ProcessEnv, extra: string[] = []): { status: number | null; stderr: string; stdout: string; args: string; dir: string } {
  const dir = join(tmp.dir, name);
  const r = spawnSync(which('cmake')!, ['--preset', 'release', '-B', dir, ...extra], { cwd: root, encoding: 'utf8', env });
  let args = '';
  try {
    const cmds = JSON.parse(readFileSync(join(dir, 'compile_commands.json'), 'utf8')) as { file: string; command: string }[];
    args = cmds.find((c) => c.file.endsWith('native/trace/trace.cc'))?.command ?? '';
  } catch {
    /* the configure failed: its status says so */
  }
  return { status: r.status, stderr: r.stderr, stdout: r.stdout, args, dir };
}

test('without clang on PATH the build configures and compiles the loader without the tracer, saying why', (t) => {
  const c = configure('no-clang', { PATH: pathWithout('clang'), HOME: process.env.HOME });
  t.is(c.status, 0, c.stderr);
  t.is(absent(c.args), `clang was not found when the build was configured (${INSTALL})`, c.args);
  t.false(c.args.includes('ISOPROBE_TRACE_SKELETON'));
  t.regex(c.stdout, /isoprobe: building without the eBPF tracer: clang was not found/);
  const b = spawnSync(which('cmake')!, ['--build', c.dir, '--target', 'isoprobe-trace'], { encoding: 'utf8', env: { PATH: pathWithout('clang-build') } });
  t.is(b.status, 0, b.stdout + b.stderr);
});

test('-DISOPROBE_TRACE=OFF builds without the tracer and says so', (t) => {
  const c = configure('off', process.env, ['-DISOPROBE_TRACE=OFF']);
  t.is(c.status, 0, c.stderr);
  t.is(absent(c.args), 'it was configured with -DISOPROBE_TRACE=OFF', c.args);
});

test('with clang, bpftool and libbpf found the tracer is built; without one of them it is not', (t) => {
  const c = configure('here', process.env);
  t.is(c.status, 0, c.stderr);
  const sbin = `${process.env.PATH}:/usr/sbin:/sbin:/usr/local/sbin`;
  const libbpf = spawnSync('sh', ['-c', 'test -e /usr/include/bpf/libbpf.h || test -e /usr/local/include/bpf/libbpf.h']).status === 0;
  const arch = process.arch === 'x64' || process.arch === 'arm64';
  const tools = ['clang', 'bpftool'].filter((x) => !which(x, sbin));
  const expected = arch && tools.length === 0 && libbpf;
  t.is(c.args.includes('-DISOPROBE_TRACE_SKELETON'), expected, `missing here: ${[...tools, ...(libbpf ? [] : ['libbpf'])].join(', ') || 'nothing'}`);
  t.is(absent(c.args) === undefined, expected);
});
