// `run --where`: the split is built for block and request/response workloads, so a stream (which
// would carry none, silently) is refused before any session starts, naming the option and the workload.
import test from 'ava';

import { runCli } from '../helpers';

test('run --where on a stream is refused with exit 2, naming --where, what it is built for and the workload', (t) => {
  const r = runCli(['run', '--where', 'net', 'stream', '--duration', '100ms']);
  t.is(r.code, 2, r.stderr);
  t.is(r.stderr.trim(), 'isoprobe: --where: the split by layer is built for block and request/response (net rr) workloads, not net stream');
});
