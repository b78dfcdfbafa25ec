// The report's host-cost figures: per workload, stacked bars of host CPU per operation by role for
// each target; per run, start-up and memory bars per target.
import type { Cell } from '../compare/compare';
import { windowOps } from '../compare/kinds';
import { formatMetric } from '../compare/metrics';
import { ROLES, type Role } from '../cost/roles';
import { median } from '../stats/resample';
import type { TargetResult } from '../targets/types';
import { escapeXml } from './escape';

const ROLE_COLOURS: Record<Role, string> = {
  probe: '#1c7ed6', container: '#1c7ed6', sentry: '#e8590c', gofer: '#f59f00', shim: '#868e96', vcpu: '#7048e8',
  'vmm-main': '#d6336c', 'vmm-api': '#f783ac', iothread: '#0ca678', 'io-pool': '#63e6be', vhost: '#2f9e44', 'vmm-other': '#adb5bd', 'exited-threads': '#ced4da',
};

/** Median over repetitions of each role's host CPU per operation (per byte for streams), ns. */
export function rolesPerOp(results: TargetResult[]): Partial<Record<Role, number>> {
  const per: Partial<Record<Role, number[]>> = {};
  for (const r of results) {
    const ops = windowOps(r);
    if (!r.host_cpu || !ops) continue;
    for (const [role, ns] of Object.entries(r.host_cpu.by_role) as [Role, number][]) (per[role] ??= []).push(ns / ops);
  }
  return Object.fromEntries(Object.entries(per).map(([k, v]) => [k, median(v!)]));
}

export function hbars(rows: { label: string; parts: [string, number, string][] }[], unit: (v: number) => string, caption: string, cls: string): string {
  const ok = rows.filter((r) => r.parts.length);
  if (!ok.length) return '';
  const W = 640, rowH = 28, L = 150, R = 110;
  const max = Math.max(...ok.map((r) => r.parts.reduce((a, p) => a + p[1], 0))) * 1.05 || 1;
  const items = ok.map((r, i) => {
    const y = 10 + i * rowH;
    let x = L;
    const segs = r.parts.map(([name, v, colour]) => {
      const w = (v / max) * (W - L - R);
      const s = `<rect class="seg" data-role="${escapeXml(name)}" x="${x.toFixed(1)}" y="${y + 2}" width="${w.toFixed(1)}" height="16" fill="${colour}"><title>${escapeXml(`${name}: ${unit(v)}`)}</title></rect>`;
      x += w;
      return s;
    });
    const total = r.parts.reduce((a, p) => a + p[1], 0);
    return `<text x="${L - 8}" y="${y + 14}" text-anchor="end">${escapeXml(r.label)}</text>${segs.join('')}<text x="${(x + 6).toFixed(1)}" y="${y + 14}">${escapeXml(unit(total))}</text>`;
  });
  const names = [...new Map(ok.flatMap((r) => r.parts.map((p) => [p[0], p[2]] as const))).entries()];
  const key = names.length > 1 ? `<p class="key">${names.map(([n, c]) => `<i style="background:${c}"></i>${escapeXml(n)}`).join('')}</p>` : '';
  return `<figure><svg class="chart ${cls}" viewBox="0 0 ${W} ${ok.length * rowH + 20}">${items.join('')}</svg>${key}<figcaption>${escapeXml(caption)}</figcaption></figure>`;
}


/** Stacked bars of one workload's host CPU per operation (the kind's: I/O, transaction, byte) by role, a bar per target. */
export function hostCpuSvg(cells: Cell[], op: string): string {
  const rows = cells.map((c) => ({
    label: c.target + (c.results.some((r) => r.target.emulated) ? ' *' : ''),
    parts: Object.entries(rolesPerOp(c.results)).map(([role, v]) => [role, v!, ROLE_COLOURS[role as Role] ?? '#495057'] as [string, number, string]),
  }));
  return hbars(rows, (v) => formatMetric('host_cpu_per_op', v), `host CPU per ${op} over the measured window, by role (median over repetitions); under TCG (*) vCPU time is emulation. Roles: ${Object.entries(ROLES).map(([k, v]) => `${k} = ${v}`).join('; ')}`, 'cost-chart');
}

/** Start-up (median over results) and host memory at the end of the workloads (median PSS), a bar per target. */
export function startupMemorySvg(cells: Cell[], targets: string[]): string {
  const of = (t: string) => cells.filter((c) => c.target === t).flatMap((c) => c.results);
  const startup = targets.map((t) => {
    const v = of(t).map((r) => r.startup?.ns ?? 0).filter((x) => x > 0);
    return { label: t, parts: v.length ? [['start-up', median(v) / 1e6, '#5c7cfa'] as [string, number, string]] : [] };
  });
  const memory = targets.map((t) => {
    const rs = of(t).filter((r) => r.host_memory);
    if (!rs.length) return { label: t, parts: [] as [string, number, string][] };
    const guest = median(rs.map((r) => r.host_memory!.guest_resident_bytes ?? 0)) / 2 ** 20;
    const own = median(rs.map((r) => r.host_memory!.vmm_own_bytes ?? r.host_memory!.pss_bytes)) / 2 ** 20;
    return { label: t, parts: [[guest ? 'VMM own' : 'PSS', own, '#e64980'], ...(guest ? [['guest RAM resident', guest, '#fab005']] : [])] as [string, number, string][] };
  });
  return hbars(startup, (v) => `${v.toFixed(0)} ms`, "start-up: launch call to the probe's first line or frame (a container's create + start, once per session; a VM's boot, per repetition)", 'startup-chart')
    + hbars(memory, (v) => `${v.toFixed(1)} MiB`, "host memory at the end of each workload (median): a container's processes and shim by PSS; a VMM's RSS split into guest RAM and its own", 'memory-chart');
}
