// Runs from other machines into this store: an export file (`isoprobe export --format json RUN`)
// or another isoprobe database, read from a private copy so the original stays byte for byte as
// it was. Each run keeps its host identity (name, kernel, CPU, machine-id hash) and its probes'
// SHA-256; a run already here (the same identity) is refused.
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { IsoprobeError } from '../errors';
import { OWNER } from '../owner';
import { DB_SCHEMA, type ImportedRun, type RunRow, type Store } from './db';

const SQLITE_MAGIC = 'SQLite format 3\0';

function fromExport(path: string, text: string): ImportedRun[] {
  let data: { run?: Record<string, unknown> & { machine?: unknown }; results?: unknown; failures?: unknown };
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new IsoprobeError('EINVALOPT', `${path}: not an isoprobe export or database (not JSON: ${(e as Error).message}); nothing imported`, { option: 'file' });
  }
  if (!data || typeof data !== 'object' || !data.run || !Array.isArray(data.results) || typeof data.run.started_at !== 'string' || typeof data.run.command !== 'string')
    throw new IsoprobeError('EINVALOPT', `${path}: not an isoprobe export (expected "run" and "results" as written by isoprobe export --format json); nothing imported`, { option: 'file' });
  const r = data.run as unknown as RunRow & { machine: unknown };
  return [{
    run: { started_at: r.started_at, finished_at: r.finished_at ?? null, status: r.status, suite: r.suite, reps: r.reps, targets: r.targets, command: r.command, note: r.note ?? null,
      machine: typeof r.machine === 'string' ? r.machine : JSON.stringify(r.machine) },
    results: data.results as ImportedRun['results'],
    failures: Array.isArray(data.failures) ? (data.failures as ImportedRun['failures']) : [],
  }];
}

function fromDatabase(path: string): ImportedRun[] {
  const dir = mkdtempSync(join(tmpdir(), `isoprobe-import-${OWNER}-`));
  try {
    const copy = join(dir, 'copy.db');
    copyFileSync(path, copy);
    for (const ext of ['-wal', '-shm']) {
      try {
        copyFileSync(`${path}${ext}`, `${copy}${ext}`);
      } catch {
        /* none: the database is complete in its main file */
      }
    }
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const Sqlite = require('better-sqlite3') as typeof import('better-sqlite3');
    let db: import('better-sqlite3').Database;
    try {
      db = new Sqlite(copy, { readonly: true, fileMustExist: true });
      db.prepare("SELECT name FROM sqlite_master").all();
    } catch (e) {
      throw new IsoprobeError('EINVALOPT', `${path}: a corrupt SQLite file (${(e as Error).message}); nothing imported`, { option: 'file' });
    }
    try {
      const tables = new Set((db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((t) => t.name));
      if (!tables.has('isoprobe_meta')) throw new IsoprobeError('EINVALOPT', `${path}: a SQLite file that is not an isoprobe database (tables ${[...tables].join(', ') || 'none'}); nothing imported`, { option: 'file' });
      const schema = Number((db.prepare("SELECT value FROM isoprobe_meta WHERE key = 'schema'").get() as { value: string } | undefined)?.value);
      if (!(schema >= 1 && schema <= DB_SCHEMA)) throw new IsoprobeError('EINVALOPT', `${path}: isoprobe database schema ${schema || 'missing'}, this isoprobe knows 1 to ${DB_SCHEMA}; nothing imported`, { option: 'file' });
      const runs = db.prepare('SELECT * FROM runs ORDER BY id').all() as RunRow[];
      const results = db.prepare('SELECT workload, target, rep, json FROM results WHERE run_id = ? ORDER BY id');
      const failures = tables.has('failures') ? db.prepare('SELECT workload, target, rep, code, message FROM failures WHERE run_id = ? ORDER BY id') : undefined;
      return runs.map((r) => ({
        run: { started_at: r.started_at, finished_at: r.finished_at, status: r.status, suite: r.suite, reps: r.reps, targets: r.targets, machine: r.machine, command: r.command, note: r.note },
        results: (results.all(r.id) as { workload: string; target: string; rep: number; json: string }[])
          .map((x) => ({ workload: x.workload, target: x.target, rep: x.rep, result: JSON.parse(x.json) })),
        failures: failures ? (failures.all(r.id) as ImportedRun['failures']) : [],
      }));
    } finally {
      db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Reads the runs of a file without changing it. */
export function readRuns(path: string): ImportedRun[] {
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (e) {
    throw new IsoprobeError('EINVALOPT', `${path}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); expected an export file or an isoprobe database`, { option: 'file' });
  }
  return data.subarray(0, 16).toString('latin1') === SQLITE_MAGIC ? fromDatabase(path) : fromExport(path, data.toString('utf8'));
}

/**
 * Imports every run of the file; all or nothing per run, and a run already here is refused.
 * `machine`: fields added to each run's host identity (a fleet's node name and groups).
 */
export function importRuns(store: Store, path: string, machine?: Record<string, unknown>): { imported: number[]; refused: string[] } {
  const out = { imported: [] as number[], refused: [] as string[] };
  for (const r of readRuns(path)) {
    if (machine) r.run.machine = JSON.stringify({ ...(JSON.parse(r.run.machine) as Record<string, unknown>), ...machine });
    try {
      out.imported.push(store.importRun(r, path));
    } catch (e) {
      if ((e as IsoprobeError).code !== 'EEXIST') throw e;
      out.refused.push((e as Error).message);
    }
  }
  return out;
}
