// A long command's progress on stderr: the bar (or one line per measurement) and the live table.


/**
 * Progress of a comparison on stderr: a bar on a terminal; without one (CI logs) one line per
 * finished measurement, so a long run is never silent.
 */
export function progressReporter(tty: boolean, write: (s: string) => void) {
  const t0 = Date.now();
  return (done: number, total: number, etaMs: number, what: string) => {
    const eta = Number.isFinite(etaMs) ? ` ~${Math.ceil(etaMs / 1000)} s left` : '';
    // `what` names what starts now; an empty one reports a finished measurement.
    if (!tty) {
      if (what && done < total) write(`measuring ${what}\n`);
      else if (!what) write(`[${done}/${total}] ${Math.round((Date.now() - t0) / 1000)} s${done < total ? eta : ''}\n`);
      return;
    }
    if (!what) return;
    const width = 30;
    const filled = Math.round((done / total) * width);
    write(`\r\x1b[K[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}${eta}  ${what}`);
    if (done === total) write('\r\x1b[K');
  };
}

/**
 * The table on a terminal while the run goes on: drawn after the first repetition and redrawn in
 * place after each one (the progress bar stays below it); erased before the final table.
 */
export function liveTable(stream: { write(s: string): boolean; columns?: number }) {
  let rows = 0;
  const erase = () => {
    if (rows) stream.write(`\r\x1b[K\x1b[${rows}A\x1b[J`);
    rows = 0;
  };
  return {
    draw(text: string): void {
      erase();
      stream.write(`${text}\n`);
      const cols = stream.columns || 80;
      rows = text.split('\n').reduce((n, l) => n + Math.max(1, Math.ceil([...l].length / cols)), 0);
    },
    erase,
  };
}
