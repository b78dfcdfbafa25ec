// fio job files in: the [global] and job sections of a fio job file read into isoprobe block
// workloads (lib/probe/options.ts), each key fio documents mapped to its isoprobe option; any
// other key is refused with its name, section and line, never ignored.
import { readFileSync } from 'node:fs';

import { loadSuite, type Suite } from '../compare/suites';
import { IsoprobeError } from '../errors';
import { normalizeBlockOptions } from '../probe/options';

export interface FioJobSection {
  name: string;
  line: number;
  /** isoprobe block options (no file: the data file is the target's). */
  options: Record<string, unknown>;
  /** fio's filename/directory, when the job names one (isoprobe's data file is --data-file). */
  filename?: string;
  stonewall: boolean;
}

export interface FioJobFile {
  jobs: FioJobSection[];
  /** Where isoprobe's reading differs from fio's: printed, never silent. */
  notes: string[];
}

type Setter = (v: string, o: Record<string, unknown>, at: string) => void;

const bool = (v: string, at: string, key: string): boolean => {
  if (v === '' || v === '1') return true;
  if (v === '0') return false;
  throw new IsoprobeError('EINVALOPT', `${at}: ${key}=${v}: expected 0 or 1`, { option: 'fio' });
};

/** fio's times: a bare number is seconds; else a unit isoprobe reads (us, ms, s, m, h). */
const time = (v: string, at: string, key: string): string => {
  if (/^\d+$/.test(v)) return `${v}s`;
  if (/^\d+(us|ms|s|m|h)$/.test(v)) return v;
  throw new IsoprobeError('EINVALOPT', `${at}: ${key}=${v}: expected seconds, or a number with us, ms, s, m or h`, { option: 'fio' });
};

const PATTERNS = ['read', 'write', 'randread', 'randwrite', 'randrw'];
const rw: Setter = (v, o, at) => {
  if (!PATTERNS.includes(v)) throw new IsoprobeError('EINVALOPT', `${at}: rw=${v}: isoprobe runs ${PATTERNS.join(', ')} (no sequential mix, trims or :N offsets)`, { option: 'fio' });
  o.pattern = v;
};

/** Every key isoprobe runs, and how it sets the block options. */
const KEYS: Record<string, Setter> = {
  rw, readwrite: rw,
  bs: (v, o, at) => {
    if (v.includes(',') || v.includes(':')) throw new IsoprobeError('EINVALOPT', `${at}: bs=${v}: isoprobe runs one block size for reads and writes`, { option: 'fio' });
    o.bs = v;
  },
  iodepth: (v, o) => { o.qd = v; },
  ioengine: (v, o, at) => {
    if (v === 'libaio') { o.engine = 'io_uring'; o.__note = `${at}: ioengine=libaio runs as io_uring (isoprobe's queued engine; libaio is not in its probe)`; return; }
    if (!['psync', 'pvsync2', 'io_uring'].includes(v)) throw new IsoprobeError('EINVALOPT', `${at}: ioengine=${v}: isoprobe runs psync, pvsync2, io_uring (libaio as io_uring)`, { option: 'fio' });
    o.engine = v;
  },
  direct: (v, o, at) => { o.direct = bool(v, at, 'direct'); },
  numjobs: (v, o) => { o.jobs = v; },
  size: (v, o) => { o.size = v; },
  runtime: (v, o, at) => { o.duration = time(v, at, 'runtime'); },
  ramp_time: (v, o, at) => { o.warmup = time(v, at, 'ramp_time'); },
  time_based: (v, o, at) => { o.__time_based = bool(v, at, 'time_based'); },
  rwmixread: (v, o) => { o.rwmix_read = v; },
  fsync: (v, o) => { o.fsync = v; },
  fdatasync: (v, o) => { o.fdatasync = v; },
  filename: (v, o) => { o.__filename = v; },
  directory: (v, o) => { o.__filename = v; },
  cpus_allowed: (v, o) => { o.cpus = v; },
  stonewall: (v, o, at) => { o.__stonewall = bool(v, at, 'stonewall'); },
};

/** fio's numbers may be written as text; isoprobe's table reads whole numbers from text too. */
function split(raw: string): [string, string] {
  const eq = raw.indexOf('=');
  return eq < 0 ? [raw.trim(), ''] : [raw.slice(0, eq).trim(), raw.slice(eq + 1).trim()];
}

/** Reads a job file's text. `file` names it in every error (file:line [section]: ...). */
export function parseFioJobFile(text: string, file: string): FioJobFile {
  const notes: string[] = [];
  let global: Record<string, unknown> = {};
  // Where each option was set (file:line [section]), so an error in its value names its own line.
  let globalWhere: Record<string, string> = {};
  const jobs: FioJobSection[] = [];
  let cur: { name: string; line: number; o: Record<string, unknown>; where: Record<string, string> } | undefined;
  const close = () => {
    if (!cur) return;
    if (cur.name === 'global') [global, globalWhere] = [cur.o, cur.where];
    else if (jobs.some((j) => j.name === cur!.name)) throw new IsoprobeError('EINVALOPT', `${file}:${cur.line} [${cur.name}]: a second job of this name (isoprobe stores results by job name)`, { option: 'fio' });
    else jobs.push(finish(cur.name, cur.line, { ...global, ...cur.o }, { ...globalWhere, ...cur.where }, file, jobs.length, notes));
  };
  text.split(/\r?\n/).forEach((rawLine, i) => {
    const line = rawLine.trim();
    if (line === '' || line.startsWith(';') || line.startsWith('#')) return;
    const sec = /^\[([^\]]+)\]$/.exec(line);
    if (sec) {
      close();
      const isGlobal = sec[1]!.trim() === 'global';
      cur = { name: sec[1]!.trim(), line: i + 1, o: isGlobal ? { ...global } : {}, where: isGlobal ? { ...globalWhere } : {} };
      return;
    }
    const [key, value] = split(line);
    const at = `${file}:${i + 1} [${cur?.name ?? ''}]`;
    if (!cur) throw new IsoprobeError('EINVALOPT', `${file}:${i + 1}: "${key}" before any [section]`, { option: 'fio' });
    const set = Object.hasOwn(KEYS, key) ? KEYS[key] : undefined;
    if (!set) throw new IsoprobeError('EINVALOPT', `${at}: unknown key "${key}" (isoprobe runs: ${Object.keys(KEYS).join(', ')})`, { option: 'fio' });
    const before = { ...cur.o };
    set(value, cur.o, at);
    for (const k of Object.keys(cur.o)) if (cur.o[k] !== before[k]) cur.where[k] = at;
    if (typeof cur.o.__note === 'string') { notes.push(cur.o.__note); delete cur.o.__note; }
  });
  close();
  if (!jobs.length) throw new IsoprobeError('EINVALOPT', `${file}: no job sections (only [global], or nothing)`, { option: 'fio' });
  return { jobs, notes };
}

/** A job's options checked as isoprobe's own block options are, errors naming the job's line. */
function finish(name: string, line: number, o: Record<string, unknown>, where: Record<string, string>, file: string, index: number, notes: string[]): FioJobSection {
  const { __filename: filename, __stonewall: stonewall, __time_based: timeBased, ...options } = o;
  const at = `${file}:${line} [${name}]`;
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(name)) throw new IsoprobeError('EINVALOPT', `${at}: job name "${name}": expected letters, digits, . _ - (1-64), the name its results are stored under`, { option: 'fio' });
  if (!timeBased && options.duration !== undefined) notes.push(`${at}: no time_based: isoprobe runs for the runtime regardless of size (it is always time-based)`);
  if (index > 0 && !stonewall) notes.push(`${at}: no stonewall: fio would run it alongside the jobs before it; isoprobe runs each job on its own, one after another`);
  if (options.cpus !== undefined) notes.push(`${at}: cpus_allowed=${String(options.cpus)}: job i is pinned to the i-th CPU listed (fio's cpus_allowed_policy=split)`);
  try {
    normalizeBlockOptions({ ...options, file: '/fio-job-check' });
  } catch (e) {
    const option = (e as IsoprobeError).option;
    const w = (option && where[option]) || at;
    throw new IsoprobeError('EINVALOPT', `${w}: ${(e as Error).message}${w.endsWith(`[${name}]`) ? '' : ` (job [${name}])`}`, { option: 'fio' });
  }
  return { name, line, options, stonewall: stonewall === true, ...(typeof filename === 'string' ? { filename } : {}) };
}

/** A job file as a suite of block workloads, one per job section (compare --suite JOB.fio). */
export function fioSuite(path: string): { suite: Suite; notes: string[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new IsoprobeError('EINVALOPT', `--suite "${path}": expected a readable fio job file (${(e as Error).message})`, { option: 'suite' });
  }
  const f = parseFioJobFile(text, path);
  const notes = [...f.notes];
  for (const j of f.jobs) if (j.filename) notes.push(`${path}:${j.line} [${j.name}]: filename/directory ${j.filename}: every target measures its own data file (--data-file), not this one`);
  return { suite: { name: path, workloads: f.jobs.map((j) => ({ name: j.name, workload: { kind: 'block', options: j.options as never } })) }, notes };
}

/** A suite by name or file, a fio job file (.fio) among them, its notes told to `note`: what compare, ab --run and fleet run take. */
export function suiteOrFio(spec: string, note: (line: string) => void): Suite {
  if (!spec.endsWith('.fio')) return loadSuite(spec);
  const { suite, notes } = fioSuite(spec);
  for (const n of notes) note(n);
  return suite;
}
