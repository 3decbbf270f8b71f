// SPDX-License-Identifier: GPL-2.0
/* rstat's in-kernel half: on every context switch, snapshot the outgoing
 * thread's counters into its slot of an mmap-able array, and keep a per-CPU
 * busy-time counter that no exit ever deletes (so short-lived tasks still
 * count in system CPU).
 *
 * Built with: clang -target bpf -mcpu=v3 -O2 -g -c probe.bpf.c
 * (v3 for atomic fetch-and-add, Linux 5.12+)
 * Attached with BPF_RAW_TRACEPOINT_OPEN (tp_btf for sched_switch, plain
 * raw_tp for sched_process_exit): no tracefs, no perf events.
 */
#include "probe.h"

#define SEC(name) __attribute__((section(name), used))
#define ALWAYS __attribute__((always_inline)) inline

/* Helper ids from include/uapi/linux/bpf.h; declared by hand so the probe
 * needs no libbpf headers. */
static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static long (*bpf_map_update_elem)(void *map, const void *key, const void *value, __u64 flags) = (void *)2;
static long (*bpf_map_delete_elem)(void *map, const void *key) = (void *)3;
static __u64 (*bpf_ktime_get_ns)(void) = (void *)5;
static __u64 (*bpf_get_current_pid_tgid)(void) = (void *)14;
static long (*bpf_get_current_comm)(void *buf, __u32 size) = (void *)16;
static long (*bpf_map_push_elem)(void *map, const void *value, __u64 flags) = (void *)87;
static long (*bpf_map_pop_elem)(void *map, void *value) = (void *)88;
static long (*bpf_seq_write)(struct seq_file *m, const void *data, __u32 len) = (void *)127;

#define BPF_MAP_TYPE_HASH 1
#define BPF_MAP_TYPE_ARRAY 2
#define BPF_MAP_TYPE_PERCPU_ARRAY 6
#define BPF_MAP_TYPE_STACK 23
#define BPF_F_MMAPABLE (1U << 10)
#define BPF_NOEXIST 1
/* Threads tracked at once, as built; the loader sizes the three task maps
 * again at load time (userspace grows them, reloading, when meta.dropped
 * says a thread found no slot), so nothing here depends on this number. */
#define MAX_TASKS 16384
#define PF_EXITING 0x00000004

/* Legacy map definitions: the loader reads these five words per symbol. */
struct map_def {
	__u32 type;
	__u32 key_size;
	__u32 value_size;
	__u32 max_entries;
	__u32 map_flags;
};

/* One thread's counters, all cumulative. Shared with src/collect/bpf/source.rs
 * (TaskStat): keep both in step. */
struct task_stat {
	__u32 tgid;
	__u32 tid;             /* 0: the slot is free */
	__u64 at_ns;           /* when this snapshot was taken */
	__u64 cpu_ns;          /* task->se.sum_exec_runtime */
	__u64 rss_pages;       /* mm rss_stat: file + anon + shmem */
	__u64 read_bytes;      /* task->ioac */
	__u64 write_bytes;
	__u64 sig_cpu_ns;      /* signal->sum_sched_runtime: the process's dead threads */
	__u64 sig_read_bytes;  /* signal->ioac: likewise */
	__u64 sig_write_bytes;
	char comm[16];
};

/* Per CPU: when the current task was switched in, and the busy time so far.
 * Shared with source.rs (CpuState). */
struct cpu_state {
	__u64 switch_in_ns;
	__u64 busy_ns;
	__u32 cur_tid;
	__u32 _pad;
};

/* Where the counters live: an array userspace maps into its own memory
 * (BPF_F_MMAPABLE) and reads with no syscall at all, where a hash map read
 * costs a syscall and ~200 ns per entry in the kernel's batch walk. */
struct map_def slots SEC("maps") = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(struct task_stat),
	.max_entries = MAX_TASKS,
	.map_flags = BPF_F_MMAPABLE,
};

/* Thread id -> slot. A plain hash, not LRU: an evicted index entry would
 * leak its slot. */
struct map_def slot_of SEC("maps") = {
	.type = BPF_MAP_TYPE_HASH,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u32),
	.max_entries = MAX_TASKS,
};

/* Freed slots, reused before new ones are taken from meta.next_slot: the
 * used slots stay packed at the bottom of the array, and userspace scans
 * only up to next_slot. */
struct map_def free_slots SEC("maps") = {
	.type = BPF_MAP_TYPE_STACK,
	.key_size = 0,
	.value_size = sizeof(__u32),
	.max_entries = MAX_TASKS,
};

/* Shared with source.rs (Meta). */
struct meta {
	__u32 next_slot;       /* slots below this have been handed out */
	__u32 dropped;         /* threads not tracked: no free slot */
};

struct map_def meta SEC("maps") = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(struct meta),
	.max_entries = 1,
	.map_flags = BPF_F_MMAPABLE,
};

struct map_def cpus SEC("maps") = {
	.type = BPF_MAP_TYPE_PERCPU_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(struct cpu_state),
	.max_entries = 1,
};

/* tp_btf hands the hook BTF-typed task pointers, so fields are read with
 * plain loads (the verifier turns them into fault-safe loads): several
 * times cheaper per switch than a bpf_probe_read_kernel() call per field. */

static ALWAYS __u64 rss_pages(struct mm_struct *mm)
{
	__s64 file, anon, shm;

	/* MM_FILEPAGES 0, MM_ANONPAGES 1, MM_SHMEMPAGES 3 (2 is swap). The
	 * branch not taken on this kernel has relocations that matched nothing:
	 * the loader poisons them and the verifier never walks that code. */
	if (__builtin_preserve_field_info(mm->rss_stat, 2 /* FIELD_EXISTS */)) {
		file = mm->rss_stat[0].count;
		anon = mm->rss_stat[1].count;
		shm = mm->rss_stat[3].count;
	} else {
		struct mm_struct___pre62 *old = (void *)mm;
		file = old->rss_stat.count[0].counter;
		anon = old->rss_stat.count[1].counter;
		shm = old->rss_stat.count[3].counter;
	}
	/* Approximate counters can dip below zero briefly. */
	__s64 total = file + anon + shm;
	return total > 0 ? (__u64)total : 0;
}

/* Which tasks userspace may see: when /proc hides other users' processes
 * (hidepid), only those of `uid`. Written once by userspace before the
 * programs run; shared with src/collect/bpf/mod.rs (Visibility). */
struct visibility {
	__u32 only_uid;    /* 0: every task; 1: only tasks of `uid` */
	__u32 uid;
};

struct map_def visible SEC("maps") = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(struct visibility),
	.max_entries = 1,
};

/* The rule /proc applies to a hidepid mount (ptrace_may_access without
 * capabilities): the task's real, effective and saved uids all ours. */
static ALWAYS int hidden_from(const struct visibility *v, struct task_struct *t)
{
	if (!v)
		return 1;
	if (!v->only_uid)
		return 0;
	const struct cred *c = t->real_cred;
	if (!c)
		return 1;
	return c->uid.val != v->uid || c->euid.val != v->uid || c->suid.val != v->uid;
}

static ALWAYS void snapshot(struct task_stat *st, struct task_struct *t, __u32 tgid, __u64 now)
{
	struct mm_struct *mm = t->mm;
	struct signal_struct *sig = t->signal;

	st->tgid = tgid;
	st->at_ns = now;
	st->cpu_ns = t->se.sum_exec_runtime;
	/* Kernel threads have no mm; their RSS is zero. */
	st->rss_pages = mm ? rss_pages(mm) : 0;
	st->read_bytes = t->ioac.read_bytes;
	st->write_bytes = t->ioac.write_bytes;
	if (sig) {
		st->sig_cpu_ns = sig->sum_sched_runtime;
		st->sig_read_bytes = sig->ioac.read_bytes;
		st->sig_write_bytes = sig->ioac.write_bytes;
	} else {
		st->sig_cpu_ns = st->sig_read_bytes = st->sig_write_bytes = 0;
	}
	bpf_get_current_comm(st->comm, sizeof(st->comm));
}

/* sched_switch(bool preempt, struct task_struct *prev, struct task_struct *next,
 * unsigned int prev_state). At this point current == prev. */
SEC("tp_btf/sched_switch")
int on_switch(__u64 *ctx)
{
	struct task_struct *prev = (void *)ctx[1];
	struct task_struct *next = (void *)ctx[2];
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	__u32 zero = 0;
	__u64 now = bpf_ktime_get_ns();

	/* A per-CPU array slot, not a hash: the cheapest map there is. */
	struct cpu_state *cs = bpf_map_lookup_elem(&cpus, &zero);
	if (!cs)
		return 0;
	/* switch_in_ns == 0: the first switch seen on this CPU, start unknown. */
	if (tid && cs->switch_in_ns)
		cs->busy_ns += now - cs->switch_in_ns;
	cs->switch_in_ns = now;
	cs->cur_tid = next->pid;

	if (!tid)
		return 0;
	/* A dying task's last switches come after sched_process_exit deleted
	 * its entry: re-creating it here would leak it forever. */
	if (prev->flags & PF_EXITING)
		return 0;
	if (hidden_from(bpf_map_lookup_elem(&visible, &zero), prev))
		return 0;

	__u32 *slotp = bpf_map_lookup_elem(&slot_of, &tid);
	struct task_stat *st;
	if (slotp) {
		__u32 slot = *slotp;
		st = bpf_map_lookup_elem(&slots, &slot);
		if (st)
			snapshot(st, prev, pid_tgid >> 32, now);
		return 0;
	}
	/* First switch-out of a thread the start-up walk did not see. */
	struct meta *m = bpf_map_lookup_elem(&meta, &zero);
	if (!m)
		return 0;
	__u32 slot;
	if (bpf_map_pop_elem(&free_slots, &slot)) {
		/* No freed slot to reuse: take a new one from the top, unless
		 * the top already ran out (then next_slot stays put). */
		if (m->dropped) {
			__sync_fetch_and_add(&m->dropped, 1);
			return 0;
		}
		slot = __sync_fetch_and_add(&m->next_slot, 1);
	}
	st = bpf_map_lookup_elem(&slots, &slot);
	if (!st) {
		/* Past the end of the array (as sized at load): only a slot from
		 * the top gets here, and it is nobody's to give back. */
		__sync_fetch_and_add(&m->dropped, 1);
		return 0;
	}
	if (bpf_map_update_elem(&slot_of, &tid, &slot, BPF_NOEXIST)) {
		bpf_map_push_elem(&free_slots, &slot, 0);
		return 0;
	}
	snapshot(st, prev, pid_tgid >> 32, now);
	/* Set last: userspace takes tid != 0 to mean the slot is filled. */
	st->tid = tid;
	return 0;
}

/* The record layout changed in 6.16; the exiting task is current, so the
 * arguments are not needed at all. */
SEC("raw_tp/sched_process_exit")
int on_exit(__u64 *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u32 *slotp = bpf_map_lookup_elem(&slot_of, &tid);

	if (!slotp)
		return 0;
	__u32 slot = *slotp;
	struct task_stat *st = bpf_map_lookup_elem(&slots, &slot);
	if (st)
		st->tid = 0;
	bpf_map_delete_elem(&slot_of, &tid);
	bpf_map_push_elem(&free_slots, &slot, 0);
	return 0;
}

/* ---- The task iterator (the "iter" collector) ----
 *
 * Nothing runs between ticks: once per tick userspace creates an iterator
 * from the link (BPF_ITER_CREATE) and read()s it, and the kernel calls this
 * once per thread, in its own pid order, inside that read(). Each call
 * appends one packed record to the seq_file; userspace folds threads into
 * processes. Only the numbers the bar shows, current at the read. */

/* Every thread: what its process's CPU and IO figures sum over. Shared with
 * src/collect/bpf/iter.rs (ThreadRec): keep both in step. */
struct iter_thread {
	__u32 tgid;
	__u32 pid;
	__u64 cpu_ns;      /* se.sum_exec_runtime; a leader adds signal's (dead threads) */
	__u64 read_bytes;  /* ioac; a leader adds signal->ioac */
	__u64 write_bytes;
};

/* A thread group leader (every process has exactly one, kernel threads
 * included, even when it has exited before its threads) appends what only
 * the process has: its resident pages and its name. Threads skip these 24
 * bytes: userspace tells the two apart by pid == tgid. */
struct iter_leader {
	struct iter_thread t;
	__u64 rss_pages;   /* 0 for kernel threads and exited leaders: no mm */
	char comm[16];
};

SEC("iter/task")
int dump_task(struct bpf_iter__task *ctx)
{
	struct task_struct *t = ctx->task;
	struct iter_leader r;

	/* NULL: the end-of-walk call. */
	if (!t)
		return 0;
	__u32 zero = 0;
	if (hidden_from(bpf_map_lookup_elem(&visible, &zero), t))
		return 0;
	r.t.tgid = t->tgid;
	r.t.pid = t->pid;
	r.t.cpu_ns = t->se.sum_exec_runtime;
	r.t.read_bytes = t->ioac.read_bytes;
	r.t.write_bytes = t->ioac.write_bytes;
	if (r.t.pid != r.t.tgid) {
		bpf_seq_write(ctx->meta->seq, &r.t, sizeof(r.t));
		return 0;
	}
	struct signal_struct *sig = t->signal;
	if (sig) {
		r.t.cpu_ns += sig->sum_sched_runtime;
		r.t.read_bytes += sig->ioac.read_bytes;
		r.t.write_bytes += sig->ioac.write_bytes;
	}
	struct mm_struct *mm = t->mm;
	r.rss_pages = mm ? rss_pages(mm) : 0;
	__builtin_memcpy(r.comm, t->comm, sizeof(r.comm));
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}

/* ---- The one-pass task walk (Linux 6.7+) ----
 *
 * The per-task iterator above pays, for every thread, an IDR lookup, a
 * reference taken and dropped, and a seq_file record: measured here, the
 * bare walk with an empty program is ~2/3 of the cost. This program walks
 * the task list itself instead, with the open-coded task iterator kfuncs
 * (bpf_iter_task_new / _next / _destroy, under RCU, no references), and
 * writes one record per thread into an mmap-able array that userspace reads
 * in place. It is still started by reading a task iterator, one whose link
 * names a single task (pid 1), so it runs exactly once per read(). */

struct bpf_iter_task {
	__u64 __opaque[3];
} __attribute__((aligned(8)));

#define KSYM __attribute__((section(".ksyms")))
extern int bpf_iter_task_new(struct bpf_iter_task *it, struct task_struct *task, unsigned int flags) KSYM;
extern struct task_struct *bpf_iter_task_next(struct bpf_iter_task *it) KSYM;
extern void bpf_iter_task_destroy(struct bpf_iter_task *it) KSYM;
#define BPF_TASK_ITER_ALL_THREADS 1

/* Threads one walk records, as built; the loader sizes walk_out again at
 * load time, and past its end meta.dropped counts the rest (userspace then
 * reloads with a larger one). */
#define WALK_MAX 32768

/* Shared with iter.rs (WalkRec): keep both in step. The layout of
 * struct iter_leader, so both walks share a parser. */
struct walk_rec {
	__u32 tgid;
	__u32 pid;
	__u64 cpu_ns;
	__u64 read_bytes;
	__u64 write_bytes;
	__u64 rss_pages;   /* leaders only; stale in thread records */
	char comm[16];     /* likewise */
};

struct map_def walk_out SEC("maps") = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(struct walk_rec),
	.max_entries = WALK_MAX,
	.map_flags = BPF_F_MMAPABLE,
};

/* Shared with iter.rs (WalkMeta). */
struct walk_meta {
	__u32 n;           /* records written by the last walk */
	__u32 dropped;     /* threads past WALK_MAX */
	__u64 walks;       /* completed walks: userspace checks it moved */
};

struct map_def walk_meta SEC("maps") = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(struct walk_meta),
	.max_entries = 1,
	.map_flags = BPF_F_MMAPABLE,
};

/* Its own section (our loader takes one program per section); the part
 * after the second '/' only names it. */
SEC("iter/task/walk")
int walk_tasks(struct bpf_iter__task *ctx)
{
	struct bpf_iter_task it;
	struct task_struct *t;
	__u32 zero = 0;

	if (!ctx->task)
		return 0;
	struct walk_meta *m = bpf_map_lookup_elem(&walk_meta, &zero);
	if (!m)
		return 0;
	m->n = 0;
	m->dropped = 0;
	struct visibility *v = bpf_map_lookup_elem(&visible, &zero);
	bpf_iter_task_new(&it, (void *)0, BPF_TASK_ITER_ALL_THREADS);
	while ((t = bpf_iter_task_next(&it))) {
		if (hidden_from(v, t))
			continue;
		/* The index lives in map memory, not a register: the verifier
		 * then needs no bound on the loop count to prove it ends. */
		__u32 i = m->n;
		struct walk_rec *r = bpf_map_lookup_elem(&walk_out, &i);
		if (!r) {
			m->dropped++;
			continue;
		}
		m->n = i + 1;
		r->tgid = t->tgid;
		r->pid = t->pid;
		r->cpu_ns = t->se.sum_exec_runtime;
		r->read_bytes = t->ioac.read_bytes;
		r->write_bytes = t->ioac.write_bytes;
		if (r->pid != r->tgid)
			continue;
		struct signal_struct *sig = t->signal;
		if (sig) {
			r->cpu_ns += sig->sum_sched_runtime;
			r->read_bytes += sig->ioac.read_bytes;
			r->write_bytes += sig->ioac.write_bytes;
		}
		struct mm_struct *mm = t->mm;
		r->rss_pages = mm ? rss_pages(mm) : 0;
		__builtin_memcpy(r->comm, t->comm, sizeof(r->comm));
	}
	bpf_iter_task_destroy(&it);
	m->walks++;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
