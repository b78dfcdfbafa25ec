// A comparison's warnings after its results: one line per kind, each within the table's width, the
// details in full with --verbose and in the HTML report (a failure's reason, every varied cell).
import type { Note, NoteKind } from '../compare/compare';

const PREFIX = 'warning: ';

/** How each kind's line reads when several cells share it: a head, the cells, a tail. */
const GROUPED: Partial<Record<NoteKind, (n: number) => [head: string, tail: string]>> = {
  failed: (n) => [`${many(n, 'cell')} failed:`, 'reasons: --verbose, the report'],
  varied: (n) => [`repetitions vary over 10 % in ${many(n, 'workload')}:`, 'use more --reps'],
  placement: (n) => [`${many(n, 'cell')} ran with mixed CPU placements:`, 'pin them (--cpus)'],
  emulated: (n) => [`${many(n, 'target')} emulated (QEMU TCG):`, 'its behaviour, not its cost on hardware'],
};

const many = (n: number, what: string) => (n === 1 ? `1 ${what}` : `${n} ${what}s`);

/** The order the kinds are said in: what failed first, then what makes the numbers less sure. */
const ORDER: NoteKind[] = ['failed', 'varied', 'placement', 'advice', 'power', 'reps', 'emulated', 'waited'];

/** A line cut at a word to fit `width`, with an ellipsis where it was cut. */
export function fit(line: string, width: number): string {
  if (line.length <= width) return line;
  const cut = line.lastIndexOf(' ', width - 2);
  return `${line.slice(0, cut > width / 2 ? cut : width - 2)} …`;
}

/** Cells listed until the line would pass `room` columns, then how many more. */
function cellList(cells: string[], room: number): string {
  let out = '';
  for (let i = 0; i < cells.length; i++) {
    const more = cells.length - i - 1;
    const next = `${out ? `${out}; ` : ''}${cells[i]}`;
    const tail = more ? ` and ${more} more` : '';
    if (next.length + tail.length > room) return out ? `${out} and ${cells.length - i} more` : 'listed with --verbose';
    out = next;
  }
  return out;
}

/** One line per kind of warning, each at most `width` columns. */
export function groupedWarnings(notes: Note[], width: number): string[] {
  const byKind = new Map<NoteKind, Note[]>();
  for (const n of notes) byKind.set(n.kind, [...(byKind.get(n.kind) ?? []), n]);
  // The advice on varied cells is said in the varied line itself.
  if (byKind.has('varied')) byKind.delete('advice');
  const out: string[] = [];
  for (const kind of ORDER) {
    const group = byKind.get(kind);
    if (!group) continue;
    const grouped = GROUPED[kind];
    if (!grouped) {
      out.push(...group.map((n) => fit(PREFIX + (n.brief ?? n.text), width)));
      continue;
    }
    const [head, tail] = grouped(group.length);
    const room = width - PREFIX.length - head.length - tail.length - 4;
    out.push(fit(`${PREFIX}${head} ${cellList(group.map((n) => n.cell ?? n.text), room)}; ${tail}`, width));
  }
  return out;
}
