#!/usr/bin/env node
// Drives every path of the addon that the static probe does not have: a run on the addon's own
// thread with progress callbacks, cancellation mid-run (block and network), concurrent runs, the
// in-process echo server, and errors thrown from validation. Used by the sanitizer and valgrind
// checks with an instrumented build of the addon.
//   node scripts/addon-exercise.js ADDON.node WORKDIR
'use strict';
const assert = require('node:assert');
const path = require('node:path');

const [addonPath, work] = process.argv.slice(2);
if (!addonPath || !work) {
  console.error('usage: addon-exercise.js ADDON.node WORKDIR');
  process.exit(2);
}
const addon = require(path.resolve(addonPath));

function run(start, options, { cancelAfterMs, progress } = {}) {
  return new Promise((resolve) => {
    const ticks = [];
    const cancel = addon[start](options, progress ? (p) => ticks.push(p) : null, (err, json) => resolve({ err, json, ticks }));
    if (cancelAfterMs !== undefined) setTimeout(cancel, cancelAfterMs);
  });
}

const block = (file, extra = {}) => ({ file: path.join(work, file), size: '4M', duration: 1_500_000_000, warmup: 0, ...extra });

async function main() {
  let steps = 0;
  const ok = (what) => { steps++; console.log(`addon-exercise: ${what}`); };

  // Progress from the run's own thread through the thread-safe function.
  const p = await run('startBlock', block('a.dat', { duration: 2_500_000_000, verify: true, pattern: 'randrw' }), { progress: true });
  assert.equal(p.err, null, p.err && p.err.message);
  assert.ok(JSON.parse(p.json).ops > 0);
  assert.ok(p.ticks.length >= 2, `progress ticks: ${p.ticks.length}`);
  ok(`block run with ${p.ticks.length} progress ticks`);

  // Cancellation mid-run: the run stops early with ECANCELED, its thread ends cleanly.
  // A 120 s run cancelled after 300 ms must end long before its time (under valgrind everything,
  // the layout of its file included, is many times slower, so the bound is the run's own length).
  const t0 = Date.now();
  const c = await run('startBlock', block('b.dat', { duration: 120_000_000_000, engine: 'io_uring', qd: 8 }), { cancelAfterMs: 300, progress: true });
  assert.ok(c.err, `a cancelled run reports an error; it returned after ${Date.now() - t0} ms with ${c.ticks.length} progress ticks (last: ${JSON.stringify(c.ticks[c.ticks.length - 1])}) and ${(c.json || '').slice(0, 400)}`);
  assert.equal(c.err.code, 'ECANCELED');
  assert.ok(Date.now() - t0 < 60_000, `cancel stops the run (it ended after ${Date.now() - t0} ms of 120 s)`);
  ok('block run cancelled');

  // Concurrent runs on their own threads.
  const many = await Promise.all([0, 1, 2].map((i) => run('startBlock', block(`c${i}.dat`, { duration: 500_000_000 }))));
  for (const m of many) assert.equal(m.err, null, m.err && m.err.message);
  ok('three concurrent block runs');

  // The in-process echo server, a network run against it, a cancelled one, then stop.
  const server = addon.startServer({ mode: 'serve', bind: '127.0.0.1:0', proto: 'tcp' });
  const n = await run('startNet', { mode: 'rr', connect: server.address, duration: 800_000_000, warmup: 0 }, { progress: true });
  assert.equal(n.err, null, n.err && n.err.message);
  assert.ok(JSON.parse(n.json).transactions > 0);
  const nc = await run('startNet', { mode: 'stream', connect: server.address, duration: 20_000_000_000, warmup: 0 }, { cancelAfterMs: 300 });
  assert.equal(nc.err && nc.err.code, 'ECANCELED');
  assert.ok(server.stats().connections >= 2);
  server.stop();
  server.stop();
  ok('echo server, rr run, cancelled stream run, double stop');

  // Errors from validation are thrown as JS errors with the core's fields.
  assert.throws(() => addon.validateBlock({ file: path.join(work, 'x'), engine: 'psync', qd: '4' }), (e) => e.code === 'EINVALOPT' && e.option === 'qd');
  assert.throws(() => addon.startBlock({ file: path.join(work, 'x'), qd: '0' }, null, () => {}), (e) => e.code === 'EINVALOPT');
  ok('validation errors');

  // A run still going when its promise is dropped: started, cancelled right away, never awaited.
  run('startBlock', block('d.dat'), { cancelAfterMs: 0 });
  await new Promise((r) => setTimeout(r, 500));
  ok('cancelled at once');
  console.log(`addon-exercise: ${steps} steps passed`);
}

main().catch((e) => {
  console.error(`addon-exercise: FAILED: ${e.stack || e}`);
  process.exit(1);
});
