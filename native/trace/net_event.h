/* What the network tracer's eBPF programs (net.bpf.c) hand its loader (net_trace.cc): one record
 * for a packet on the boundary's host-side device and one for a traced process's send or receive
 * call. Plain C, read by the BPF object and by C++. */
#ifndef ISOPROBE_NET_EVENT_H
#define ISOPROBE_NET_EVENT_H

#ifdef __bpf__
typedef unsigned char net_u8;
typedef unsigned short net_u16;
typedef unsigned int net_u32;
typedef int net_s32;
typedef unsigned long long net_u64;
typedef long long net_s64;
#else
#include <stdint.h>
typedef uint8_t net_u8;
typedef uint16_t net_u16;
typedef uint32_t net_u32;
typedef int32_t net_s32;
typedef uint64_t net_u64;
typedef int64_t net_s64;
#endif

enum net_kind {
  NET_PKT = 1,  /* an IPv4 TCP or UDP packet received on (netif_receive_skb) or queued to (net_dev_queue) the device */
  NET_SYS = 2,  /* a traced thread's send- or receive-family system call, enter to exit */
};

enum net_dir { NET_RX = 0, NET_TX = 1 };

/* 48 bytes. Times are bpf_ktime_get_ns(): CLOCK_MONOTONIC. */
struct net_record {
  net_u32 kind;
  net_u32 tid;      /* the thread current at the event (a packet's may be a softirq's host) */
  net_u32 tgid;
  net_s32 nr;       /* NET_SYS: the system call's number; NET_PKT: the IP protocol (6, 17) */
  net_u64 t0;       /* the packet's time; the call's enter */
  net_u64 t1;       /* the call's exit */
  net_s64 ret;      /* the call's return; NET_PKT: the transport payload's length */
  net_u16 sport;    /* NET_PKT: host byte order */
  net_u16 dport;
  net_u8 dir;       /* NET_PKT: enum net_dir */
  net_u8 flags;     /* NET_PKT: TCP flags (FIN 1, SYN 2, RST 4, PSH 8, ACK 16) */
  net_u16 traced;   /* NET_SYS: how its process is traced: 1 a child of a named parent, 2 named by pid (or below one) */
};

enum net_counter {
  NC_RX = 0,        /* packets received on the device (any protocol) */
  NC_TX,            /* packets queued to it */
  NC_NOT_IPV4,      /* of those, not IPv4 TCP/UDP: counted, not recorded */
  NC_RECORDS,
  NC_RINGBUF_FULL,
  NC_COUNT,
};

#endif
