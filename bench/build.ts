// npm run bench:build - the native build (CMake, the release preset) against node-gyp, the peer and
// what built isoprobe before, on the same sources with the same flags: two copies of the native
// tree in a temporary folder, one built each way (node-gyp from a binding.gyp written here from
// the release configure's own target lists). Interleaved pairs of: a build from scratch
// (configure included), a build with nothing changed, one source touched, one header touched.
// Then the issue's own target: a second `npm run build` of this checkout with nothing changed.
//   BENCH_PAIRS (default 3)
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';

import { packageRoot } from '../lib/paths';
import { interleave, machine, median, run, saveResults } from './common';

const PAIRS = Number(process.env.BENCH_PAIRS || 3);
const JOBS = String(cpus().length);
const root = packageRoot();
const STEPS = ['scratch', 'no-op', 'touch units.cc', 'touch units.h'] as const;
type Times = Record<(typeof STEPS)[number], number>;

interface Side { dir: string; clean(): void; configure(): Promise<void>; build(): Promise<void> }

async function must(cmd: string, args: string[], cwd: string): Promise<void> {
  const r = await run('sh', ['-c', `cd "$1" && shift && exec "$@"`, 'sh', cwd, cmd, ...args], 600_000);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} in ${cwd}: exit ${r.code}\n${r.stderr.slice(-2000)}`);
}

function copyTree(dir: string): void {
  for (const f of ['CMakeLists.txt', 'CMakePresets.json', 'cmake', 'native', 'package.json']) cpSync(join(root, f), join(dir, f), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
}

/** A target of the release configure: its files and their compile flags (the compiler, -o and -c taken out), from compile_commands.json. */
function cmakeTarget(cc: { file: string; command: string }[], cmakeBuild: string, target: string): { sources: string[]; cflags: string[] } {
  const of = cc.filter((e) => new RegExp(` -o \\S*CMakeFiles/${target}\\.dir/`).test(e.command));
  if (!of.length) throw new Error(`no file of the target ${target} in ${cmakeBuild}/compile_commands.json`);
  const args = of[0]!.command.split(/\s+/).filter(Boolean).slice(1);
  const o = args.indexOf('-o');
  args.splice(o, 2);
  args.splice(args.indexOf('-c'), 2);
  return { sources: of.map((e) => relative(dirname(cmakeBuild), e.file)), cflags: args };
}

/** A binding.gyp with the release configure's targets, files and flags; node-gyp's own defaults for C++ are taken out. */
function bindingGyp(cmakeBuild: string): string {
  const cc = JSON.parse(readFileSync(join(cmakeBuild, 'compile_commands.json'), 'utf8')) as { file: string; command: string }[];
  const target = (name: string) => cmakeTarget(cc, cmakeBuild, name);
  const gyp = (t: { sources: string[]; cflags: string[] }) => ({ sources: t.sources, 'cflags_cc!': ['-fno-exceptions', '-fno-rtti', '-std=gnu++17'], cflags_cc: t.cflags });
  const plan = target('isoprobe-plan');
  const probe = target('isoprobe-probe');
  return JSON.stringify({ targets: [
    { target_name: 'core', type: 'static_library', ...gyp(target('isoprobe-core')) },
    { target_name: 'isoprobe', dependencies: ['core'], ...gyp(target('isoprobe')), libraries: ['-luring'] },
    { target_name: 'isoprobe-probe', type: 'executable', dependencies: ['core'], ...gyp({ ...probe, sources: [...plan.sources, ...probe.sources] }), ldflags: ['-static', '-pthread'], libraries: ['-l:liburing.a'] },
  ] }, null, 2);
}

function nodeGyp(): { js: string; nodedir: string } | string {
  const js = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (!existsSync(js)) return `node-gyp is not at ${js}`;
  let nodedir = execFileSync('npm', ['config', 'get', 'nodedir'], { encoding: 'utf8' }).trim();
  if (!existsSync(join(nodedir, 'include', 'node', 'node_api.h'))) nodedir = join(dirname(process.execPath), '..');
  if (!existsSync(join(nodedir, 'include', 'node', 'node_api.h'))) return 'no Node headers on this machine for node-gyp (it would download them)';
  return { js, nodedir };
}

async function timed(f: () => Promise<void>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await f();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

async function steps(side: Side): Promise<Times> {
  side.clean();
  const scratch = await timed(async () => { await side.configure(); await side.build(); });
  const noop = await timed(() => side.build());
  const touch = async (f: string) => { const t = new Date(); utimesSync(join(side.dir, 'native', 'core', f), t, t); return timed(() => side.build()); };
  return { scratch, 'no-op': noop, 'touch units.cc': await touch('units.cc'), 'touch units.h': await touch('units.h') };
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), `isoprobe-bench-${process.pid.toString(36)}-`));
  try {
    const cm = join(tmp, 'cmake');
    copyTree(cm);
    const cmake: Side = { dir: cm, clean: () => rmSync(join(cm, 'build'), { recursive: true, force: true }),
      configure: () => must('cmake', ['--preset', 'release'], cm), build: () => must('cmake', ['--build', '--preset', 'release', '-j', JOBS], cm) };
    const gyp = nodeGyp();
    console.log(`native build, CMake (release preset) vs node-gyp, ${PAIRS} interleaved pairs, ${JOBS} jobs, on ${machine()}`);
    let r: { a: Times[]; b: Times[] };
    if (typeof gyp === 'string') {
      console.log(`node-gyp side skipped: ${gyp}`);
      r = { a: [], b: [] };
      for (let i = 0; i < PAIRS; i++) r.a.push(await steps(cmake));
    } else {
      const gd = join(tmp, 'gyp');
      copyTree(gd);
      await cmake.configure();
      writeFileSync(join(gd, 'binding.gyp'), bindingGyp(join(cm, 'build')));
      const peer: Side = { dir: gd, clean: () => rmSync(join(gd, 'build'), { recursive: true, force: true }),
        configure: () => must(process.execPath, [gyp.js, 'configure', `--nodedir=${gyp.nodedir}`], gd), build: () => must(process.execPath, [gyp.js, 'build', '-j', JOBS], gd) };
      r = await interleave(PAIRS, () => steps(cmake), () => steps(peer));
    }
    console.log(`${'seconds (median)'.padEnd(18)} ${'cmake'.padStart(7)} ${'node-gyp'.padStart(9)}   ratio  goal`);
    for (const s of STEPS) {
      const ours = median(r.a.map((x) => x[s]));
      const theirs = r.b.length ? median(r.b.map((x) => x[s])) : NaN;
      // No slower than the peer (within this machine's noise), and a no-op build well under a second.
      const [goal, pass] = s === 'no-op' ? ['<= 1 s', ours <= 1] : ['<= 1.10', !(ours / theirs > 1.1)];
      console.log(`${s.padEnd(18)} ${ours.toFixed(2).padStart(7)} ${theirs.toFixed(2).padStart(9)} ${(ours / theirs).toFixed(3).padStart(7)}  ${goal.padEnd(8)} ${pass ? 'met' : 'NOT MET'}`);
    }
    // The target: `npm run build` of this checkout, a second time with nothing changed.
    await must('npm', ['run', '-s', 'build'], root);
    const again: number[] = [];
    for (let i = 0; i < 3; i++) again.push(await timed(() => must('npm', ['run', '-s', 'build'], root)));
    console.log(`npm run build with nothing changed: ${median(again).toFixed(2)} s (each: ${again.map((x) => x.toFixed(2)).join(', ')}); goal about 1 s: ${median(again) <= 1.5 ? 'met' : 'NOT MET'}`);
    console.log(`results: ${saveResults('build', { machine: machine(), pairs: PAIRS, jobs: JOBS, cmake: r.a, node_gyp: r.b, npm_run_build_noop_s: again })}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
