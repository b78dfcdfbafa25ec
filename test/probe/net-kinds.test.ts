// The network workload kinds the native core registers (each loop file's NetKind, listed in
// net_kinds.cc) are exactly the network kinds lib/compare/kinds.ts knows, by name, probe mode and
// protocol; and each registered kind's loop gives a result of that kind.
import test from 'ava';

import { KINDS, RESULT_KINDS } from '../../lib/compare/kinds';
import { runNetLoopback } from '../../lib/probe/net';
import { native } from '../../lib/probe/native';

interface CoreKind { name: string; mode: string; proto: string }

/** The core's registry, read through the addon's netKinds() export. */
function coreKinds(): CoreKind[] {
  const addon = native() as ReturnType<typeof native> & { netKinds(): string };
  return JSON.parse(addon.netKinds()) as CoreKind[];
}

const key = (k: CoreKind) => `${k.name} = net ${k.mode} --proto ${k.proto}`;

test('the kinds the core registers are the network kinds of kinds.ts, with the same mode and protocol words', (t) => {
  const core = coreKinds().map(key).sort();
  const ts = RESULT_KINDS.filter((k) => KINDS[k].network).map((k) => key({ name: k, mode: KINDS[k].mode, proto: KINDS[k].proto ?? 'tcp' })).sort();
  t.true(core.length > 0, 'the core registers kinds');
  t.deepEqual(core, ts);
});

test('each kind the core registers runs its loop and reports itself as that kind', async (t) => {
  for (const k of coreKinds()) {
    const r = await runNetLoopback(k.mode as 'rr' | 'stream', { proto: k.proto as 'tcp' | 'udp', duration: '100ms', warmup: '20ms' });
    t.is(r.kind as string, k.name, key(k));
    t.true(r.elapsed_ns > 0, `${key(k)}: a measured window`);
  }
});
