// spawnServing (lib/child.ts), the start of every server child that says where it serves (the echo
// server, a relay): its first line read, a refused or silent child killed before the error.
import test from 'ava';

import { spawnServing } from '../../lib/child';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('the first line is the value; later lines are read on; stop ends the child', async (t) => {
  const s = await spawnServing(['sh', '-c', 'echo 127.0.0.1:9; sleep 0.3; echo later; exec sleep 30'], (l) => l, () => new Error('no line'));
  t.is(s.first, '127.0.0.1:9');
  t.is(await new Promise<string>((r) => s.lines.once('line', r)), 'later');
  await s.stop();
  t.false(alive(s.pid));
});

test('a first line refused: that error, and the child is gone', async (t) => {
  // Killed, not waited out: a child that would serve for 10 minutes is gone long before the guard.
  t.timeout(60_000, 'the refused child was waited for, not killed');
  let pid = 0;
  const e = await t.throwsAsync(spawnServing(['sh', '-c', 'echo $$ garbage; exec sleep 600'], (l) => {
    pid = Number(l.split(' ')[0]);
    throw new Error(`refused ${l.split(' ')[1]}`);
  }, () => new Error('no line')));
  t.is(e?.message, 'refused garbage');
  t.false(alive(pid), 'killed before the error');
});

test('a child that exits before its first line: fail says so, with its code and stderr', async (t) => {
  const e = await t.throwsAsync(spawnServing(['sh', '-c', 'echo broken >&2; exit 3'], (l) => l, (why, stderr) => new Error(`${JSON.stringify(why)} ${stderr}`)));
  t.is(e?.message, '{"timeout":false,"code":3} broken');
});
