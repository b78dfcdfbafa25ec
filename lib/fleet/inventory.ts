// The nodes of an Ansible inventory (INI or YAML, whatever ansible-inventory reads), with the
// groups each belongs to, directly or through a parent group; `limit` is Ansible's own host
// pattern (a group, a host, "edge:!pi3"), resolved by Ansible itself.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

import { IsoprobeError, optionError } from '../errors';

export interface FleetNode {
  /** The inventory name: what the store, the tables and the gate call the node. */
  name: string;
  /** Its groups, nearest first ("all" and "ungrouped" left out). */
  groups: string[];
}

function ansible(cmd: string, args: string[]): { stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ANSIBLE_NOCOLOR: '1' } });
  if (r.error) throw new IsoprobeError('EUNAVAILABLE', `${cmd} is not installed (Debian package ansible; scripts/setup.sh fleet installs it): ${r.error.message}`);
  if (r.status !== 0) throw optionError('inventory', `${cmd} ${args.join(' ')} failed: ${(r.stderr || r.stdout).trim()}`);
  return { stdout: r.stdout, stderr: r.stderr };
}

/** Each group's parents, from ansible-inventory's --list JSON. */
function groupsOf(list: Record<string, { hosts?: string[]; children?: string[] }>, host: string): string[] {
  const parents = new Map<string, string[]>();
  for (const [g, v] of Object.entries(list)) for (const c of v.children ?? []) parents.set(c, [...(parents.get(c) ?? []), g]);
  const out: string[] = [];
  let level = Object.entries(list).filter(([, v]) => v.hosts?.includes(host)).map(([g]) => g);
  while (level.length) {
    const next: string[] = [];
    for (const g of level) if (!out.includes(g) && g !== 'all' && g !== 'ungrouped') out.push(g), next.push(...(parents.get(g) ?? []));
    level = next;
  }
  return out;
}

/** The inventory's nodes (those `limit` selects), in the order Ansible lists them. */
export function inventoryNodes(inventory: string, limit?: string): FleetNode[] {
  if (!existsSync(inventory)) throw optionError('inventory', `--inventory ${inventory}: no such file; expected an Ansible inventory (INI or YAML)`);
  const hosts = ansible('ansible', ['-i', inventory, limit || 'all', '--list-hosts']);
  const names = hosts.stdout.split('\n').slice(1).map((l) => l.trim()).filter(Boolean);
  if (!names.length) {
    const why = hosts.stderr.split('\n').map((l) => l.replace(/^\[WARNING\]: /, '').trim()).filter(Boolean).join('; ');
    throw optionError(limit ? 'limit' : 'inventory', limit ? `--limit "${limit}": selects no node of ${inventory}${why ? ` (ansible: ${why})` : ''}` : `--inventory ${inventory}: no nodes in it${why ? ` (ansible: ${why})` : ''}; expected an Ansible inventory (INI or YAML) listing them`);
  }
  const list = JSON.parse(ansible('ansible-inventory', ['-i', inventory, '--list']).stdout) as Record<string, { hosts?: string[]; children?: string[] }>;
  return names.map((name) => ({ name, groups: groupsOf(list, name) }));
}
