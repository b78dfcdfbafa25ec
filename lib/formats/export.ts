// `isoprobe export --format fio-json|openmetrics|bmf RUN`: a stored run in the formats other tools
// read (fio's pipelines, Prometheus, Bencher). The CLI only dispatches here.
import type { Cell } from '../compare/compare';
import { IsoprobeError } from '../errors';
import type { BlockResult } from '../probe/types';
import type { RunRow } from '../store/db';
import { bmf } from './bmf';
import { fioJson } from './fio-json';
import { measuresOf, nodeOf } from './measures';
import { openMetrics } from './openmetrics';

export const EXPORT_FORMATS = ['fio-json', 'openmetrics', 'bmf'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export function isExportFormat(f: string): f is ExportFormat {
  return (EXPORT_FORMATS as readonly string[]).includes(f);
}

/** The run's block results as fio jobs, one per repetition: workload/target/rep. */
function fioJobsOf(cells: Cell[]) {
  return cells.flatMap((c) => c.results.flatMap((r, i) => (r.kind === 'block' ? [{ name: `${c.workload}/${c.target}/${i + 1}`, result: r as unknown as BlockResult }] : [])));
}

export function exportRun(format: ExportFormat, run: RunRow, cells: Cell[]): string {
  if (format === 'fio-json') {
    const jobs = fioJobsOf(cells);
    if (!jobs.length) throw new IsoprobeError('EINVALOPT', `--format fio-json: run ${run.id} has no block results (fio's format holds block I/O only)`, { option: 'format' });
    return JSON.stringify(fioJson(jobs), null, 2);
  }
  const measures = measuresOf(cells);
  if (format === 'openmetrics') return openMetrics(measures, nodeOf(run));
  return JSON.stringify(bmf(measures), null, 2);
}
