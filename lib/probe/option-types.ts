// The block options' types and the shape of an option's definition: a leaf of lib/probe (no
// imports), so the result types, the core's table reader and the options module do not import
// each other in a circle.
export const ENGINES = ['psync', 'pvsync2', 'io_uring', 'null'] as const;
export const PATTERNS = ['read', 'write', 'randread', 'randwrite', 'randrw'] as const;
export const CLOCKS = ['monotonic', 'tsc', 'cntvct', 'auto'] as const;
export const LOCKS = ['exclusive', 'none'] as const;
export type Engine = (typeof ENGINES)[number];
export type Pattern = (typeof PATTERNS)[number];
export type ClockSource = (typeof CLOCKS)[number];

/** Effective options of a block workload; sizes in bytes, times in ns. Echoed in every result. */
export interface BlockOptions {
  file: string;
  size: number;
  offset: number;
  engine: Engine;
  pattern: Pattern;
  rwmix_read: number;
  bs: number;
  qd: number;
  batch: number;
  direct: boolean;
  dsync: boolean;
  fsync: number;
  fdatasync: number;
  ops: number;
  duration: number;
  warmup: number;
  seed: number;
  verify: boolean;
  hipri: boolean;
  sqpoll: boolean;
  iopoll: boolean;
  register_files: boolean;
  fixed_bufs: boolean;
  invalidate: boolean;
  /** Readahead hint per job's descriptor (fio's fadvise_hint); auto goes by the pattern. */
  fadvise: 'auto' | 'random' | 'sequential' | 'none';
  destructive: boolean;
  force: boolean;
  clock: ClockSource;
  lock: (typeof LOCKS)[number];
  cpu: number;
  /** Parallel jobs (fio's numjobs); --ops counts per job. */
  jobs: number;
  /** Each job its own slice of the region. */
  split: boolean;
  /** Pin job i to the i-th CPU of this list ("0,2-3"), round robin; "" none. */
  cpus: string;
  /** Each job's first N measured operations one by one in the result's op_log (0: none). */
  op_log: number;
}

/** What a caller may pass: only `file` is required; sizes and times may be strings ("4k", "5s"). */
export type BlockInput = { file: string } & {
  [K in Exclude<keyof BlockOptions, 'file'>]?: BlockOptions[K] extends number ? number | string : BlockOptions[K];
};

type Kind = 'size' | 'duration' | 'uint' | 'int' | 'bool' | 'string' | 'enum';

export interface OptionDef<T> {
  kind: Kind;
  default: T;
  help: string;
  choices?: readonly string[];
  min?: number;
  max?: number;
  /** What --help shows as the default when `default` is a placeholder ('' = chosen at run time). */
  defaultText?: string;
  /**
   * Part of what the workload is (the core's table says so): results that differ in it are never
   * one cell of a comparison. False for how and where a run happens (file, duration, seed, clock).
   */
  identity?: boolean;
  /** Defaults that depend on the result kind, in the flag's form ({ udp_stream: '1472' }): the core's by_kind. */
  byKind?: Readonly<Record<string, string>>;
}
