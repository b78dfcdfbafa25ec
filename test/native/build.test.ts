// The native build is one description (CMakeLists.txt, CMakePresets.json): each of the five
// presets, configured here into a folder of its own, compiles the files the source tree holds (read
// here from the file system, not from the build) with the flags every build shares; npm install's
// configure through cmake-js compiles each file exactly as the release preset does, with no network;
// and a source file the lists do not name stops the configure, naming it.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

import { packageRoot } from '../../lib/paths';
import { isRoot, tempDir } from '../helpers';

const root = packageRoot();
const tmp = tempDir();
test.after.always(() => tmp.cleanup());

/** Flags every translation unit of every configuration is compiled with. */
const SHARED = ['-std=c++17', '-Wall', '-Wextra', '-Wno-unused-parameter', '-fno-strict-aliasing', '-fno-omit-frame-pointer', '-D_FILE_OFFSET_BITS=64'];

function tree(folder: string, filter: (f: string) => boolean = () => true): string[] {
  return readdirSync(join(root, 'native', folder)).filter((f) => f.endsWith('.cc') && filter(f)).map((f) => `native/${folder}/${f}`);
}
const core = tree('core');
const probe = tree('probe');
// The tracer's loader: built beside the addon, with or without the tracer (native/trace/CMakeLists.txt).
const addon = [...tree('addon'), ...tree('trace')];
const PRESETS: Record<string, { files: string[]; compiler: string; flags: string[] }> = {
  release: { files: [...core, ...probe, ...addon], compiler: 'c++', flags: ['-O2'] },
  asan: { files: [...core, ...probe, ...addon], compiler: 'c++', flags: ['-O1', '-g', '-fsanitize=address,undefined', '-fno-sanitize-recover=undefined'] },
  valgrind: { files: [...core, ...probe, ...addon], compiler: 'c++', flags: ['-O1', '-g'] },
  fuzz: { files: [...core, 'native/probe/plan.cc', ...tree('fuzz')], compiler: 'clang++', flags: ['-O1', '-g', '-fsanitize=fuzzer-no-link,address,undefined'] },
  aarch64: { files: [...core, ...probe], compiler: 'aarch64-linux-gnu-g++', flags: ['-O2'] },
};

interface Entry { file: string; args: string[] }

/** compile_commands.json of a configured folder: each file (relative to the checkout) and its arguments without the output. */
function commands(dir: string): Entry[] {
  const list = JSON.parse(readFileSync(join(dir, 'compile_commands.json'), 'utf8')) as { file: string; command: string }[];
  return list.map((e) => {
    const args = e.command.split(/\s+/).filter(Boolean);
    const o = args.indexOf('-o');
    if (o >= 0) args.splice(o, 2);
    return { file: relative(root, e.file), args };
  });
}

function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

for (const [name, want] of Object.entries(PRESETS)) {
  const missing = has(want.compiler) ? undefined : `${want.compiler} is not installed`;
  (missing ? test.skip : test)(`the ${name} preset compiles the tree's files with the shared flags` + (missing ? ` [skipped: ${missing}]` : ''), (t) => {
    const dir = join(tmp.dir, name);
    const r = spawnSync('cmake', ['--preset', name, '-B', dir], { cwd: root, encoding: 'utf8' });
    t.is(r.status, 0, r.stderr);
    const entries = commands(dir);
    t.deepEqual(entries.map((e) => e.file).sort(), [...want.files].sort(), 'the files compiled are the tree\'s');
    for (const e of entries) {
      t.true(e.args[0]!.endsWith(want.compiler), `${e.file}: compiled by ${e.args[0]}`);
      const absent = [...SHARED, ...want.flags].filter((f) => !e.args.includes(f));
      t.deepEqual(absent, [], `${e.file} (${name}) lacks flags`);
    }
    if (name !== 'release' && name !== 'aarch64') t.false(entries.some((e) => e.args.includes('-O2')), 'the checks build at -O1');
  });
}

(isRoot ? test : test.skip)('npm install\'s configure (cmake-js, no network) compiles each file as the release preset does' + (isRoot ? '' : ' [skipped: a network namespace of its own needs root]'), (t) => {
  const viaPreset = join(tmp.dir, 'cmp-preset');
  const viaCmakeJs = join(tmp.dir, 'cmp-cmake-js');
  const p = spawnSync('cmake', ['--preset', 'release', '-B', viaPreset], { cwd: root, encoding: 'utf8' });
  t.is(p.status, 0, p.stderr);
  // In a network namespace with no interface: a download at install time cannot happen unseen.
  const js = spawnSync('unshare', ['--net', process.execPath, join(root, 'node_modules', 'cmake-js', 'bin', 'cmake-js'), 'configure', '--out', viaCmakeJs], { cwd: root, encoding: 'utf8' });
  t.is(js.status, 0, js.stderr + js.stdout);
  // Generated headers (the tracer's skeleton) are included from each build's own folder.
  const inBuild = (dir: string) => (e: Entry): Entry => ({ ...e, args: e.args.map((a) => a.replaceAll(dir, '<build>')) });
  const preset = new Map(commands(viaPreset).map(inBuild(viaPreset)).map((e) => [e.file, e.args]));
  const cmakeJs = commands(viaCmakeJs).map(inBuild(viaCmakeJs));
  t.is(cmakeJs.length, preset.size);
  t.true(cmakeJs.length >= core.length + probe.length + 1);
  for (const e of cmakeJs) {
    // cmake-js puts one define in CMAKE_CXX_FLAGS for every file; the addon has it from CMakeLists.txt too.
    const args = [...e.args];
    const define = args.lastIndexOf('-DBUILDING_NODE_EXTENSION');
    t.true(define >= 0, `${e.file}: cmake-js's define`);
    args.splice(define, 1);
    t.deepEqual(args, preset.get(e.file), e.file);
  }
  const addon = cmakeJs.find((e) => e.file === 'native/addon/addon.cc')!;
  t.true(addon.args.includes(join(root, 'node_modules', 'node-api-headers', 'include')), 'the addon builds against node-api-headers');
});

/** Configures a copy of the native description with `change` applied; the probe only (no node_modules in the copy). */
function configureCopy(label: string, change: (dir: string) => void): { status: number | null; stderr: string } {
  const dir = join(tmp.dir, `copy-${label}`);
  // package.json: the build reads the version from it (native/core/CMakeLists.txt).
  for (const f of ['CMakeLists.txt', 'cmake', 'native', 'package.json']) cpSync(join(root, f), join(dir, f), { recursive: true });
  change(dir);
  const r = spawnSync('cmake', ['-S', dir, '-B', join(dir, 'build'), '-DISOPROBE_ADDON=OFF'], { encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr.replace(/\s+/g, ' ') }; // CMake folds its messages
}

test('a source file the lists do not name, or a listed one that is gone, stops the configure with its name', (t) => {
  t.is(configureCopy('as-is', () => undefined).status, 0, 'the tree as it is configures');
  const stray = configureCopy('stray', (d) => writeFileSync(join(d, 'native', 'core', 'stray.cc'), 'int stray() { return 1; }\n'));
  t.not(stray.status, 0);
  t.regex(stray.stderr, /native\/core has files its CMakeLists\.txt does not list: stray\.cc/);
  const gone = configureCopy('gone', (d) => rmSync(join(d, 'native', 'probe', 'init.h')));
  t.not(gone.status, 0);
  t.regex(gone.stderr, /native\/probe\/CMakeLists\.txt lists files that are not there: init\.h/);
});
