// isoprobe targets: every target and whether it works here, with the exact reason when not.
import { makeTarget, REGISTRY, TARGET_NAMES } from '../../targets';
import { settingsHelp } from '../../targets/variant';
import { parseCommand } from '../args';
import { JSON_ONLY, messageOf } from '../common';
import type { Reporter } from '../reporter';
import { sweepFirst } from '../sweep-first';

export async function cmdTargets(argv: string[], io: Reporter): Promise<number> {
  const p = parseCommand(argv, JSON_ONLY, 'targets', ['usage: isoprobe targets [--json]', '', 'Every target, and whether it works on this machine; the exact reason when it does not.', '', ...settingsHelp()], io.out);
  if (!p) return 0;
  const { values } = p;
  await sweepFirst(io);
  const rows: { name: string; kind: string; description: string; ok: boolean; reason?: string; version?: string; error?: string }[] = [];
  for (const name of TARGET_NAMES) {
    const { kind, description } = REGISTRY[name];
    try {
      rows.push({ name, kind, description, ...(await makeTarget(name).available()) });
    } catch (e) {
      // isoprobe's own step failed (an image build, a daemon start): not "unavailable", an error.
      rows.push({ name, kind, description, ok: false, error: messageOf(e) });
    }
  }
  if (values.json) io.out(JSON.stringify(rows, null, 2));
  else for (const r of rows) io.out(`${r.name.padEnd(16)} ${r.kind.padEnd(10)} ${r.ok ? `available   ${r.version ?? ''}` : r.error ? `ERROR       isoprobe failed checking it: ${r.error}` : `unavailable ${r.reason}`}`);
  return rows.some((r) => r.error) ? 1 : 0;
}
