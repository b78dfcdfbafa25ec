// Each target's Debian packages have one owner, lib/targets/packages.json: the registry gives them
// to its entries, scripts/setup.sh installs them by target (the quickstart installs only its own
// targets' packages), and a target that says it is "not installed" names a package of its list.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { REGISTRY, TARGET_NAMES } from '../../lib/targets';
import { tempDir } from '../helpers';

const ROOT = join(__dirname, '..', '..', '..');
const table = JSON.parse(readFileSync(join(ROOT, 'lib', 'targets', 'packages.json'), 'utf8')) as Record<string, unknown>;

test('packages.json lists exactly the registry\'s targets, and each entry carries its list', (t) => {
  t.deepEqual(Object.keys(table).filter((k) => k !== '//').sort(), [...TARGET_NAMES].sort());
  for (const name of TARGET_NAMES) t.deepEqual([...REGISTRY[name].packages], table[name], name);
});

test('setup.sh refuses an unknown target by name, before installing anything', (t) => {
  const r = spawnSync('bash', [join(ROOT, 'scripts', 'setup.sh'), 'target:runc,qemu-microvm[kernel=6.1,aio=threads],nosuch'], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  t.is(r.status, 2, r.stderr);
  t.regex(r.stderr, /^setup\.sh: unknown target "nosuch" in target:runc,qemu-microvm\[kernel=6\.1,aio=threads\],nosuch: expected one of host, runc, runsc, /m);
  t.notRegex(r.stderr, /installing/);
});

// Decided as the product decides: with a PATH that holds nothing, each target's own check says
// what is missing; where it names a Debian package, that package is on the target's list.
test('a target that is not installed names a Debian package of its own list', (t) => {
  const empty = tempDir();
  try {
    const script = `const { makeTarget } = require(${JSON.stringify(join(ROOT, 'dist', 'lib', 'targets'))});
      (async () => { const out = {}; for (const n of ${JSON.stringify(TARGET_NAMES)}) { const a = await makeTarget(n).available().catch((e) => ({ ok: false, reason: String(e) })); out[n] = a.ok ? null : a.reason; }
        process.stdout.write(JSON.stringify(out)); })();`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, PATH: empty.dir } });
    t.is(r.status, 0, r.stderr);
    const reasons = JSON.parse(r.stdout) as Record<string, string | null>;
    let named = 0;
    for (const name of TARGET_NAMES) {
      for (const m of (reasons[name] ?? '').matchAll(/Debian package ([a-z0-9.+-]+)/g)) {
        named++;
        t.true(REGISTRY[name].packages.includes(m[1]!), `${name}: "${reasons[name]}" names ${m[1]}, its list is [${REGISTRY[name].packages.join(', ')}]`);
      }
    }
    if (process.getuid?.() === 0) t.true(named >= 5, `with an empty PATH the container targets name their packages: ${JSON.stringify(reasons)}`);
  } finally {
    empty.cleanup();
  }
});
