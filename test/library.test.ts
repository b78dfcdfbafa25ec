// isoprobe as a library, used as an outside project would: `npm pack`, the tarball unpacked into
// a fresh project, its own install script run there (the native build through cmake-js, in a
// network namespace with no interface: nothing may be downloaded), the README's example compiled
// there with its own tsc against the package's types, and run with the addon and probe built there.
// The dependencies are this checkout's (linked): fetching them again would test the registry.
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { packageRoot } from '../lib/paths';
import { isRoot, tempDir } from './helpers';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());

(isRoot ? test.serial : test.serial.skip)('the packed package, installed elsewhere, compiles and runs the README example' + (isRoot ? '' : ' [skipped: the example runs the host target, which needs root]'), (t) => {
  t.timeout(420_000);
  const root = packageRoot();
  const readme = readFileSync(join(root, 'docs', 'library.md'), 'utf8');
  const example = /<!-- example: library -->\n```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  t.truthy(example, 'docs/library.md has the library example');
  const packed = execFileSync('npm', ['pack', '--silent', '--pack-destination', tmp.dir], { cwd: root, encoding: 'utf8' }).trim().split('\n').pop()!;
  const project = join(tmp.dir, 'project');
  const pkg = join(project, 'node_modules', 'isoprobe');
  mkdirSync(pkg, { recursive: true });
  execFileSync('tar', ['-xzf', join(tmp.dir, packed), '-C', pkg, '--strip-components=1']);
  t.false(readdirSync(pkg).includes('test'), 'tests are not shipped');
  t.true(readdirSync(join(pkg, 'dist', 'lib')).includes('index.d.ts'), 'typings are shipped');
  for (const dep of Object.keys(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).dependencies))
    symlinkSync(join(root, 'node_modules', dep), join(project, 'node_modules', dep));
  symlinkSync(join(root, 'node_modules', '@types'), join(project, 'node_modules', '@types'));
  // npm install's build step: the package's own install script, as npm runs it (sh, the dependencies' bins on PATH).
  const script = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')).scripts.install as string;
  const install = spawnSync('unshare', ['--net', 'sh', '-c', script], { cwd: pkg, encoding: 'utf8', timeout: 280_000, env: { ...process.env, PATH: `${join(root, 'node_modules', '.bin')}:${process.env.PATH}` } });
  t.is(install.status, 0, `the install script builds: ${install.stdout}${install.stderr}`);
  for (const built of ['isoprobe.node', 'isoprobe-probe']) t.true(existsSync(join(pkg, 'build', 'Release', built)), `npm install built build/Release/${built}`);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'outside', private: true, dependencies: { isoprobe: `file:${packed}` } }));
  writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, target: 'ES2022', module: 'commonjs', moduleResolution: 'node', esModuleInterop: true, outDir: 'out', types: ['node'] }, files: ['example.ts'] }));
  writeFileSync(join(project, 'example.ts'), example!);
  const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project], { encoding: 'utf8' });
  t.is(tsc.status, 0, `the example compiles against the package's types: ${tsc.stdout}${tsc.stderr}`);
  const run = spawnSync(process.execPath, [join(project, 'out', 'example.js')], { cwd: project, encoding: 'utf8', timeout: 120_000 });
  t.is(run.status, 0, run.stderr);
  t.regex(run.stdout, /^p50 \d+ ns, \d+ IOPS, host cache bypassed, probe [0-9a-f]{12}$/m);
  t.regex(run.stdout, /^run \d+: \d+ IOPS; \d+ bytes of HTML$/m);
  // The gate compared p50, p99 and IOPS of the one workload; its exit code goes with its verdict.
  // A block workload on the host: p50, p99, IOPS, host CPU per operation and host memory (start-up: the host has none).
  t.regex(run.stdout, /^(NO REGRESSION in 5 cells.*; exit code 0|REGRESSION: [1-5] of 5 cells regressed.*; exit code 1|INCONCLUSIVE: [1-5] of 5 cells could not have found a 5\.0 % change.*; exit code 125)$/m);
});
