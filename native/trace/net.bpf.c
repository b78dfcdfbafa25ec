/* The network tracer's eBPF programs, on BTF tracepoints only (no kprobes): every IPv4 TCP/UDP
 * packet received on or queued to the boundary's host-side device (a veth end, a tap, or the
 * loopback device of one network namespace), and the traced processes' send- and receive-family
 * system calls, each as a record in a ring buffer; lib/trace/net-attribution.ts pairs them. */
#include <linux/bpf.h>

#include "trace_kernel.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "net_event.h"

char LICENSE[] SEC("license") = "GPL";

/* Only the fields read; CO-RE relocates each against the running kernel's BTF. */
struct ns_common { unsigned int inum; } CORE;
struct net { struct ns_common ns; } CORE;
typedef struct { struct net *net; } possible_net_t;
struct net_device { int ifindex; possible_net_t nd_net; } CORE;
struct sk_buff {
  struct net_device *dev;
  unsigned char *head;
  unsigned char *data;
  __u16 network_header;
} CORE;

#if defined(__TARGET_ARCH_x86)
enum { NR_READ = 0, NR_WRITE = 1, NR_READV = 19, NR_WRITEV = 20, NR_SENDTO = 44, NR_RECVFROM = 45, NR_SENDMSG = 46, NR_RECVMSG = 47,
       NR_RECVMMSG = 299, NR_SENDMMSG = 307 };
#else
enum { NR_READ = 63, NR_WRITE = 64, NR_READV = 65, NR_WRITEV = 66, NR_SENDTO = 206, NR_RECVFROM = 207, NR_SENDMSG = 211, NR_RECVMSG = 212,
       NR_RECVMMSG = 243, NR_SENDMMSG = 269 };
#endif

/* Set by the loader before load. */
const volatile __u32 net_inum = 0;     /* the device's network namespace (its /proc/PID/ns/net inode) */
const volatile __u32 loopback = 0;     /* 1: its loopback device; 0: every other device there */
const volatile __u64 record_budget = 1 << 20;

__u64 records_sent = 0;

struct sys_start { __u64 t0; __s32 nr; __u8 traced; };
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 4096); __type(key, __u32); __type(value, __u8); } traced SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 64); __type(key, __u32); __type(value, __u8); } parents SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 4096); __type(key, __u32); __type(value, struct sys_start); } calls SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, NC_COUNT); __type(key, __u32); __type(value, __u64); } counters SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 32 << 20); } events SEC(".maps");

static __always_inline void count(__u32 which) {
  __u64 *v = bpf_map_lookup_elem(&counters, &which);
  if (v) *v += 1;
}

static __always_inline void emit(const struct net_record *r) {
  if (__sync_fetch_and_add(&records_sent, 1) >= record_budget) return;
  if (bpf_ringbuf_output(&events, (void *)r, sizeof(*r), 0)) count(NC_RINGBUF_FULL);
  else count(NC_RECORDS);
}

static __always_inline bool our_device(struct sk_buff *skb) {
  struct net_device *dev = skb->dev;
  if (!dev) return false;
  if (BPF_CORE_READ(dev, nd_net.net, ns.inum) != net_inum) return false;
  return (BPF_CORE_READ(dev, ifindex) == 1) == (loopback == 1);  /* LOOPBACK_IFINDEX */
}

/* An IPv4 TCP or UDP header at ip: its ports, flags and payload length into r. */
static __always_inline bool parse_ipv4(const unsigned char *ip, struct net_record *r) {
  __u8 h[20];
  if (bpf_probe_read_kernel(h, sizeof(h), ip)) return false;
  if ((h[0] >> 4) != 4 || (h[9] != 6 && h[9] != 17)) return false;
  __u32 ihl = (h[0] & 15) * 4;
  __u32 total = ((__u32)h[2] << 8) | h[3];
  __u8 t[20];
  if (ihl < 20 || bpf_probe_read_kernel(t, sizeof(t), ip + ihl)) return false;
  r->nr = h[9];
  r->sport = ((__u16)t[0] << 8) | t[1];
  r->dport = ((__u16)t[2] << 8) | t[3];
  if (h[9] == 6) {
    __u32 doff = (t[12] >> 4) * 4;
    r->flags = t[13] & 31;
    r->ret = total > ihl + doff ? total - ihl - doff : 0;
  } else {
    __u32 ulen = ((__u32)t[4] << 8) | t[5];
    r->ret = ulen > 8 ? ulen - 8 : 0;
  }
  return true;
}

static __always_inline void packet(struct sk_buff *skb, __u8 dir) {
  if (!our_device(skb)) return;
  count(dir == NET_RX ? NC_RX : NC_TX);
  struct net_record r = {};
  r.kind = NET_PKT;
  r.dir = dir;
  r.t0 = bpf_ktime_get_ns();
  __u64 pt = bpf_get_current_pid_tgid();
  r.tid = (__u32)pt;
  r.tgid = pt >> 32;
  /* Received: eth_type_trans pulled the link header, data is the IP header. Queued: the link
   * header is in front; the IP layer set the network header. */
  const unsigned char *ip = dir == NET_RX ? BPF_CORE_READ(skb, data) : BPF_CORE_READ(skb, head) + BPF_CORE_READ(skb, network_header);
  if (!parse_ipv4(ip, &r)) {
    count(NC_NOT_IPV4);
    return;
  }
  emit(&r);
}

SEC("tp_btf/netif_receive_skb")
int BPF_PROG(netif_receive_skb, struct sk_buff *skb) {
  packet(skb, NET_RX);
  return 0;
}

SEC("tp_btf/net_dev_queue")
int BPF_PROG(net_dev_queue, struct sk_buff *skb) {
  packet(skb, NET_TX);
  return 0;
}

static __always_inline bool net_call(long id) {
  return id == NR_READ || id == NR_WRITE || id == NR_READV || id == NR_WRITEV || id == NR_SENDTO || id == NR_RECVFROM ||
         id == NR_SENDMSG || id == NR_RECVMSG || id == NR_RECVMMSG || id == NR_SENDMMSG;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter, struct pt_regs *regs, long id) {
  if (!net_call(id)) return 0;
  __u32 tgid = bpf_get_current_pid_tgid() >> 32;
  __u8 *how = bpf_map_lookup_elem(&traced, &tgid);
  if (!how) return 0;
  __u32 tid = (__u32)bpf_get_current_pid_tgid();
  struct sys_start s = {bpf_ktime_get_ns(), (__s32)id, *how};
  bpf_map_update_elem(&calls, &tid, &s, BPF_ANY);
  return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit, struct pt_regs *regs, long ret) {
  __u64 pt = bpf_get_current_pid_tgid();
  __u32 tid = (__u32)pt;
  struct sys_start *s = bpf_map_lookup_elem(&calls, &tid);
  if (!s) return 0;
  struct net_record r = {};
  r.kind = NET_SYS;
  r.tid = tid;
  r.tgid = pt >> 32;
  r.nr = s->nr;
  r.t0 = s->t0;
  r.t1 = bpf_ktime_get_ns();
  r.ret = ret;
  r.traced = s->traced;
  bpf_map_delete_elem(&calls, &tid);
  emit(&r);
  return 0;
}

/* A traced process's children are traced from their fork, as their parent is (a process named by
 * pid, or a child of a named parent: 2 or 1); so are the children of a parent (1). */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(sched_process_fork, struct task_struct *parent, struct task_struct *child) {
  __u32 ptgid = parent->tgid, ctgid = child->tgid;
  if (ptgid == ctgid) return 0;
  __u8 *how = bpf_map_lookup_elem(&traced, &ptgid);
  __u8 v = how ? *how : 1;
  if (how || bpf_map_lookup_elem(&parents, &ptgid)) bpf_map_update_elem(&traced, &ctgid, &v, BPF_ANY);
  return 0;
}
