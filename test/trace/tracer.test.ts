// The host-side tracer: whether it can run is decided from made-up /sys and /proc as the product
// decides it; where it can, it is loaded and shown reads this test makes itself, each one's
// offset, length and system call known here in advance.
import test from 'ava';
import { closeSync, mkdirSync, openSync, readSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { traceUnavailable } from '../../lib/trace/available';
import { COUNTERS, RECORD } from '../../lib/trace/native';
import { syscallName } from '../../lib/trace/syscalls';
import { HostTrace } from '../../lib/trace/tracer';
import { tempDir, testIf, why } from '../helpers';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());

/** A made-up root with the given files. */
function root(name: string, files: Record<string, string>): string {
  const r = join(tmp.dir, name);
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(join(r, p, '..'), { recursive: true });
    writeFileSync(join(r, p), text);
  }
  return r;
}

const BTF = { 'sys/kernel/btf/vmlinux': 'btf' };
const ROOT_CAPS = { 'proc/self/status': 'Name:\tnode\nCapEff:\t000001ffffffffff\n' };

test('tracing is unavailable, with the exact reason, for each fact that forbids it', (t) => {
  t.is(traceUnavailable(root('ok', { ...BTF, ...ROOT_CAPS }), ''), undefined);
  t.is(traceUnavailable(root('ok', { ...BTF, ...ROOT_CAPS }), 'this build of isoprobe has no eBPF tracer: clang was not found'),
    'this build of isoprobe has no eBPF tracer: clang was not found');
  const noBtf = root('no-btf', ROOT_CAPS);
  t.is(traceUnavailable(noBtf, ''), `no kernel BTF: ${join(noBtf, 'sys/kernel/btf/vmlinux')} is missing (a kernel built without CONFIG_DEBUG_INFO_BTF)`);
  t.is(traceUnavailable(root('user', { ...BTF, 'proc/self/status': 'CapEff:\t0000000000000000\n' }), ''),
    'tracing needs root, or CAP_BPF with CAP_PERFMON: this process has neither (CapEff 0000000000000000)');
  // CAP_BPF (39) and CAP_PERFMON (38) without CAP_SYS_ADMIN are enough; either alone is not.
  t.is(traceUnavailable(root('bpf-perfmon', { ...BTF, 'proc/self/status': 'CapEff:\t000000c000000000\n' }), ''), undefined);
  t.regex(traceUnavailable(root('bpf-only', { ...BTF, 'proc/self/status': 'CapEff:\t0000008000000000\n' }), '') ?? '', /needs root/);
  t.is(traceUnavailable(root('lockdown', { ...BTF, ...ROOT_CAPS, 'sys/kernel/security/lockdown': 'none integrity [confidentiality]\n' }), ''),
    'kernel lockdown is in confidentiality mode: eBPF programs may not read kernel memory');
  t.is(traceUnavailable(root('integrity', { ...BTF, ...ROOT_CAPS, 'sys/kernel/security/lockdown': 'none [integrity] confidentiality\n' }), ''), undefined);
});

const unavailable = traceUnavailable();

testIf(unavailable, test)('the tracer sees each pread64 of this process on the data file, with its offset and length, and none of another file, even on the data file\'s old descriptor' + why(unavailable), (t) => {
  const file = join(tmp.dir, 'data');
  writeFileSync(file, Buffer.alloc(1 << 20, 1));
  const other = join(tmp.dir, 'other');
  writeFileSync(other, Buffer.alloc(1 << 16, 2));
  const offsets = Array.from({ length: 200 }, (_, i) => ((i * 37) % 256) * 4096);
  const trace = HostTrace.start({ pids: [process.pid], file, window: 'manual' });
  trace.openWindow();
  const buf = Buffer.alloc(4096);
  const fd = openSync(file, 'r');
  const fdOther = openSync(other, 'r');
  for (const [i, off] of offsets.entries()) {
    readSync(fd, buf, 0, 4096 - (i % 2) * 512, off);
    readSync(fdOther, buf, 0, 512, 0);  // another file: not the data file's
  }
  closeSync(fd);
  closeSync(fdOther);
  // The data file's descriptor number, closed, now names the other file: its reads are not the data file's.
  const reused = openSync(other, 'r');
  const reusedNumber = reused === fd;
  readSync(reused, buf, 0, 512, 4096);
  closeSync(reused);
  trace.closeWindow();
  const w = trace.stop();
  const calls = [...w.records.kind.keys()].filter((i) => w.records.kind[i] === RECORD.call);
  t.is(calls.length, offsets.length, 'one record per read of the data file, none of the other file');
  t.deepEqual(calls.map((i) => w.records.off[i]), offsets);
  t.deepEqual(calls.map((i) => w.records.len[i]), offsets.map((_, i) => 4096 - (i % 2) * 512));
  t.deepEqual([...new Set(calls.map((i) => syscallName(w.records.nr[i]!)))], ['pread64']);
  t.true(calls.every((i) => w.records.t1[i]! > w.records.t0[i]! && w.records.t0[i]! >= w.window.open_ns && w.records.t1[i]! <= w.window.close_ns), 'inside the window');
  t.true(calls.every((i) => w.records.ret[i] === w.records.len[i]), 'each returned what it asked');
  const sum = (k: number) => w.counters.reduce((s, c) => s + c[k]!, 0);
  t.is(sum(COUNTERS.indexOf('io_calls')), offsets.length, 'io_calls counted in the kernel');
  t.true(w.syscalls[calls.length ? w.records.nr[calls[0]!]! : 0]! >= 2 * offsets.length, 'pread64 entered for both files');
  t.is(w.window.state, 2);
  t.true(reusedNumber, 'the other file got the data file\'s old descriptor number');
});
