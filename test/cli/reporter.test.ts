// Commands write only through the reporter they are given: run in this process with a capturing
// reporter, a command's result and its warnings land there and process.stdout/stderr stay untouched.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

import { main } from '../../lib/cli';
import { capturingReporter } from '../../lib/cli/reporter';
import { selfIdentity } from '../../lib/owner';
import { Store } from '../../lib/store/db';
import { tempDir } from '../helpers';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());

/** Calls of process.stdout.write and process.stderr.write while `f` runs. */
async function processWrites(f: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  const { stdout, stderr } = process;
  const [o, e] = [stdout.write, stderr.write];
  stdout.write = ((s: string | Uint8Array) => (seen.push(`stdout: ${String(s)}`), true)) as typeof stdout.write;
  stderr.write = ((s: string | Uint8Array) => (seen.push(`stderr: ${String(s)}`), true)) as typeof stderr.write;
  try {
    await f();
  } finally {
    stdout.write = o;
    stderr.write = e;
  }
  return seen;
}

test.serial('history on a store with a run a killed isoprobe left: its warning and its lines go to the reporter only', async (t) => {
  const db = join(tmp.dir, 'left.db');
  const s = new Store(db);
  const id = s.startRun({ suite: 'quick', reps: 1, targets: ['host'], command: 'isoprobe compare (killed)' });
  s.close();
  // The run's owner: a process that has ended (a child that ran and exited), as a SIGKILL leaves it.
  const gone = spawnSync('true').pid;
  const owner = { ...selfIdentity()!, pid: gone };
  const raw = new (require('better-sqlite3'))(db);
  raw.prepare('UPDATE runs SET owner = ? WHERE id = ?').run(JSON.stringify(owner), id);
  raw.close();
  const io = capturingReporter();
  let code: number | undefined;
  const writes = await processWrites(async () => (code = await main(['history', '--db', db], io)));
  t.deepEqual(writes, []);
  t.is(code, 0);
  t.is(io.lines.err.length, 1, io.lines.err.join('\n'));
  t.regex(io.lines.err[0]!, new RegExp(`^isoprobe: run ${id} in .*left\\.db was left running by an isoprobe \\(pid ${gone}\\) that has ended \\(killed\\?\\): marked interrupted; its 0 finished results are kept$`));
  t.is(io.lines.out.length, 1);
  t.regex(io.lines.out[0]!, new RegExp(`^ +${id} .* interrupted +`));
});

test.serial('a refused command: its error goes to the reporter, exit 2, nothing to the process streams', async (t) => {
  const io = capturingReporter();
  let code: number | undefined;
  const writes = await processWrites(async () => (code = await main(['report', '--trend', '--threshold', 'lots', '--db', join(tmp.dir, 'x.db')], io)));
  t.deepEqual(writes, []);
  t.is(code, 2);
  t.deepEqual(io.lines.err, ['isoprobe: --threshold "lots": expected a percentage like 5% (or a fraction like 0.05)']);
  t.deepEqual(io.lines.out, []);
});
