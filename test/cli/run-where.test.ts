// `run --where`: the split is built for block and request/response workloads, so a stream (which
// would carry none, silently) is refused before any session starts, naming the option and the
// workload; an RR run on the host's loopback carries its split.
import test from 'ava';

import { traceUnavailable } from '../../lib/trace/available';
import { isRoot, runCli, testIf, why } from '../helpers';

test('run --where on a stream is refused with exit 2, naming --where, what it is built for and the workload', (t) => {
  const r = runCli(['run', '--where', 'net', 'stream', '--duration', '100ms']);
  t.is(r.code, 2, r.stderr);
  t.is(r.stderr.trim(), 'isoprobe: --where: the split by layer is built for block and request/response (net rr) workloads, not net stream');
});

const skip = !isRoot ? 'tracing needs root' : traceUnavailable();

testIf(skip, test)('run --where net rr on the host\'s loopback prints the round trip split into host path, server and boundary, and the counts per transaction' + why(skip), (t) => {
  const r = runCli(['run', '--where', '--target', 'host', '--placement', 'loopback', 'net', 'rr', '--size', '64', '--duration', '300ms']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^ {2}where {7}p50 band [\d.]+ µs = host path [\d.]+ µs \(\d+ %\) \+ server [\d.]+ µs \(\d+ %\) \+ boundary [\d.]+ µs \(\d+ %\)$/m, r.stdout);
  t.regex(r.stdout, /^ {2}per op {6}[\d.]+ packets .*, server [\d.]+ calls, client [\d.]+ calls$/m);
});
