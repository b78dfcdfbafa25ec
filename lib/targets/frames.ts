// Records the guest's /init writes on the serial console:
//   "\nISOPROBE <KIND> <length> <crc32>\n<payload>\nISOPROBE END\n"
// Kernel messages may come between records; a record whose length or CRC-32 does not match is
// reported as damaged, never parsed.

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export interface Frame {
  kind: string;
  payload: string;
}

const HEAD = /ISOPROBE ([A-Z]+) (\d+) (\d+)\r?\n/g;

/** Incremental parser: feed serial bytes, get complete frames (and damaged ones as errors). */
export class FrameReader {
  private buf = Buffer.alloc(0);
  private scanFrom = 0;
  /** End of the last frame taken: scanning never goes back before it. */
  private consumed = 0;
  readonly damaged: string[] = [];

  push(chunk: Buffer): Frame[] {
    this.buf = Buffer.concat([this.buf, chunk]);
    const out: Frame[] = [];
    for (;;) {
      const text = this.buf.toString('latin1');
      HEAD.lastIndex = this.scanFrom;
      const m = HEAD.exec(text);
      if (!m) {
        // A header may be arriving in pieces: look at the tail again next time, but never at
        // bytes that belong to a frame already taken.
        this.scanFrom = Math.max(this.consumed, text.length - 64);
        break;
      }
      const len = Number(m[2]);
      const start = m.index + m[0].length;
      if (this.buf.length < start + len) {
        this.scanFrom = m.index;
        break;
      }
      const payload = this.buf.subarray(start, start + len);
      this.scanFrom = this.consumed = start + len;
      if (crc32(payload) !== Number(m[3]) >>> 0) {
        this.damaged.push(`${m[1]} frame of ${len} bytes failed its CRC-32 check`);
        continue;
      }
      out.push({ kind: m[1]!, payload: payload.toString('utf8') });
    }
    return out;
  }
}

/** Frames a payload the way the guest does (for tests and fuzzing). */
export function frame(kind: string, payload: string): Buffer {
  const p = Buffer.from(payload);
  return Buffer.concat([Buffer.from(`\nISOPROBE ${kind} ${p.length} ${crc32(p)}\n`), p, Buffer.from('\nISOPROBE END\n')]);
}
