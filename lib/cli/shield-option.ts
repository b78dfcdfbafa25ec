// The `--shield` option of the commands that measure (run, compare, ab --run): declared once.
import type { Table } from './args';

export const SHIELD_OPTION = {
  shield: {
    kind: 'string', default: '',
    help: 'shield the measuring CPUs for the run: auto (the first CPU, where pinned workloads measure) or a CPU list; other tasks and IRQs are moved off them and put back after',
    defaultText: 'off',
  },
} satisfies Table;
