// A fleet's comparison by node in the HTML report: the nodes and what each measured of itself,
// then per workload a table of nodes x targets (median, p50, ratio to the baseline node).
import type { NodeRun, NodeTable } from '../compare/by-node';
import { rateOf } from '../compare/compare';
import { escapeXml } from './escape';
import { renderHtml } from './html';
import { FailureNotes, nodeCellText } from './node-text';

export function nodeSection(tables: NodeTable[], runs: NodeRun[]): string {
  const ids = runs.map((r) => {
    const m = r.machine as { hostname?: string; kernel?: string; cpu?: string; cpus?: number };
    return `<tr><td>${escapeXml(r.node)}</td><td>${escapeXml(r.groups.join(', '))}</td><td>${r.run}</td><td>${escapeXml(String(m.hostname ?? '?'))}</td><td>${escapeXml(String(m.kernel ?? '?'))}</td><td>${escapeXml(`${m.cpus ?? '?'} x ${m.cpu ?? '?'}`)}</td></tr>`;
  }).join('');
  const sections = tables.map((t) => {
    const notes = new FailureNotes();
    const cell = (n: string, x: string) => {
      const r = t.rows.get(n)?.get(x);
      return r && rateOf(r).values.length ? `<td>${escapeXml(nodeCellText(r, n === t.baselineNode))}</td>` : `<td class="failed">failed [${notes.of(r)}]</td>`;
    };
    const rows = t.nodes.map((n) => `<tr data-node="${escapeXml(n)}"><th>${escapeXml(n)}${n === t.baselineNode ? ' (baseline)' : ''}</th>${t.targets.map((x) => cell(n, x)).join('')}</tr>`).join('');
    return `<section><h2>${escapeXml(t.workload)} <small>${escapeXml(t.kind ?? 'nothing measured')}, by node</small></h2>
<table class="by-node" data-workload="${escapeXml(t.workload)}"><tr><th>node</th>${t.targets.map((x) => `<th>${escapeXml(x)}</th>`).join('')}</tr>${rows}</table>${notes.list.map((w, i) => `<p class="note">[${i + 1}] ${escapeXml(w)}</p>`).join('')}</section>`;
  }).join('\n');
  return `<section><h2>Nodes</h2><table class="nodes"><tr><th>node</th><th>groups</th><th>run</th><th>host</th><th>kernel</th><th>CPUs</th></tr>${ids}</table>
<p>Each cell: the median over the node's repetitions, its p50, and the ratio to the baseline node on the same target with its bootstrap 95 % interval.</p></section>
${sections}`;
}

/** The HTML report of a fleet: the nodes and the by-node tables, on the report's page. */
export function renderNodeReport(fleet: string, tables: NodeTable[], runs: NodeRun[]): string {
  const c = { suite: runs[0]?.suite ?? '?', reps: runs[0]?.reps ?? 0, targets: tables[0]?.targets ?? [], summaries: [], warnings: [], cells: [], stacks: {} };
  return renderHtml(c, {}, `isoprobe fleet ${fleet}: ${runs.map((r) => r.node).join(', ')}`, nodeSection(tables, runs));
}
