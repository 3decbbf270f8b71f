//! The `bpf(2)` commands the loader and the reader use, with their
//! attribute layouts from `include/uapi/linux/bpf.h`.
//!
//! Each attribute struct holds only the leading fields a command needs: the
//! kernel zero-fills the rest of `union bpf_attr` when `size` is smaller.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use super::super::Error;

const BPF_MAP_CREATE: libc::c_long = 0;
const BPF_MAP_LOOKUP_ELEM: libc::c_long = 1;
const BPF_MAP_UPDATE_ELEM: libc::c_long = 2;
const BPF_MAP_DELETE_ELEM: libc::c_long = 3;
const BPF_MAP_GET_NEXT_KEY: libc::c_long = 4;
const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_OBJ_GET_INFO_BY_FD: libc::c_long = 15;
const BPF_RAW_TRACEPOINT_OPEN: libc::c_long = 17;
const BPF_MAP_LOOKUP_BATCH: libc::c_long = 24;
const BPF_LINK_CREATE: libc::c_long = 28;
const BPF_ENABLE_STATS: libc::c_long = 32;
const BPF_ITER_CREATE: libc::c_long = 33;

/// `BPF_PROG_TYPE_RAW_TRACEPOINT`.
const PROG_TYPE_RAW_TRACEPOINT: u32 = 17;
/// `BPF_NOEXIST`: insert only, never overwrite.
pub const NOEXIST: u64 = 1;

/// Calls `bpf(cmd, attr, size_of::<T>())`.
fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> io::Result<libc::c_long> {
    // SAFETY: `attr` is a live, exclusively borrowed #[repr(C)] struct of the
    // layout `cmd` expects, and the size passed is exactly its size. Pointers
    // inside it are set by the callers to buffers that outlive the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T as *mut libc::c_void,
            std::mem::size_of::<T>() as libc::c_uint,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn owned_fd(r: libc::c_long) -> OwnedFd {
    // SAFETY: the kernel just returned this fd to us and nothing else owns it.
    unsafe { OwnedFd::from_raw_fd(r as RawFd) }
}

#[repr(C)]
#[derive(Default)]
struct MapCreateAttr {
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    map_flags: u32,
    inner_map_fd: u32,
    numa_node: u32,
    map_name: [u8; 16],
}

/// `BPF_MAP_CREATE`. `name` is truncated to the kernel's 15 characters.
pub fn map_create(
    name: &str,
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    flags: u32,
) -> Result<OwnedFd, Error> {
    let mut attr = MapCreateAttr {
        map_type,
        key_size,
        value_size,
        max_entries,
        map_flags: flags,
        ..Default::default()
    };
    copy_name(&mut attr.map_name, name);
    bpf(BPF_MAP_CREATE, &mut attr)
        .map(owned_fd)
        .map_err(|e| Error::io(format!("bpf(BPF_MAP_CREATE) for map {name:?}"), e))
}

/// Object names may only hold `[A-Za-z0-9_.]`; anything else is dropped.
fn copy_name(dst: &mut [u8; 16], name: &str) {
    let mut n = 0;
    for b in name.bytes() {
        if n == 15 {
            break;
        }
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'.' {
            dst[n] = b;
            n += 1;
        }
    }
}

#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
    prog_btf_fd: u32,
    func_info_rec_size: u32,
    func_info: u64,
    func_info_cnt: u32,
    line_info_rec_size: u32,
    line_info: u64,
    line_info_cnt: u32,
    attach_btf_id: u32,
}

/// How a program attaches: what `BPF_PROG_LOAD` must be told up front.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgKind {
    /// `raw_tp/NAME`: untyped arguments, fields read with probe helpers.
    RawTracepoint,
    /// `tp_btf/NAME`: BTF-typed arguments, fields read with direct loads;
    /// `attach_btf_id` is the kernel's `btf_trace_NAME` typedef.
    TpBtf { attach_btf_id: u32 },
    /// `iter/NAME`: a BPF iterator program, run inside `read()` of an
    /// iterator fd; `attach_btf_id` is the kernel's `bpf_iter_NAME` function.
    Iter { attach_btf_id: u32 },
}

/// `BPF_PROG_TYPE_TRACING` and its `BPF_TRACE_RAW_TP` attach type.
const PROG_TYPE_TRACING: u32 = 26;
const TRACE_RAW_TP: u32 = 23;
/// `BPF_TRACE_ITER`: the attach type of iterator programs and their links.
const TRACE_ITER: u32 = 28;

/// `BPF_PROG_LOAD`. On failure the verifier's log is part of the error.
pub fn prog_load(
    name: &str,
    kind: ProgKind,
    insns: &[u64],
    license: &CStr,
) -> Result<OwnedFd, Error> {
    let (prog_type, expected_attach_type, attach_btf_id) = match kind {
        ProgKind::RawTracepoint => (PROG_TYPE_RAW_TRACEPOINT, 0, 0),
        ProgKind::TpBtf { attach_btf_id } => (PROG_TYPE_TRACING, TRACE_RAW_TP, attach_btf_id),
        ProgKind::Iter { attach_btf_id } => (PROG_TYPE_TRACING, TRACE_ITER, attach_btf_id),
    };
    let mut attr = ProgLoadAttr {
        prog_type,
        expected_attach_type,
        attach_btf_id,
        insn_cnt: insns.len() as u32,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        ..Default::default()
    };
    copy_name(&mut attr.prog_name, name);
    // Loading without a log is faster; only a failure pays for one.
    let first = match bpf(BPF_PROG_LOAD, &mut attr) {
        Ok(fd) => return Ok(owned_fd(fd)),
        Err(e) => e,
    };
    let mut log = vec![0u8; 1 << 20];
    attr.log_level = 1;
    attr.log_size = log.len() as u32;
    attr.log_buf = log.as_mut_ptr() as u64;
    match bpf(BPF_PROG_LOAD, &mut attr) {
        // Loaded with a log after failing without one: odd, but loaded.
        Ok(fd) => Ok(owned_fd(fd)),
        Err(_) => {
            let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
            // No log: refused before verification (no privilege, no such
            // attach target). Keep the OS error so callers can explain it.
            if end == 0 {
                return Err(Error::io(
                    format!("bpf(BPF_PROG_LOAD) for program {name:?}"),
                    first,
                ));
            }
            let text = String::from_utf8_lossy(&log[..end]);
            // The verdict is at the end; keep the tail of a long log.
            let tail: String = {
                let lines: Vec<&str> = text.lines().collect();
                let from = lines.len().saturating_sub(40);
                lines[from..].join("\n")
            };
            Err(Error::msg(format!(
                "bpf(BPF_PROG_LOAD) for program {name:?}: {first}; verifier log:\n{tail}"
            )))
        }
    }
}

#[repr(C)]
struct RawTpAttr {
    name: u64,
    prog_fd: u32,
    _pad: u32,
}

/// `BPF_RAW_TRACEPOINT_OPEN`: attaches `prog` to tracepoint `tp` (`None`
/// for a `tp_btf` program, which names its target at load); the returned
/// fd keeps it attached until closed.
pub fn raw_tracepoint_open(tp: Option<&CStr>, prog: &OwnedFd) -> Result<OwnedFd, Error> {
    let mut attr = RawTpAttr {
        name: tp.map_or(0, |t| t.as_ptr() as u64),
        prog_fd: prog.as_raw_fd() as u32,
        _pad: 0,
    };
    bpf(BPF_RAW_TRACEPOINT_OPEN, &mut attr)
        .map(owned_fd)
        .map_err(|e| Error::io(format!("bpf(BPF_RAW_TRACEPOINT_OPEN) for {tp:?}"), e))
}

#[repr(C)]
struct LinkCreateAttr {
    prog_fd: u32,
    target_fd: u32,
    attach_type: u32,
    flags: u32,
    /// `iter_info` / `iter_info_len`: iterator parameters; none (every task
    /// of our pid namespace) for the task iterator.
    iter_info: u64,
    iter_info_len: u32,
    _pad: u32,
}

/// `BPF_LINK_CREATE` for an iterator program: the link is what iterators
/// are created from, and keeps the program alive while held. For a task
/// iterator, `task_tid` narrows every walk to that one thread (Linux 6.1+,
/// `bpf_iter_link_info.task.tid`); `None` walks every task.
pub fn iter_link_create(prog: &OwnedFd, task_tid: Option<u32>) -> Result<OwnedFd, Error> {
    // union bpf_iter_link_info { struct { __u32 tid, pid, pid_fd; } task; … }
    let info: [u32; 3] = [task_tid.unwrap_or(0), 0, 0];
    let mut attr = LinkCreateAttr {
        prog_fd: prog.as_raw_fd() as u32,
        target_fd: 0,
        attach_type: TRACE_ITER,
        flags: 0,
        iter_info: if task_tid.is_some() {
            info.as_ptr() as u64
        } else {
            0
        },
        iter_info_len: if task_tid.is_some() { 12 } else { 0 },
        _pad: 0,
    };
    bpf(BPF_LINK_CREATE, &mut attr)
        .map(owned_fd)
        .map_err(|e| Error::io("bpf(BPF_LINK_CREATE) for the task iterator", e))
}

#[repr(C)]
struct IterCreateAttr {
    link_fd: u32,
    flags: u32,
}

/// `BPF_ITER_CREATE`: a fresh iterator over `link`; each `read()` of the
/// returned fd runs the program over the next objects, 0 at the end.
///
/// The kernel checks no capability here (kernel/bpf/syscall.c,
/// `bpf_iter_create`): holding the link fd is the permission, so this
/// works after every capability is dropped on Linux >= 6.5. Before 6.5,
/// `kernel.unprivileged_bpf_disabled` made every `bpf()` command need
/// CAP_BPF, this one included (see `privilege::bpf_reads_need_cap`).
pub fn iter_create(link: &OwnedFd) -> io::Result<OwnedFd> {
    let mut attr = IterCreateAttr {
        link_fd: link.as_raw_fd() as u32,
        flags: 0,
    };
    bpf(BPF_ITER_CREATE, &mut attr).map(owned_fd)
}

#[repr(C)]
struct EnableStatsAttr {
    kind: u32,
}

/// `BPF_ENABLE_STATS` (`BPF_STATS_RUN_TIME`): the kernel counts run time
/// and runs of every BPF program for as long as the returned fd is open,
/// like `kernel.bpf_stats_enabled=1`, and stops by itself when it closes
/// (or the process dies). Needs CAP_SYS_ADMIN.
pub fn enable_stats() -> io::Result<OwnedFd> {
    let mut attr = EnableStatsAttr { kind: 0 };
    bpf(BPF_ENABLE_STATS, &mut attr).map(owned_fd)
}

#[repr(C)]
struct ElemAttr {
    map_fd: u32,
    _pad: u32,
    key: u64,
    value: u64,
    flags: u64,
}

/// `BPF_MAP_LOOKUP_ELEM` into `value`, which must be the map's value size
/// (times the possible CPUs for per-CPU maps). `Ok(false)`: no such key.
pub fn lookup_elem<K, V>(map: &OwnedFd, key: &K, value: &mut [V]) -> io::Result<bool> {
    let mut attr = ElemAttr {
        map_fd: map.as_raw_fd() as u32,
        _pad: 0,
        key: key as *const K as u64,
        value: value.as_mut_ptr() as u64,
        flags: 0,
    };
    match bpf(BPF_MAP_LOOKUP_ELEM, &mut attr) {
        Ok(_) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
        Err(e) => Err(e),
    }
}

/// `BPF_MAP_UPDATE_ELEM` with `flags` (`NOEXIST`, …).
pub fn update_elem<K, V>(map: &OwnedFd, key: &K, value: &V, flags: u64) -> io::Result<()> {
    let mut attr = ElemAttr {
        map_fd: map.as_raw_fd() as u32,
        _pad: 0,
        key: key as *const K as u64,
        value: value as *const V as u64,
        flags,
    };
    bpf(BPF_MAP_UPDATE_ELEM, &mut attr).map(|_| ())
}

/// `BPF_MAP_DELETE_ELEM`; a missing key is not an error.
pub fn delete_elem<K>(map: &OwnedFd, key: &K) -> io::Result<()> {
    let mut attr = ElemAttr {
        map_fd: map.as_raw_fd() as u32,
        _pad: 0,
        key: key as *const K as u64,
        value: 0,
        flags: 0,
    };
    match bpf(BPF_MAP_DELETE_ELEM, &mut attr) {
        Err(e) if e.raw_os_error() != Some(libc::ENOENT) => Err(e),
        _ => Ok(()),
    }
}

/// `BPF_MAP_GET_NEXT_KEY`: the key after `key` (the first when `None`);
/// `Ok(false)` at the end of the map.
pub fn get_next_key<K>(map: &OwnedFd, key: Option<&K>, next: &mut K) -> io::Result<bool> {
    let mut attr = ElemAttr {
        map_fd: map.as_raw_fd() as u32,
        _pad: 0,
        key: key.map_or(0, |k| k as *const K as u64),
        value: next as *mut K as u64,
        flags: 0,
    };
    match bpf(BPF_MAP_GET_NEXT_KEY, &mut attr) {
        Ok(_) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
        Err(e) => Err(e),
    }
}

#[repr(C)]
struct BatchAttr {
    in_batch: u64,
    out_batch: u64,
    keys: u64,
    values: u64,
    count: u32,
    map_fd: u32,
    elem_flags: u64,
    flags: u64,
}

/// One `BPF_MAP_LOOKUP_BATCH` call, resuming after `token` unless `first`.
/// Returns how many entries were written and whether the map is exhausted.
///
/// # Safety
/// `keys` and `values` must be valid for writes of `room` keys and values.
pub unsafe fn lookup_batch<K, V>(
    map: &OwnedFd,
    first: bool,
    token: &mut u64,
    keys: *mut K,
    values: *mut V,
    room: u32,
) -> io::Result<(u32, bool)> {
    let mut in_token = *token;
    let mut attr = BatchAttr {
        in_batch: if first {
            0
        } else {
            &mut in_token as *mut u64 as u64
        },
        out_batch: token as *mut u64 as u64,
        keys: keys as u64,
        values: values as u64,
        count: room,
        map_fd: map.as_raw_fd() as u32,
        elem_flags: 0,
        flags: 0,
    };
    match bpf(BPF_MAP_LOOKUP_BATCH, &mut attr) {
        Ok(_) => Ok((attr.count, false)),
        // ENOENT ends the walk; `count` still says what this call copied.
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok((attr.count, true)),
        Err(e) => Err(e),
    }
}

#[repr(C)]
struct InfoAttr {
    bpf_fd: u32,
    info_len: u32,
    info: u64,
}

/// The size of `struct bpf_prog_info` in the uapi header we read offsets
/// from; older kernels fill a prefix, newer ones accept it.
const PROG_INFO_LEN: usize = 232;
const RUN_TIME_NS_OFF: usize = 192;
const RUN_CNT_OFF: usize = 200;

/// A program's cumulative run time and run count (`bpf_prog_info`); both
/// stay zero unless `kernel.bpf_stats_enabled` is 1.
pub fn prog_run_stats(prog: &OwnedFd) -> io::Result<(u64, u64)> {
    let mut info = [0u8; PROG_INFO_LEN];
    let mut attr = InfoAttr {
        bpf_fd: prog.as_raw_fd() as u32,
        info_len: PROG_INFO_LEN as u32,
        info: info.as_mut_ptr() as u64,
    };
    bpf(BPF_OBJ_GET_INFO_BY_FD, &mut attr)?;
    let word = |off: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&info[off..off + 8]);
        u64::from_ne_bytes(b)
    };
    Ok((word(RUN_TIME_NS_OFF), word(RUN_CNT_OFF)))
}

/// Pushes `value` onto a stack or queue map (`BPF_MAP_UPDATE_ELEM` with no key).
pub fn push_elem<V>(map: &OwnedFd, value: &V) -> io::Result<()> {
    let mut attr = ElemAttr {
        map_fd: map.as_raw_fd() as u32,
        _pad: 0,
        key: 0,
        value: value as *const V as u64,
        flags: 0,
    };
    bpf(BPF_MAP_UPDATE_ELEM, &mut attr).map(|_| ())
}

/// A shared mapping of a `BPF_F_MMAPABLE` array map's values.
///
/// The kernel's `array_map_mmap` makes every page of the requested length
/// resident at `mmap` time (`remap_vmalloc_range`: no lazy faulting), so
/// callers map only the prefix in use ([`Mmap::prefix_len`]) and map again,
/// larger, when the used part outgrows it. The kernel allows any prefix:
/// it only checks that offset + length lie inside the map's values.
pub struct Mmap {
    ptr: *mut libc::c_void,
    len: usize,
}

/// The smallest prefix worth mapping: 16 pages hold about 1,100 of the
/// iterator's records or 700 of the probe's slots, a typical desktop's
/// thread count, so most machines never map again after start-up.
const MIN_PREFIX: usize = 64 * 1024;

impl Mmap {
    /// Maps the first `len` bytes of array map `map` (rounded up to pages).
    pub fn new(map: &OwnedFd, len: usize) -> io::Result<Mmap> {
        // SAFETY: a fresh shared read-only mapping of a BPF array map; the
        // kernel checks `len` against the map's size.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                map.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Mmap {
            ptr,
            len: round_to_page(len),
        })
    }

    /// How many bytes of a `total`-byte array to map when `used` of them are
    /// in use: the used part plus half again (threads come and go; a
    /// growing count should not remap every tick), at least [`MIN_PREFIX`],
    /// in whole pages, at most the whole array.
    pub fn prefix_len(used: usize, total: usize) -> usize {
        let want = used.saturating_add(used / 2).max(MIN_PREFIX);
        round_to_page(want).min(total)
    }

    /// Maps `map` again with `len` bytes, replacing this mapping (whose old
    /// pages the kernel releases). On failure the old mapping stays.
    pub fn remap(&mut self, map: &OwnedFd, len: usize) -> io::Result<()> {
        *self = Mmap::new(map, len)?;
        Ok(())
    }

    /// Start of the mapping.
    pub fn as_ptr(&self) -> *const u8 {
        self.ptr as *const u8
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the mapping is empty (never, for a created one).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// `len` rounded up to whole pages (what `mmap` maps and `munmap` frees).
fn round_to_page(len: usize) -> usize {
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    let page = if page > 0 { page as usize } else { 4096 };
    len.div_ceil(page).saturating_mul(page)
}

impl Drop for Mmap {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly what `new` mapped, once.
        unsafe { libc::munmap(self.ptr, self.len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_len_has_headroom_whole_pages_and_stays_inside_the_map() {
        let page = round_to_page(1);
        let total = 32768 * 56;
        // Nothing in use yet: the minimum, not the whole array.
        assert_eq!(Mmap::prefix_len(0, total), MIN_PREFIX);
        // ~430 threads of 56 bytes fit the minimum.
        assert_eq!(Mmap::prefix_len(430 * 56, total), MIN_PREFIX);
        // Past it: half again, rounded up to pages.
        let used = 9000 * 56;
        let len = Mmap::prefix_len(used, total);
        assert!(len >= used + used / 2 && len % page == 0 && len < used + used / 2 + page);
        // Never past the map (the kernel would refuse the mmap).
        assert_eq!(Mmap::prefix_len(total, total), total);
        assert_eq!(Mmap::prefix_len(MIN_PREFIX, MIN_PREFIX / 2), MIN_PREFIX / 2);
    }
}
