// isoprobe export RUN: one stored run as JSON, CSV, fio json+, OpenMetrics or Bencher BMF.
import { writeFileSync } from 'node:fs';

import { storedCells } from '../../compare/stored-cells';
import { EXPORT_FORMATS, exportRun, isExportFormat } from '../../formats/export';
import { resultsCsv } from '../../report/csv';
import { oneOf, parseCommand, type Table } from '../args';
import { runArg } from '../common';
import type { Reporter } from '../reporter';
import { DB, openStore } from '../store';

export async function cmdExport(argv: string[], io: Reporter): Promise<number> {
  const T = { ...DB, format: oneOf(['json', 'csv', ...EXPORT_FORMATS], 'json', 'output format'), output: { kind: 'string', default: '', help: 'write to this file instead of standard output' } } satisfies Table;
  const p = parseCommand(argv, T, 'export', ['usage: isoprobe export [options] RUN', '', 'One stored run, every result, as JSON or CSV; or as fio json+ (block results), OpenMetrics or Bencher BMF.'], io.out);
  if (!p) return 0;
  const { values: v, positionals } = p;
  const id = runArg(positionals, 'export');
  const store = openStore(v.db, io);
  let text: string;
  try {
    const run = store.run(id);
    const rows = store.results(id);
    const format = v.format ?? 'json';
    if (isExportFormat(format)) text = exportRun(format, run, storedCells(store, id));
    else if (format === 'json') {
      text = JSON.stringify({ run: { ...run, machine: JSON.parse(run.machine), owner: undefined },  // its process means nothing elsewhere
        results: rows.map((r) => ({ workload: r.workload, target: r.target, rep: r.rep, result: JSON.parse(r.json) })),
        failures: store.failures(id) });
    } else text = resultsCsv(id, rows);
  } finally {
    store.close();
  }
  if (v.output) writeFileSync(v.output, text + '\n', { flag: 'wx', mode: 0o644 });
  else io.out(text);
  return 0;
}
