// The isoprobe command line: find the command, run it, print its error, set the exit code. Nothing else.
import { releaseDaemons } from './targets/daemons';
import { IsoprobeError } from './errors';
import { cmdAb } from './cli/commands/ab';
import { cmdBlock } from './cli/commands/block';
import { cmdCompare } from './cli/commands/compare';
import { cmdExport } from './cli/commands/export';
import { cmdFleet } from './cli/commands/fleet';
import { cmdHistory } from './cli/commands/history';
import { cmdImage } from './cli/commands/image';
import { cmdImport } from './cli/commands/import';
import { cmdNet } from './cli/commands/net';
import { cmdReport } from './cli/commands/report';
import { cmdRun } from './cli/commands/run';
import { cmdSweep } from './cli/commands/sweep';
import { cmdSystem } from './cli/commands/system';
import { cmdTargets } from './cli/commands/targets';
import { netUsageLines, workloadWords } from './compare/kinds';
import { packageVersion } from './probe/version';
import { processReporter, type Reporter } from './cli/reporter';

const VERSION = packageVersion();

function usage(): string {
  return [
    `isoprobe ${VERSION}: what an isolation boundary costs in I/O`,
    '',
    'usage:',
    '  isoprobe block --file PATH [options]   time block I/O on a file or device (isoprobe block --help)',
    '  isoprobe net serve [options]           an echo server for rr and stream clients',
    ...netUsageLines(),
    '  isoprobe targets [--json]               which targets work on this machine, and why not',
    `  isoprobe run --target NAME ${workloadWords()} [options]   the same workload in a container or VM`,
    '  isoprobe image build [--kernel PATH]    fetch/prepare the guest kernel; report what the VMMs need',
    '  isoprobe compare [--targets host,runc,runsc,qemu-microvm] [--suite quick|paper|FILE] [--reps 5]',
    '  isoprobe sweep [--targets host,runc] block --qd 1,2,4,8 | net rr --rate 500,1000,2000   load-latency curves and their knee',
    '  isoprobe fleet run --inventory nodes.ini [--limit edge] [--targets host,runc]    the suite on every node of an Ansible inventory, compared by node',
    '  isoprobe history | export --format json|csv|fio-json|openmetrics|bmf RUN | report RUN [-o report.html]',
    '  isoprobe ab --baseline RUN|FILE --candidate RUN|FILE [--junit F] [--markdown F]   the suite-wide A/B gate: exit 0, 1 (regression), 125',
    '  isoprobe ab --run --baseline VARIANT --candidate VARIANT [--suite quick] [--reps 10]   measure both now, then judge',
    '  isoprobe report --trend [-o trend.html]   every stored run in time order, change points flagged',
    '  isoprobe import FILE.json|OTHER.db ...   runs from other machines, with their host identity',
    '  isoprobe system check [--cpus LIST]    what on this machine can disturb a measurement, and what to do',
    '  isoprobe version',
    '',
  ].join('\n');
}

type Handler = (argv: string[], io: Reporter, signal: AbortSignal) => Promise<number>;

/** Every command, by name: the one place a new command is added. */
const COMMANDS: Record<string, Handler> = {
  block: cmdBlock,
  net: cmdNet,
  targets: cmdTargets,
  image: cmdImage,
  run: cmdRun,
  compare: cmdCompare,
  history: cmdHistory,
  export: cmdExport,
  report: cmdReport,
  ab: cmdAb,
  sweep: cmdSweep,
  fleet: cmdFleet,
  import: cmdImport,
  system: cmdSystem,
};

/**
 * Runs one command line; returns the exit code. Errors are printed, never thrown. Everything the
 * command says goes through `io` (the process's streams unless given); `out`/`err` functions, as
 * older callers pass them, replace its two line writers.
 */
export async function main(argv: string[], io: Reporter | ((s: string) => void) = processReporter(), errLine?: (s: string) => void): Promise<number> {
  const base = processReporter();
  const r: Reporter = typeof io === 'function' ? { ...base, out: io, ...(errLine ? { err: errLine } : {}) } : io;
  const ac = new AbortController();
  const onSignal = () => ac.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const [cmd, ...rest] = argv;
    const handler = cmd === undefined ? undefined : COMMANDS[cmd];
    if (handler) return await handler(rest, r, ac.signal);
    switch (cmd) {
      case 'version':
      case '--version':
        r.out(VERSION);
        return 0;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        r.out(usage());
        return cmd === undefined ? 2 : 0;
      default:
        r.err(`isoprobe: unknown command "${cmd}"\n\n${usage()}`);
        return 2;
    }
  } catch (e) {
    if (e instanceof IsoprobeError) {
      r.err(`isoprobe: ${e.message}`);
      return e.code === 'ECANCELED' ? 130 : e.code === 'EINVALOPT' || e.code === 'EREFUSED' ? 2 : e.code === 'EUNAVAILABLE' ? 3 : 1;
    }
    r.err(`isoprobe: internal error: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    return 70;
  } finally {
    // A daemon isoprobe started for this command is stopped again, unless another run still uses it.
    await releaseDaemons().catch((e: Error) => r.err(`isoprobe: stopping the daemons it started: ${e.message}`));
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}
