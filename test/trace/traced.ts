// The static probe run on a file under a host trace of its own (the trace follows the probe from
// its fork, the window opens at its marks): its trace window, result and attribution. Shared by
// the attribution tests and the timing phase's layer proofs.
import { probeBinaryPath } from '../../lib/paths';
import { parseProbeOutput } from '../../lib/probe/block';
import type { BlockResult } from '../../lib/probe/types';
import { exec } from '../../lib/targets/exec';
import { attribute, type Attribution } from '../../lib/trace/attribution';
import { HostTrace, type TraceWindow } from '../../lib/trace/tracer';

/** The probe on `probeFile` (default `file`) traced for `file`'s I/O; throws where nothing could be split. */
export async function traced(file: string, args: string[], probeFile = file): Promise<{ w: TraceWindow; r: BlockResult; a: Attribution }> {
  const trace = HostTrace.start({ file, recordBudget: 1 << 20, childrenOf: [process.pid] });
  let w: TraceWindow | undefined;
  try {
    const follow = (pid: number) => {
      trace.addPids([pid]);
      trace.stopFollowingChildrenOf([process.pid]);
    };
    const out = await exec([probeBinaryPath(), 'block', '--file', probeFile, ...args, '--marks'], { timeoutMs: 120_000, onSpawn: follow });
    w = trace.stop();
    const r = parseProbeOutput<BlockResult>(out, 'the probe');
    const a = attribute(w, r);
    if ('unavailable' in a) throw new Error(a.unavailable);
    return { w, r, a };
  } finally {
    if (!w) trace.stop();
  }
}
