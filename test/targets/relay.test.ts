// The variant setting relay= (lib/targets/relay.ts): a program of the user's between a
// client-inside client and isoprobe's echo server. What it must be is checked on made-up files
// before any session starts, each refusal naming the setting, the value and what was expected.
import test from 'ava';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { IsoprobeError } from '../../lib/errors';
import { makeTarget } from '../../lib/targets';
import { checkRelay } from '../../lib/targets/relay';
import type { SessionSpec } from '../../lib/targets/types';
import { parseVariant } from '../../lib/targets/variant';
import { tempDir } from '../helpers';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());

const exe = join(tmp.dir, 'relay');
writeFileSync(exe, '#!/bin/sh\n');
chmodSync(exe, 0o755);
const plain = join(tmp.dir, 'plain');
writeFileSync(plain, '');
chmodSync(plain, 0o644);
const dir = join(tmp.dir, 'dir');
mkdirSync(dir);

test('an executable file in a session with a network is a relay; anything else is refused naming relay, the value and what was expected', (t) => {
  t.notThrows(() => checkRelay(exe, true));
  const cases: [string, boolean, RegExp][] = [
    [join(tmp.dir, 'none'), true, /^relay ".*none": expected the path of an executable file, and there is no file there$/],
    [plain, true, /^relay ".*plain": expected an executable file, and it is not executable$/],
    [dir, true, /^relay ".*dir": expected the path of an executable file, not a directory or a device$/],
    [exe, false, /^relay ".*relay": a relay sits between a client-inside client and isoprobe's echo server, and this session has no network/],
  ];
  for (const [path, network, message] of cases) {
    const e = t.throws(() => checkRelay(path, network), { message }, path);
    t.is((e as IsoprobeError).option, 'relay');
  }
});

/** Why the host refused this session ("it started" when it did not: the session is stopped at once). */
async function refusal(spec: SessionSpec): Promise<string> {
  try {
    await (await makeTarget('host').start(spec)).stop();
    return 'it started';
  } catch (e) {
    return (e as Error).message;
  }
}

test('the host refuses a relay without its namespace pair before it starts anything; the variant key reaches the session', async (t) => {
  t.regex(await refusal({ relay: exe }), /this session has no network \(start it with network: true\)/);
  t.regex(await refusal({ network: true, relay: plain }), /not executable/);
  t.is(parseVariant(`runc[relay=${exe}]`).spec.relay, exe);
  t.throws(() => parseVariant(`qemu-microvm[relay=${exe}]`), { message: /qemu-microvm has no setting "relay"/ });
});
