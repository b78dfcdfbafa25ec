// isoprobe block: time block I/O on a file or device in this process or as the static probe.
import { IsoprobeError } from '../../errors';
import { fioJson } from '../../formats/fio-json';
import { runBlock } from '../../probe/block';
import { BLOCK_OPTIONS } from '../../probe/options';
import type { ProgressEvent } from '../../probe/types';
import { formatBlockResult } from '../../report/block-text';
import { formatCount, formatNs } from '../../units';
import { parseCommand } from '../args';
import { COMMON, FIO_FORMAT } from '../common';
import type { Reporter } from '../reporter';

const BLOCK_HEAD = ['usage: isoprobe block --file PATH [options]', '',
  'Sizes take k/M/G/T (powers of 1024); times take ns/us/ms/s/m/h. Booleans: --flag, --flag=false, --no-flag.'];

function progressPrinter(enabled: boolean, io: Reporter): ((p: ProgressEvent) => void) | undefined {
  if (!enabled) return undefined;
  return (p) => {
    const rate = p.phase === 'layout' ? `${formatCount(p.ops)} blocks written` : `${formatCount(p.iops)} IOPS`;
    io.progress(`\r\x1b[K${p.phase} ${formatNs(p.elapsed_ns)}  ${rate}`);
  };
}

export async function cmdBlock(argv: string[], io: Reporter, signal: AbortSignal): Promise<number> {
  const p = parseCommand(argv, { ...BLOCK_OPTIONS, ...COMMON, ...FIO_FORMAT }, 'block', BLOCK_HEAD, io.out);
  if (!p) return 0;
  const { values, positionals } = p;
  if (positionals.length) throw new IsoprobeError('EINVALOPT', `unexpected argument "${positionals[0]}" (options start with --)`);
  const { json, via, format, ...opts } = values;
  const tty = !json && io.tty;
  const ctl: Parameters<typeof runBlock>[1] = { via: via ?? 'addon', signal };
  const printer = progressPrinter(tty, io);
  if (printer) ctl.onProgress = printer;
  const r = await runBlock(opts, ctl);
  if (tty) io.progress('\r\x1b[K');
  if (format === 'fio-json') io.out(JSON.stringify(fioJson([{ name: 'isoprobe-block', result: r }]), null, 2));
  else io.out(json ? JSON.stringify(r) : formatBlockResult(r));
  return 0;
}
