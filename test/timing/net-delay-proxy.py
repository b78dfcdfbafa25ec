#!/usr/bin/env python3
# A TCP relay that holds every request a set time before forwarding it and forwards replies at
# once: the known delay the network split's host-path proof puts on the host side, in front of
# isoprobe's echo server (the variant setting relay=). Usage, as isoprobe starts a relay:
# net-delay-proxy.py tcp HOST:PORT (the echo server); it listens on HOST (the address the client
# reaches) and prints its HOST:PORT. Its control channel is its environment and one file:
# NETPROXY_HOLD_US sets the hold; at SIGTERM it writes to NETPROXY_STATS, as JSON, the holds as it
# measured them and its own request-to-reply time (a request's receive to its reply's receive from
# the echo server: the hold and the echo server's leg), each as count, mean and median in ns: the
# references isoprobe does not compute.
import json, os, signal, socket, sys, threading, time

proto, upstream = sys.argv[1], sys.argv[2]
if proto != 'tcp': sys.exit(f'net-delay-proxy.py: relays tcp only, not {proto}')
host, port = upstream.rsplit(':', 1)
hold_ns = int(os.environ.get('NETPROXY_HOLD_US', '0')) * 1000
holds = []  # each request's hold as measured (ns); list.append is atomic under the GIL
legs = []   # each request's receive to its reply's receive (ns): one request in flight a connection
stats_path = os.environ.get('NETPROXY_STATS')

def held():
    """Waits hold_ns by the monotonic clock (sleeping the rest each time); what it waited."""
    if not hold_ns: return 0
    t0 = time.monotonic_ns()
    while time.monotonic_ns() - t0 < hold_ns: time.sleep((hold_ns - (time.monotonic_ns() - t0)) / 1e9)
    return time.monotonic_ns() - t0

def pump(src, dst, hold, since):
    """Copies src to dst; a request (hold=True) waits its hold first. Ends both at EOF or error."""
    try:
        while True:
            d = src.recv(65536)
            if not d: break
            if hold:
                since[0] = time.monotonic_ns()
                holds.append(held())
            elif since[0]:
                legs.append(time.monotonic_ns() - since[0])
                since[0] = 0
            dst.sendall(d)
    except OSError:
        pass
    for s in (src, dst):
        try: s.shutdown(socket.SHUT_RDWR)
        except OSError: pass

def quiet(f, *args):
    """A worker thread: SIGTERM is the main thread's to take (it runs the handler below)."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    f(*args)

def serve(c):
    u = socket.create_connection((host, int(port)))
    for s in (c, u): s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    # One thread a direction: the reply's thread queues it to the client at once (the tracer's
    # "server" thread is this one; the hold and the echo server fall in the host path).
    since = [0]  # this connection's request in flight: when it was received
    threading.Thread(target=quiet, args=(pump, u, c, False, since), daemon=True).start()
    pump(c, u, True, since)

def stop(*_):
    if stats_path:
        def summary(xs):
            xs = sorted(xs)
            return {'count': len(xs), 'mean_ns': sum(xs) / len(xs) if xs else 0, 'median_ns': xs[len(xs) // 2] if xs else 0}
        with open(stats_path, 'w') as f:
            json.dump({'hold_ns': hold_ns, 'hold': summary(holds), 'leg': summary(legs)}, f)
    os._exit(0)

signal.signal(signal.SIGTERM, stop)
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((host, 0))
ls.listen(16)
print(f'{host}:{ls.getsockname()[1]}', flush=True)
while True:
    c, _ = ls.accept()
    threading.Thread(target=quiet, args=(serve, c), daemon=True).start()
