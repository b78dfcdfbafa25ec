// The house is layered: lib's folders import only downwards, and no file imports itself back
// through others (an import circle). Read from the TypeScript sources, every relative import.
import test from 'ava';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const LIB = join(__dirname, '..', '..', 'lib');

// Bottom to top. Files at lib's root are helpers below everything, except the two entry points.
const LAYERS = ['(helpers)', 'probe', 'stats', 'net', 'system', 'cost', 'trace', 'image', 'targets', 'store', 'compare', 'fleet', 'formats', 'report', 'cli', '(entry)'];
const ENTRY = new Set(['cli.ts', 'index.ts']);

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

const graph = new Map<string, string[]>();
for (const f of sources(LIB)) {
  const deps = [...readFileSync(f, 'utf8').matchAll(/^(?:import|export)[^'"]*from '(\.[^']+)'/gm)]
    .map((m) => `${resolve(dirname(f), m[1]!)}.ts`).filter((p) => existsSync(p));
  graph.set(f, deps);
}
const rel = (f: string) => relative(LIB, f);
const layerOf = (f: string) => {
  const r = rel(f);
  return r.includes('/') ? r.split('/')[0]! : ENTRY.has(r) ? '(entry)' : '(helpers)';
};

test('every cross-folder import in lib goes to a lower layer', (t) => {
  const up: string[] = [];
  for (const [f, deps] of graph) {
    for (const d of deps) {
      const [a, b] = [LAYERS.indexOf(layerOf(f)), LAYERS.indexOf(layerOf(d))];
      t.true(a >= 0 && b >= 0, `${rel(f)} or ${rel(d)} in a folder the layers do not name`);
      if (layerOf(f) !== layerOf(d) && b > a) up.push(`${rel(f)} -> ${rel(d)}`);
    }
  }
  t.deepEqual(up, [], 'upward imports');
  t.true(graph.size > 50, `${graph.size} files read`);
});

test('no import circle among lib\'s files', (t) => {
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const circles: string[] = [];
  const visit = (n: string) => {
    state.set(n, 1);
    stack.push(n);
    for (const d of graph.get(n) ?? []) {
      if (state.get(d) === 1) circles.push([...stack.slice(stack.indexOf(d)), d].map(rel).join(' -> '));
      else if (!state.get(d)) visit(d);
    }
    stack.pop();
    state.set(n, 2);
  };
  for (const f of graph.keys()) if (!state.get(f)) visit(f);
  t.deepEqual(circles, []);
});
