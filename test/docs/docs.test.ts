// The README is a door and docs/ the rooms: every relative link resolves, the README stays short,
// and every isoprobe command the docs show is one the CLI knows, with options its --help lists.
import test from 'ava';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

import { packageRoot } from '../../lib/paths';
import { runCli } from '../helpers';

const root = packageRoot();
const pages = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join('docs', f))];
const text = (p: string) => readFileSync(join(root, p), 'utf8');

test('the README is a door: at most 250 lines, and it links every page of docs/', (t) => {
  const readme = text('README.md');
  t.true(readme.split('\n').length <= 250, `${readme.split('\n').length} lines`);
  for (const p of pages.filter((x) => x !== 'README.md')) t.true(readme.includes(`](${p})`), `the README links ${p}`);
});

test('every relative link of the README and docs/ resolves', (t) => {
  let links = 0;
  for (const p of pages) {
    for (const m of text(p).matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
      const target = m[1]!;
      if (/^[a-z]+:/.test(target)) continue;
      links++;
      t.true(existsSync(resolve(dirname(join(root, p)), target)), `${p}: ${target}`);
    }
  }
  t.true(links >= 20, `${links} links`);
});

/** The isoprobe commands of the pages' shell blocks, split at ; and without comments. */
function commands(): { page: string; line: string; words: string[] }[] {
  const out: { page: string; line: string; words: string[] }[] = [];
  for (const p of pages) {
    for (const block of text(p).matchAll(/```sh\n([\s\S]*?)```/g)) {
      for (const raw of block[1]!.split('\n')) {
        for (const part of raw.replace(/\s#.*$/, '').split(';')) {
          const m = /(?:^|\s)isoprobe (.*)$/.exec(part.trim());
          if (m) out.push({ page: p, line: part.trim(), words: (m[1]!.match(/'[^']*'|"[^"]*"|\S+/g) ?? []) });
        }
      }
    }
  }
  return out;
}

/** The argv whose --help lists the options of this command line. */
function helpPath(w: string[]): string[] {
  const [cmd, sub, third] = w;
  if (['net', 'image', 'fleet', 'system'].includes(cmd!)) return [cmd!, sub!];
  if (cmd === 'run') {
    const i = w.findIndex((x) => x === 'block' || x === 'net');
    return i < 0 ? ['run'] : w[i] === 'net' ? ['run', 'net', w[i + 1]!] : ['run', 'block'];
  }
  if (cmd === 'sweep' && third !== undefined) {
    const i = w.findIndex((x) => x === 'block' || x === 'net');
    return i < 0 ? ['sweep'] : w[i] === 'net' ? ['sweep', 'net', w[i + 1]!] : ['sweep', 'block'];
  }
  return [cmd!];
}

test('every isoprobe command the docs show exists, and uses only options its --help lists', (t) => {
  const cmds = commands();
  t.true(cmds.length >= 30, `${cmds.length} commands`);
  const helps = new Map<string, { code: number | null; stdout: string }>();
  for (const c of cmds) {
    const path = helpPath(c.words);
    const key = path.join(' ');
    if (!helps.has(key)) helps.set(key, runCli([...path, '--help']));
    const h = helps.get(key)!;
    t.is(h.code, 0, `${c.page}: isoprobe ${key} --help (from: ${c.line})`);
    for (const f of c.words.filter((x) => x.startsWith('--')).map((x) => x.replace(/=.*$/, '').replace(/^--no-/, '--'))) {
      if (f === '--help' || f === '--version') continue;
      t.regex(h.stdout, new RegExp(`^  ${f}(?:[ =]|$)`, 'm'), `${c.page}: isoprobe ${key} has ${f} (from: ${c.line})`);
    }
  }
});
