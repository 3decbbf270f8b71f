/* The few kernel types probe.bpf.c reads, and nothing else.
 *
 * Every struct is marked preserve_access_index: clang records each field
 * access as a CO-RE relocation in .BTF.ext, and the loader rewrites the
 * offsets against the running kernel's /sys/kernel/btf/vmlinux. So the
 * member order and padding here do not matter; only names and types do.
 * A type name with a "___suffix" is a second flavour of the same kernel
 * type (the loader strips the suffix when matching).
 */
#ifndef RSTAT_PROBE_H
#define RSTAT_PROBE_H

typedef unsigned char __u8;
typedef unsigned int __u32;
typedef int __s32;
typedef unsigned long long __u64;
typedef long long __s64;

#define CORE __attribute__((preserve_access_index))

struct task_io_accounting {
	__u64 read_bytes;
	__u64 write_bytes;
} CORE;

struct sched_entity {
	__u64 sum_exec_runtime;
} CORE;

/* Linux >= 6.2: one percpu_counter per MM_* counter; .count is the
 * folded (approximate) value. */
struct percpu_counter {
	__s64 count;
} CORE;

struct mm_struct {
	struct percpu_counter rss_stat[4];
} CORE;

/* Linux < 6.2: struct mm_rss_stat { atomic_long_t count[NR_MM_COUNTERS]; } */
typedef struct {
	__s64 counter;
} atomic_long_t;

struct mm_rss_stat {
	atomic_long_t count[4];
} CORE;

struct mm_struct___pre62 {
	struct mm_rss_stat rss_stat;
} CORE;

struct signal_struct {
	struct task_io_accounting ioac;
	__u64 sum_sched_runtime;
} CORE;

/* kuid_t is a struct around the number. */
typedef struct {
	__u32 val;
} kuid_t;

struct cred {
	kuid_t uid;
	kuid_t suid;
	kuid_t euid;
} CORE;

struct task_struct {
	unsigned int flags;
	const struct cred *real_cred;
	int pid;
	int tgid;
	char comm[16];
	struct sched_entity se;
	struct mm_struct *mm;
	struct signal_struct *signal;
	struct task_io_accounting ioac;
} CORE;

/* The task iterator's context (include/linux/bpf.h, kernel/bpf/task_iter.c).
 * Not CO-RE: these layouts are the iterator ABI, fixed since Linux 5.8. */
struct seq_file;

struct bpf_iter_meta {
	struct seq_file *seq;
	__u64 session_id;
	__u64 seq_num;
};

struct bpf_iter__task {
	struct bpf_iter_meta *meta;
	struct task_struct *task;
};

#endif
