#!/usr/bin/env python3
# A FUSE file system of one file, "data", whose READ handler waits a set time before answering:
# the known delay injected below a loop device (test/timing/trace-layers.test.ts's device layer,
# bench/detect-power.ts's block plant). It speaks the kernel's FUSE protocol on /dev/fuse itself
# (no libfuse binding needed). Usage: fuse-delay.py MOUNTPOINT BACKING_FILE. On stdin: "delay US"
# sleeps that long in each read; "spin NS" busy-waits that long instead (a sleep's wake-up costs
# tens of microseconds more than asked, far more than a plant of a few); "stats" prints "READS
# SLEPT_NS P50_NS" (the waits as measured, the reference: their sum and median) and zeroes them; end of input detaches the loop
# devices on the file and unmounts (also when its maker was killed: its input ends then). Ctrl-C
# is its maker's to handle: the server ends with its input, never half-way.
import ctypes, errno, os, signal, struct, subprocess, sys, threading, time

signal.signal(signal.SIGINT, signal.SIG_IGN)
mnt, backing = sys.argv[1], sys.argv[2]
size = os.path.getsize(backing)
bfd = os.open(backing, os.O_RDWR)
fd = os.open('/dev/fuse', os.O_RDWR)
libc = ctypes.CDLL(None, use_errno=True)
opts = f'fd={fd},rootmode=40000,user_id=0,group_id=0,allow_other,max_read=1048576'.encode()
if libc.mount(b'fusedelay', mnt.encode(), b'fuse.fusedelay', ctypes.c_ulong(6), opts) != 0:  # MS_NOSUID|MS_NODEV
    sys.exit(f'mount: {os.strerror(ctypes.get_errno())}')
state = {'delay_ns': 0, 'spin': False, 'reads': 0, 'slept': 0, 'waits': []}
lock = threading.Lock()

def attr(ino):
    d = ino == 1
    mode = (0o040755 if d else 0o100644)
    return struct.pack('<QQQQQQIIIIIIIIII', ino, 0 if d else size, 0 if d else (size + 511) // 512, 0, 0, 0, 0, 0, 0, mode, 2 if d else 1, 0, 0, 0, 4096, 0)

def reply(unique, payload=b'', err=0):
    os.write(fd, struct.pack('<IiQ', 16 + len(payload), -err, unique) + payload)

def control():
    for line in sys.stdin:
        w = line.split()
        with lock:
            if w and w[0] == 'delay': state['delay_ns'], state['spin'] = int(w[1]) * 1000, False
            if w and w[0] == 'spin': state['delay_ns'], state['spin'] = int(w[1]), True
            if w and w[0] == 'stats':
                ws = sorted(state['waits'])
                print(state['reads'], state['slept'], ws[len(ws) // 2] if ws else 0, flush=True)
                state['reads'] = state['slept'] = 0
                state['waits'] = []
    # A loop device on the file would outlive the mount, found by nothing: detached first (when
    # still open, the kernel detaches it at its last close).
    data = os.path.join(os.path.realpath(mnt), 'data')
    for d in os.listdir('/sys/block'):
        try:
            with open(f'/sys/block/{d}/loop/backing_file') as f: back = f.read().strip()
        except OSError: continue
        if back == data: subprocess.run(['losetup', '-d', f'/dev/{d}'], stderr=subprocess.DEVNULL)
    libc.umount2(mnt.encode(), 2)  # MNT_DETACH
    os._exit(0)

threading.Thread(target=control, daemon=True).start()
print('mounted', flush=True)
while True:
    try:
        buf = os.read(fd, (1 << 20) + 4096)
    except OSError as e:
        if e.errno in (errno.EINTR, errno.ENOENT): continue
        break  # ENODEV: unmounted
    ln, op, unique, node = struct.unpack_from('<IIQQ', buf)
    body = buf[40:ln]
    if op == 26:  # INIT: protocol 7.31, big reads and writes
        major, minor, ra, flags = struct.unpack_from('<IIII', body)
        reply(unique, struct.pack('<IIIIHHIIHHII', 7, 31, ra, 0, 16, 12, 1 << 20, 1, 256, 0, 0, 0) + b'\0' * 24)
    elif op == 1:  # LOOKUP
        if body.rstrip(b'\0') == b'data': reply(unique, struct.pack('<QQQQII', 2, 0, 3600, 3600, 0, 0) + attr(2))
        else: reply(unique, err=errno.ENOENT)
    elif op == 3:  # GETATTR
        reply(unique, struct.pack('<QII', 3600, 0, 0) + attr(node))
    elif op in (14, 27):  # OPEN, OPENDIR: direct I/O, every read reaches this handler
        reply(unique, struct.pack('<QII', 0, 1 if op == 14 else 0, 0))
    elif op == 15:  # READ
        fh, off, n = struct.unpack_from('<QQI', body)
        with lock: d, spin = state['delay_ns'], state['spin']
        if d:
            t0 = time.monotonic_ns()
            if spin:
                while time.monotonic_ns() - t0 < d: pass
            else:
                while time.monotonic_ns() - t0 < d: time.sleep((d - (time.monotonic_ns() - t0)) / 1e9)
            slept = time.monotonic_ns() - t0
        else: slept = 0
        with lock:
            state['reads'] += 1
            state['slept'] += slept
            state['waits'].append(slept)
        reply(unique, os.pread(bfd, n, off))
    elif op == 16:  # WRITE
        fh, off, n = struct.unpack_from('<QQI', body)
        os.pwrite(bfd, body[40:40 + n], off)
        reply(unique, struct.pack('<II', n, 0))
    elif op in (18, 25, 29, 20):  # RELEASE, FLUSH, RELEASEDIR, FSYNC
        reply(unique)
    elif op == 28:  # READDIR: empty
        reply(unique)
    elif op in (2, 42):  # FORGET, BATCH_FORGET: no reply
        pass
    elif op == 38:  # DESTROY
        reply(unique); break
    else:
        reply(unique, err=errno.ENOSYS)
