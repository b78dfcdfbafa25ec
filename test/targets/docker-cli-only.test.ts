// A machine with the docker CLI but no Docker engine (some machine images ship /usr/local/bin/docker
// alone): the docker target is unavailable with the reason, not an error of isoprobe's own. The
// rule runs on a made-up PATH: a docker that answers no server, and no dockerd or containerd.
import test from 'ava';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { makeTarget } from '../../lib/targets';
import { isRoot, tempDir, testIf, why } from '../helpers';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());

const root = isRoot ? undefined : 'needs root (the engine targets check root first)';

testIf(root, test.serial)(`the docker CLI without dockerd: docker is unavailable because dockerd is not installed${why(root)}`, async (t) => {
  const docker = join(tmp.dir, 'docker');
  // A client with no server: `docker version --format {{.Server.Version}}` prints nothing and fails.
  writeFileSync(docker, '#!/bin/sh\nexit 1\n');
  chmodSync(docker, 0o755);
  const path = process.env.PATH;
  process.env.PATH = tmp.dir;
  try {
    const a = await makeTarget('docker').available();
    t.deepEqual(a, { ok: false, reason: 'dockerd is not installed (Debian package docker.io)' });
  } finally {
    process.env.PATH = path;
  }
});
