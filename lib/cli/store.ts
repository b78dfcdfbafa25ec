// The results database of a command: --db, and the store opened with what it found left running.
import { defaultDbPath, Store } from '../store/db';
import type { Table } from './args';
import type { Reporter } from './reporter';

export const DB = { db: { kind: 'string', default: '', help: 'results database', defaultText: defaultDbPath() } } satisfies Table;

/** Opens the results database; says on stderr which runs it found left running by a killed isoprobe. */
export function openStore(path: string | undefined, io: Pick<Reporter, 'err'>): Store {
  const store = new Store(path || defaultDbPath());
  for (const r of store.interrupted)
    io.err(`isoprobe: run ${r.id} in ${store.path} was left running by an isoprobe${r.pid ? ` (pid ${r.pid})` : ''} that has ended (killed?): marked interrupted; its ${r.results} finished result${r.results === 1 ? ' is' : 's are'} kept`);
  return store;
}
