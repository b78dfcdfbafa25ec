// Where a command's words go: its result on `out`, notes and warnings on `err`, a progress bar on
// `progress`. Commands are given one and never write to process.stdout/stderr themselves, so a
// test can run a command with a capturing reporter and read everything it said.

export interface Reporter {
  /** One line of the command's result (stdout). */
  out(line: string): void;
  /** One line for the person at the terminal: a note, a warning, an error (stderr). */
  err(line: string): void;
  /** Text drawn as it is (no newline added): progress bars redrawn with \r (stderr). */
  progress(text: string): void;
  /** The progress stream is a terminal: draw in place; otherwise one line per step (CI logs). */
  readonly tty: boolean;
  /** The result stream, when it is a terminal a table can be redrawn on (compare's live table). */
  readonly liveOut?: { write(s: string): boolean; columns?: number } | undefined;
}

/** The process's own streams. */
export function processReporter(): Reporter {
  return {
    out: (s) => process.stdout.write(`${s}\n`),
    err: (s) => process.stderr.write(`${s}\n`),
    progress: (s) => process.stderr.write(s),
    tty: process.stderr.isTTY === true,
    liveOut: process.stdout.isTTY === true ? process.stdout : undefined,
  };
}

/** A reporter keeping every line, for tests and for callers that print later. */
export function capturingReporter(): Reporter & { lines: { out: string[]; err: string[]; progress: string[] } } {
  const lines: { out: string[]; err: string[]; progress: string[] } = { out: [], err: [], progress: [] };
  return { lines, out: (s) => lines.out.push(s), err: (s) => lines.err.push(s), progress: (s) => lines.progress.push(s), tty: false };
}
