// A minimal, deterministic ustar writer (mtime 0, uid/gid 0): the same input gives the same bytes,
// so image digests are reproducible.

export interface TarEntry {
  name: string;
  type: 'file' | 'dir';
  mode: number;
  data?: Buffer;
}

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

function header(e: TarEntry): Buffer {
  const h = Buffer.alloc(512, 0);
  let name = e.type === 'dir' && !e.name.endsWith('/') ? `${e.name}/` : e.name;
  let prefix = '';
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf('/', 154);
    prefix = name.slice(0, cut);
    name = name.slice(cut + 1);
    if (Buffer.byteLength(name) > 100 || Buffer.byteLength(prefix) > 155) throw new Error(`tar: path too long: ${e.name}`);
  }
  h.write(name, 0, 100, 'utf8');
  h.write(octal(e.mode, 8), 100, 8, 'ascii');
  h.write(octal(0, 8), 108, 8, 'ascii');
  h.write(octal(0, 8), 116, 8, 'ascii');
  h.write(octal(e.type === 'file' ? e.data!.length : 0, 12), 124, 12, 'ascii');
  h.write(octal(0, 12), 136, 12, 'ascii');
  h.write('        ', 148, 8, 'ascii');
  h.write(e.type === 'file' ? '0' : '5', 156, 1, 'ascii');
  h.write('ustar\u000000', 257, 8, 'binary');
  h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(sum, 7) + ' ', 148, 8, 'ascii');
  return h;
}

export function tar(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    parts.push(header(e));
    if (e.type === 'file') {
      parts.push(e.data!);
      const pad = (512 - (e.data!.length % 512)) % 512;
      if (pad) parts.push(Buffer.alloc(pad, 0));
    }
  }
  parts.push(Buffer.alloc(1024, 0));
  return Buffer.concat(parts);
}

/** Reads a ustar archive back (names, types, data): for tests and for checking images. */
export function untar(buf: Buffer): TarEntry[] {
  const out: TarEntry[] = [];
  let off = 0;
  while (off + 512 <= buf.length) {
    const h = buf.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    const str = (a: number, n: number) => h.subarray(a, a + n).toString('utf8').replace(/\0.*$/s, '');
    const size = parseInt(str(124, 12).trim() || '0', 8);
    const prefix = str(345, 155);
    const name = (prefix ? `${prefix}/` : '') + str(0, 100);
    const type = str(156, 1) === '5' ? 'dir' : 'file';
    const data = buf.subarray(off + 512, off + 512 + size);
    out.push({ name, type, mode: parseInt(str(100, 8).trim() || '0', 8), data: Buffer.from(data) });
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}
