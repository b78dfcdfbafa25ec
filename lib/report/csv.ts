// A stored run's results as CSV (isoprobe export --format csv): a row per result, the columns its
// identity (run, workload, target, repetition, kind), then every metric a result has, each from
// the one metric list under its name (metrics.ts), then the stack's facts.
import { metricOrNaN } from '../compare/ab';
import { appliesTo, metricDef, resultMetrics } from '../compare/metrics';
import { storedResult } from '../compare/kinds';
import type { ResultRow } from '../store/db';

const quote = (x: unknown) => (/[",\n]/.test(String(x)) ? `"${String(x).replace(/"/g, '""')}"` : String(x));
const cell = (x: unknown) => (x === undefined || x === null ? '' : String(x));

/** The CSV text (no trailing newline): a header and one line per result. */
export function resultsCsv(run: number, rows: ResultRow[]): string {
  const metrics = resultMetrics();
  const head = ['run', 'workload', 'target', 'rep', 'kind', ...metrics.map((m) => metricDef(m).csv ?? m), 'host_page_cache', 'emulated', 'probe_sha256', 'host_cpu_ns'];
  const lines = rows.map((r) => {
    const j = storedResult(r.json);
    const values = metrics.map((m) => {
      const x = appliesTo(m, j.kind) ? metricOrNaN(j, m) : NaN;
      return Number.isFinite(x) ? String(x) : '';
    });
    return [run, r.workload, r.target, r.rep, r.kind, ...values, cell(r.host_page_cache), r.emulated, r.probe_sha256, cell(j.host_cpu?.total_ns)].map(quote).join(',');
  });
  return [head.join(','), ...lines].join('\n');
}
