/* The few kernel types the tracer reads, written by hand instead of a vmlinux.h dumped from one
 * machine's BTF: each is marked preserve_access_index, so every field access is a CO-RE
 * relocation that libbpf resolves against the running kernel's BTF at load time. Only the fields
 * read are declared; their offsets here do not matter. The BTF tracepoints' arguments are typed
 * pointers the programs read directly (plain loads the verifier checks, no helper call). */
#ifndef ISOPROBE_TRACE_KERNEL_H
#define ISOPROBE_TRACE_KERNEL_H

#include <linux/types.h>

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s32 s32;
typedef __s64 s64;
typedef _Bool bool;
#define true 1
#define false 0

#define CORE __attribute__((preserve_access_index))

struct super_block {
  __u32 s_dev;
} CORE;

struct inode {
  unsigned long i_ino;
  struct super_block *i_sb;
  unsigned int i_rdev;
} CORE;

struct file {
  struct inode *f_inode;
} CORE;

struct fdtable {
  unsigned int max_fds;
  struct file **fd;
} CORE;

struct files_struct {
  struct fdtable *fdt;
} CORE;

struct kernfs_node {
  __u64 id;
} CORE;

struct cgroup {
  struct kernfs_node *kn;
} CORE;

struct css_set {
  struct cgroup *dfl_cgrp;
} CORE;

struct task_struct {
  int pid;
  int tgid;
  char comm[16];
  struct files_struct *files;
  struct css_set *cgroups;
} CORE;

/* The registers a system call entered with: its arguments, by architecture. */
#if defined(__TARGET_ARCH_x86)
struct pt_regs {
  unsigned long di, si, dx, r10, r8;
} CORE;
#define SYSCALL_ARG0(r) ((r)->di)
#define SYSCALL_ARG1(r) ((r)->si)
#define SYSCALL_ARG2(r) ((r)->dx)
#define SYSCALL_ARG3(r) ((r)->r10)
#elif defined(__TARGET_ARCH_arm64)
struct pt_regs {
  __u64 regs[31];
} CORE;
#define SYSCALL_ARG0(r) ((r)->regs[0])
#define SYSCALL_ARG1(r) ((r)->regs[1])
#define SYSCALL_ARG2(r) ((r)->regs[2])
#define SYSCALL_ARG3(r) ((r)->regs[3])
#else
#error "the tracer knows the system call registers of x86-64 and arm64 only"
#endif

struct gendisk {
  int major;
  int first_minor;
} CORE;

struct request_queue {
  struct gendisk *disk;
} CORE;

struct request {
  struct request_queue *q;
  unsigned int cmd_flags;
  unsigned int __data_len;
  __u64 __sector;
} CORE;

struct kiocb {
  struct file *ki_filp;
  long long ki_pos;
} CORE;

/* io_uring's read/write command, which lives in io_kiocb's cmd area. */
struct io_rw {
  struct kiocb kiocb;
  __u64 addr;
  __u32 len;
} CORE;

struct io_cmd_data {
  struct file *file;
  __u8 data[56];
} CORE;

struct io_cqe {
  __u64 user_data;
  __s32 res;
  int fd;
} CORE;

struct io_kiocb {
  struct io_cmd_data cmd;
  __u8 opcode;
  struct io_cqe cqe;
} CORE;

struct io_ring_ctx;
struct irqaction;

#endif
