// Before a command makes anything (containers, namespaces, work folders, kernels), once its input
// is checked: remove what killed isoprobe runs left behind, and say so on stderr. Bad input is
// refused before this, so it has no side effect at all.
import { sweepOrphans, sweptText } from '../targets/sweep';
import type { Reporter } from './reporter';

let swept = false;

export async function sweepFirst(io: Pick<Reporter, 'err'>): Promise<void> {
  if (swept || process.getuid?.() !== 0) return;  // what isoprobe makes needs root; so does removing it
  swept = true;
  try {
    const said = sweptText(await sweepOrphans());
    if (said) io.err(`isoprobe: ${said}`);
  } catch (e) {
    io.err(`isoprobe: warning: removing what killed runs left behind failed: ${e instanceof Error ? e.message : String(e)}`);
  }
}
