// The results history: one embedded SQLite file. Every result is its own transaction, so an
// interrupted comparison keeps what it measured (the run is marked incomplete; one whose process
// was killed, interrupted, by the next open) and nothing earlier is touched. The schema is
// versioned; a file that is not an isoprobe database is refused.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { homedir, hostname, cpus, release, totalmem } from 'node:os';
import { dirname, join } from 'node:path';

import { IsoprobeError } from '../errors';
import { selfIdentity } from '../owner';
import { runOwnerGone } from './run-owner';

// better-sqlite3 is loaded lazily: the probe and the targets work without it.
type Database = import('better-sqlite3').Database;

export const DB_SCHEMA = 3;

export function defaultDbPath(): string {
  return process.env.ISOPROBE_DB || join(process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'isoprobe', 'results.db');
}

/** interrupted: the process recording it ended without finishing it (killed); its results are kept. */
export type RunStatus = 'running' | 'complete' | 'incomplete' | 'failed' | 'interrupted';

export interface RunRow {
  id: number;
  started_at: string;
  finished_at: string | null;
  status: RunStatus;
  suite: string;
  reps: number;
  targets: string;
  machine: string;
  command: string;
  note: string | null;
  /** The recording process (schema 3): JSON of owner.ts ProcessIdentity; null before, and for imported runs. */
  owner?: string | null;
}

/** A run found running whose process had ended: now interrupted. */
export interface InterruptedRun {
  id: number;
  pid: number | undefined;
  results: number;
}

export interface ResultRow {
  id: number;
  run_id: number;
  workload: string;
  target: string;
  rep: number;
  kind: string;
  probe_sha256: string;
  emulated: number;
  host_page_cache: string | null;
  /** The whole result object as JSON (histograms included). */
  json: string;
}

// Workloads that failed on a target (schema 2): kept like results, so a run says what it could not measure.
const FAILURES_TABLE = `CREATE TABLE failures (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        workload TEXT NOT NULL,
        target TEXT NOT NULL,
        rep INTEGER NOT NULL,
        code TEXT NOT NULL,
        message TEXT NOT NULL
      );`;

// Schema 3: a run records its process (owner), and may be interrupted.
const runsTable = (name: string) => `CREATE TABLE ${name} (
        id INTEGER PRIMARY KEY,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        status TEXT NOT NULL CHECK (status IN ('running', 'complete', 'incomplete', 'failed', 'interrupted')),
        suite TEXT NOT NULL,
        reps INTEGER NOT NULL,
        targets TEXT NOT NULL,
        machine TEXT NOT NULL,
        command TEXT NOT NULL,
        note TEXT,
        owner TEXT
      );`;

// SQLite cannot change a CHECK: the runs table is copied into a new one. Run with foreign keys off,
// or dropping the old table would delete every result (ON DELETE CASCADE).
const RUNS_V3 = `${runsTable('runs_v3')}
      INSERT INTO runs_v3 (id, started_at, finished_at, status, suite, reps, targets, machine, command, note)
        SELECT id, started_at, finished_at, status, suite, reps, targets, machine, command, note FROM runs;
      DROP TABLE runs;
      ALTER TABLE runs_v3 RENAME TO runs;
      UPDATE isoprobe_meta SET value = '3' WHERE key = 'schema';`;

const CREATE_ALL = `
      CREATE TABLE isoprobe_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      INSERT INTO isoprobe_meta VALUES ('schema', '${DB_SCHEMA}');
      ${runsTable('runs')}
      CREATE TABLE results (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        workload TEXT NOT NULL,
        target TEXT NOT NULL,
        rep INTEGER NOT NULL,
        kind TEXT NOT NULL,
        probe_sha256 TEXT NOT NULL,
        emulated INTEGER NOT NULL,
        host_page_cache TEXT,
        json TEXT NOT NULL
      );
      CREATE INDEX results_run ON results(run_id, workload, target);
      ${FAILURES_TABLE}`;

/** The host a run measured on: name, kernel, CPU, memory, and a hash of /etc/machine-id (not the id itself). */
export function machineFingerprint(): Record<string, unknown> {
  let machineId = '';
  try {
    machineId = createHash('sha256').update(readFileSync('/etc/machine-id', 'utf8').trim()).digest('hex').slice(0, 16);
  } catch {
    /* no machine id on this system */
  }
  return { hostname: hostname(), kernel: release(), cpu: cpus()[0]?.model ?? 'unknown', cpus: cpus().length, mem_bytes: totalmem(), machine_id_sha256: machineId };
}

/** A run's identity across machines: what it measured on, when, and how (kept verbatim by import). */
export function runIdentity(r: { machine: string; started_at: string; command: string }): string {
  return createHash('sha256').update(`${r.machine}\n${r.started_at}\n${r.command}`).digest('hex').slice(0, 16);
}

export interface ImportedRun {
  run: Omit<RunRow, 'id'>;
  results: { workload: string; target: string; rep: number; result: Record<string, unknown> }[];
  failures: { workload: string; target: string; rep: number; code: string; message: string }[];
}

export class Store {
  readonly db: Database;
  /** Runs this open found running with their process gone, and marked interrupted. */
  readonly interrupted: InterruptedRun[];

  constructor(readonly path = defaultDbPath()) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const Sqlite = require('better-sqlite3') as typeof import('better-sqlite3');
    try {
      // Another run may be writing the same file: its short transactions are waited for, up to 30 s.
      this.db = new Sqlite(path, { fileMustExist: false, timeout: 30_000 });
      // Whose file is it? Decided by reading only: nothing is written to a file that is not ours.
      this.migrate();
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('foreign_keys = ON');
      this.interrupted = this.markInterrupted();
    } catch (e) {
      try {
        (this as { db?: Database }).db?.close();
      } catch {
        /* already unusable */
      }
      if (e instanceof IsoprobeError) throw e;
      throw new IsoprobeError('EDB', `--db ${path}: not a usable isoprobe database (${(e as Error).message})`, { option: 'db' });
    }
  }

  private tableNames(): Set<string> {
    const tables = this.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
    return new Set(tables.map((t) => t.name));
  }

  private schemaOf(names: Set<string>): number {
    if (names.size && !names.has('isoprobe_meta'))
      throw new IsoprobeError('EDB', `--db ${this.path}: this SQLite file is not an isoprobe database (it has tables ${[...names].join(', ')}); refusing to touch it`, { option: 'db' });
    if (!names.has('isoprobe_meta')) return 0;
    const v = this.db.prepare("SELECT value FROM isoprobe_meta WHERE key = 'schema'").get() as { value: string } | undefined;
    if (!v || Number(v.value) > DB_SCHEMA)
      throw new IsoprobeError('EDB', `--db ${this.path}: database schema ${v?.value ?? 'missing'} is newer than this isoprobe understands (${DB_SCHEMA})`, { option: 'db' });
    return Number(v.value);
  }

  /**
   * Decides by reading first (a foreign file is refused before anything is written); creating or
   * upgrading happens in an IMMEDIATE transaction that reads again, so two runs opening a new or
   * old file at once do not both create (or upgrade) it.
   */
  private migrate(): void {
    if (this.schemaOf(this.tableNames()) === DB_SCHEMA) return;
    this.db.pragma('foreign_keys = OFF');  // set ON by the constructor once done
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const schema = this.schemaOf(this.tableNames());
      if (schema === 1) this.db.exec(`${FAILURES_TABLE} UPDATE isoprobe_meta SET value = '2' WHERE key = 'schema';`);
      if (schema === 1 || schema === 2) this.db.exec(RUNS_V3);
      if (schema === 0) this.db.exec(CREATE_ALL);
      this.db.exec('COMMIT');
    } catch (e) {
      this.db.exec('ROLLBACK');
      throw e;
    }
  }

  /**
   * Marks interrupted every run left running by a process of this machine that has ended (a
   * SIGKILL, a crash, a reboot since); a run whose process lives, or that this process cannot judge
   * (another machine's, an imported one), stays as it is. Its results are kept as they are. A store
   * this process may not write is left as it is too.
   */
  markInterrupted(proc = '/proc'): InterruptedRun[] {
    const here = machineFingerprint();
    const found: InterruptedRun[] = [];
    const set = this.db.prepare("UPDATE runs SET status = 'interrupted', note = ? WHERE id = ? AND status = 'running'");
    const count = this.db.prepare('SELECT count(*) AS n FROM results WHERE run_id = ?');
    for (const r of this.db.prepare("SELECT * FROM runs WHERE status = 'running'").all() as RunRow[]) {
      if (runOwnerGone({ ...r, owner: r.owner ?? null }, here, proc) !== true) continue;
      const pid = r.owner ? (JSON.parse(r.owner) as { pid?: number }).pid : undefined;
      const note = `interrupted: its isoprobe${pid ? ` (pid ${pid})` : ''} ended without finishing it; found at ${new Date().toISOString()} by pid ${process.pid}`;
      try {
        if (set.run(r.note ? `${r.note}; ${note}` : note, r.id).changes !== 1) continue;  // another open marked it first
      } catch {
        return found;  // a read-only store
      }
      found.push({ id: r.id, pid, results: (count.get(r.id) as { n: number }).n });
    }
    return found;
  }

  /** `system`: what the machine said about its own precision as the run began (isoprobe system check), kept with its identity. */
  startRun(r: { suite: string; reps: number; targets: string[]; command: string; note?: string; system?: unknown }): number {
    const owner = selfIdentity();
    const machine = { ...machineFingerprint(), ...(r.system ? { system_check: r.system } : {}) };
    const info = this.db.prepare('INSERT INTO runs (started_at, status, suite, reps, targets, machine, command, note, owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(new Date().toISOString(), 'running', r.suite, r.reps, r.targets.join(','), JSON.stringify(machine), r.command, r.note ?? null, owner ? JSON.stringify(owner) : null);
    return Number(info.lastInsertRowid);
  }

  addResult(runId: number, workload: string, target: string, rep: number, result: Record<string, unknown>): void {
    const t = result.target as { probe_sha256?: string; emulated?: boolean } | undefined;
    const hpc = result.host_page_cache as { mode?: string } | undefined;
    this.db.prepare('INSERT INTO results (run_id, workload, target, rep, kind, probe_sha256, emulated, host_page_cache, json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(runId, workload, target, rep, String(result.kind), (result.probe as { sha256?: string })?.sha256 || t?.probe_sha256 || '', t?.emulated ? 1 : 0, hpc?.mode ?? null, JSON.stringify(result));
  }

  addFailure(runId: number, workload: string, target: string, rep: number, code: string, message: string): void {
    this.db.prepare('INSERT INTO failures (run_id, workload, target, rep, code, message) VALUES (?, ?, ?, ?, ?, ?)').run(runId, workload, target, rep, code, message);
  }

  failures(runId: number): { workload: string; target: string; rep: number; code: string; message: string }[] {
    return this.db.prepare('SELECT workload, target, rep, code, message FROM failures WHERE run_id = ? ORDER BY id').all(runId) as never;
  }

  finishRun(runId: number, status: RunStatus, note?: string): void {
    this.db.prepare('UPDATE runs SET finished_at = ?, status = ?, note = COALESCE(?, note) WHERE id = ?').run(new Date().toISOString(), status, note ?? null, runId);
  }

  runs(limit = 50): RunRow[] {
    return this.db.prepare('SELECT * FROM runs ORDER BY id DESC LIMIT ?').all(limit) as RunRow[];
  }

  run(id: number): RunRow {
    const r = this.db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined;
    if (!r) throw new IsoprobeError('EINVALOPT', `run ${id}: no such run in ${this.path} (see isoprobe history)`, { option: 'run' });
    return r;
  }

  results(runId: number): ResultRow[] {
    return this.db.prepare('SELECT * FROM results WHERE run_id = ? ORDER BY workload, target, rep').all(runId) as ResultRow[];
  }

  /** Adds a run from another machine as it was (machine, times, command); refuses one already here. */
  importRun(r: ImportedRun, source: string): number {
    const id = runIdentity(r.run);
    // The identity is a hash of these three: the same run is the row with all three equal.
    const clash = this.db.prepare('SELECT id FROM runs WHERE started_at = ? AND command = ? AND machine = ?').get(r.run.started_at, r.run.command, r.run.machine) as { id: number } | undefined;
    if (clash) throw new IsoprobeError('EEXIST', `${source}: run ${id} (${r.run.started_at} on ${String((JSON.parse(r.run.machine) as { hostname?: string }).hostname ?? '?')}) is already in ${this.path} as run ${clash.id}`);
    const tx = this.db.transaction(() => {
      const info = this.db.prepare('INSERT INTO runs (started_at, finished_at, status, suite, reps, targets, machine, command, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .run(r.run.started_at, r.run.finished_at, r.run.status, r.run.suite, r.run.reps, r.run.targets, r.run.machine, r.run.command, `imported from ${source}${r.run.note ? `; ${r.run.note}` : ''}`);
      const runId = Number(info.lastInsertRowid);
      for (const x of r.results) this.addResult(runId, x.workload, x.target, x.rep, x.result);
      for (const f of r.failures) this.addFailure(runId, f.workload, f.target, f.rep, f.code, f.message);
      return runId;
    });
    return tx();
  }

  close(): void {
    this.db.close();
  }
}
