// newc cpio for initramfs images: regular files, directories and character devices, deterministic
// (mtime 0, uid/gid 0, inode numbers in order).

export interface CpioEntry {
  name: string;
  type: 'file' | 'dir' | 'chardev';
  mode: number;
  data?: Buffer;
  rdev?: [number, number];
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

export function cpio(entries: CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  const write = (name: string, mode: number, data: Buffer, rdev: [number, number] = [0, 0]) => {
    const nameBuf = Buffer.from(name + '\0');
    const header =
      '070701' + hex8(ino++) + hex8(mode) + hex8(0) + hex8(0) + hex8(1) + hex8(0) + hex8(data.length) +
      hex8(0) + hex8(0) + hex8(rdev[0]) + hex8(rdev[1]) + hex8(nameBuf.length) + hex8(0);
    parts.push(Buffer.from(header, 'ascii'), nameBuf, Buffer.alloc(pad4(110 + nameBuf.length)));
    parts.push(data, Buffer.alloc(pad4(data.length)));
  };
  for (const e of entries) {
    const type = e.type === 'file' ? 0o100000 : e.type === 'dir' ? 0o040000 : 0o020000;
    write(e.name, type | e.mode, e.type === 'file' ? e.data! : Buffer.alloc(0), e.rdev);
  }
  write('TRAILER!!!', 0, Buffer.alloc(0));
  return Buffer.concat(parts);
}

/** Parses a newc archive (for tests). */
export function uncpio(buf: Buffer): CpioEntry[] {
  const out: CpioEntry[] = [];
  let off = 0;
  while (off + 110 <= buf.length) {
    const h = buf.subarray(off, off + 110).toString('ascii');
    if (!h.startsWith('070701')) throw new Error(`cpio: bad magic at ${off}`);
    const f = (i: number) => parseInt(h.slice(6 + i * 8, 14 + i * 8), 16);
    const mode = f(1);
    const size = f(6);
    const namesize = f(11);
    const name = buf.subarray(off + 110, off + 110 + namesize - 1).toString('utf8');
    off += 110 + namesize + pad4(110 + namesize);
    if (name === 'TRAILER!!!') break;
    const data = buf.subarray(off, off + size);
    off += size + pad4(size);
    const fmt = mode & 0o170000;
    out.push({ name, type: fmt === 0o100000 ? 'file' : fmt === 0o040000 ? 'dir' : 'chardev', mode: mode & 0o7777, data: Buffer.from(data), rdev: [f(9), f(10)] });
  }
  return out;
}
