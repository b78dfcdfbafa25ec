// `isoprobe system check`: what on this machine can disturb a measurement, and what to do about it.
import { parseCpuList as kernelCpuList } from '../../cost/proc';
import { optionError } from '../../errors';
import { formatCheck, systemCheck } from '../../system/check';
import { parseCommand, type Table } from '../args';
import type { Reporter } from '../reporter';

const TABLE = {
  cpus: { kind: 'string', default: '', help: 'the measuring CPUs to judge the load and interrupts of, e.g. 0,2-3', defaultText: 'every CPU' },
  window: { kind: 'duration', default: 500e6, min: 100e6, help: 'how long to watch the load, steal and interrupts' },
  json: { kind: 'bool', default: false, help: 'the check as JSON' },
} satisfies Table;

/** "0,2-3" → [0, 2, 3]; refused by name when it is not a CPU list. */
export function parseCpuList(text: string, option = 'cpus'): number[] {
  if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(text)) throw optionError(option, `--${option} "${text}": expected a CPU list such as 0,2-3`);
  const backwards = text.split(',').find((r) => /^(\d+)-(\d+)$/.test(r) && Number(r.split('-')[1]) < Number(r.split('-')[0]));
  if (backwards) throw optionError(option, `--${option} "${text}": the range ${backwards} runs backwards`);
  return kernelCpuList(text);
}

export async function cmdSystem(argv: string[], io: Reporter): Promise<number> {
  const [sub, ...rest] = argv;
  const head = ['usage: isoprobe system check [options]', '', 'What on this machine can disturb a measurement (clock, frequency, isolation, IRQs, other load,',
    'steal), read now and over a short window, each with what to do. Every comparison records the same lines.'];
  if (sub !== 'check') {
    if (sub === undefined || sub === '--help' || sub === '-h') {
      parseCommand(['--help'], TABLE, 'system check', head, io.out);
      return sub === undefined ? 2 : 0;
    }
    throw optionError('command', `system "${sub}": expected the subcommand check (isoprobe system check --help)`);
  }
  const p = parseCommand(rest, TABLE, 'system check', head, io.out);
  if (!p) return 0;
  const v = p.values;
  const cpus = v.cpus ? parseCpuList(v.cpus) : undefined;
  const c = await systemCheck({ windowMs: (v.window ?? 500e6) / 1e6, ...(cpus ? { cpus } : {}) });
  if (v.json) io.out(JSON.stringify(c, null, 2));
  else for (const l of formatCheck(c)) io.out(l);
  // A report, not a gate: warnings are lines to act on, and the exit code stays 0.
  return 0;
}
