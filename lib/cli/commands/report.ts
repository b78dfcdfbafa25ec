// isoprobe report: the HTML report of a stored run, of a fleet run by node, or the trend over all runs.
import { writeFileSync } from 'node:fs';

import { byNode } from '../../compare/by-node';
import { RESULT_METRICS } from '../../compare/metrics';
import { comparisonFromStore } from '../../compare/stored-cells';
import { optionError } from '../../errors';
import { fleetRuns } from '../../fleet/stored';
import { renderNodeReport } from '../../report/node-html';
import { formatNodeTables } from '../../report/node-text';
import { renderTrendHtml, trendSeries } from '../../report/trend';
import { whereSummary } from '../../report/where-text';
import type { Store } from '../../store/db';
import { parseCommand, type Table, type Values } from '../args';
import { list, parseMetrics, runArg } from '../common';
import type { Reporter } from '../reporter';
import { DB, openStore } from '../store';
import { writeHtml } from './compare';

const REPORT = {
  ...DB,
  output: { kind: 'string', default: '', help: 'the HTML file to write', defaultText: 'isoprobe-report-RUN.html, or isoprobe-trend.html' },
  fleet: { kind: 'string', default: '', help: 'a fleet run (isoprobe fleet run): last, or its id; the report groups by node' },
  baseline_node: { kind: 'string', default: '', help: 'with --fleet: the node the ratios are taken against', defaultText: 'the first node' },
  trend: { kind: 'bool', default: false, help: 'every stored run in time order, per workload, target and metric: bands, stack changes, change points' },
  target: { kind: 'string', default: '', help: 'with --trend: only these targets (comma-separated labels)' },
  workload: { kind: 'string', default: '', help: 'with --trend: only these workloads (comma-separated)' },
  metric: { kind: 'string', default: '', help: `with --trend: only these metrics (${RESULT_METRICS.join(', ')})` },
  threshold: { kind: 'percent', default: 0.05, help: 'with --trend: noise threshold of a change point' },
  alpha: { kind: 'probability', default: 0.01, help: 'with --trend: significance of a change point' },
} satisfies Table;

export async function cmdReport(argv: string[], io: Reporter): Promise<number> {
  const args = argv.map((a) => (a === '-o' ? '--output' : a));
  const p = parseCommand(args, REPORT, 'report', ['usage: isoprobe report [options] RUN', '       isoprobe report --fleet last|ID [--baseline-node NODE] [-o FILE]', '       isoprobe report --trend [--target T] [--workload W] [--metric M] [-o FILE]', '',
    'A self-contained HTML report of one stored run, or of the trend across all of them (-o is --output).'], io.out);
  if (!p) return 0;
  const { values: v, positionals } = p;
  const store = openStore(v.db, io);
  try {
    if (v.trend) {
      if (positionals.length) throw optionError('trend', `--trend covers every stored run; no RUN ("${positionals[0]}")`);
      const series = trendSeries(store, { targets: list(v.target), workloads: list(v.workload), metrics: parseMetrics(v.metric, RESULT_METRICS),
        threshold: v.threshold ?? REPORT.threshold.default, alpha: v.alpha ?? REPORT.alpha.default });
      const file = v.output || 'isoprobe-trend.html';
      writeFileSync(file, renderTrendHtml(series), { mode: 0o644 });
      const cps = series.flatMap((s) => s.points.filter((x) => x.changePoint).map((x) => `${s.workload} on ${s.target} ${s.metric}: ${x.changePoint} at run ${x.run}`));
      io.out(`trend of ${series.length} series written to ${file}${cps.length ? `\n${cps.join('\n')}` : '; no change points'}`);
      return 0;
    }
    if (v.fleet) return reportFleet(store, { ...v, fleet: v.fleet }, positionals, io);
    const id = runArg(positionals, 'report');
    const c = comparisonFromStore(store, id);
    const file = v.output || `isoprobe-report-${id}.html`;
    writeHtml(file, c, { machine: JSON.parse(store.run(id).machine), probe_env: c.cells.find((x) => x.results.length)?.results[0]?.env });
    for (const l of whereSummary(c).slice(1)) io.out(l);  // a traced run's split by layer per target (--where)
    io.out(`report written to ${file}`);
    return 0;
  } finally {
    store.close();
  }
}

/** report --fleet: the by-node tables printed, and the HTML report by node written. */
function reportFleet(store: Store, v: Values<typeof REPORT> & { fleet: string }, positionals: string[], io: Reporter): number {
  if (positionals.length) throw optionError('fleet', `--fleet reports every node's run of the fleet; no RUN ("${positionals[0]}")`);
  const runs = fleetRuns(store, v.fleet);
  const tables = byNode(runs, v.baseline_node || undefined);
  const fleet = String(runs[0]!.machine.fleet);
  const file = v.output || `isoprobe-fleet-${fleet}.html`;
  writeFileSync(file, renderNodeReport(fleet, tables, runs), { mode: 0o644 });
  io.out(`${formatNodeTables(tables, runs)}\n\nreport written to ${file}`);
  return 0;
}
