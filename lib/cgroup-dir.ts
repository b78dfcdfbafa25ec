// Removing a cgroup's directory: rmdir, retried for half a second while its last task is still
// exiting (cgroupfs says EBUSY). Below every layer: the cost accounting's cgroups and the shield's
// cpusets both go through it.
import { rmdirSync, rmSync } from 'node:fs';

/**
 * True once the directory is gone (or was not there). `plainTree`: a directory of a made-up tree
 * (tests point the shield at one) holds plain files, and rmdir says ENOTEMPTY: remove it whole.
 */
export function removeCgroupDir(path: string, plainTree = false): boolean {
  for (let i = 0; i < 50; i++) {
    try {
      rmdirSync(path);
      return true;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return true;
      if (plainTree && code === 'ENOTEMPTY') {
        rmSync(path, { recursive: true });
        return true;
      }
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
  }
  return false;
}
