//! Turns the embedded object into attached programs: maps created, map
//! references and CO-RE offsets patched, programs loaded and attached.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};

use super::super::Error;
use super::btf::{self, Btf};
use super::core_reloc;
use super::elf::{self, MapDef};
use super::syscall;

/// Where the running kernel describes its own types.
pub const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

/// `BPF_PSEUDO_MAP_FD` in an `LD_IMM64`'s source register: "imm is a map fd".
const PSEUDO_MAP_FD: u8 = 1;
/// `BPF_PSEUDO_KFUNC_CALL` in a call's source register: "imm is the BTF id
/// of a kernel function" (in vmlinux when `off` is 0).
const PSEUDO_KFUNC_CALL: u8 = 2;

/// A created map.
pub struct Map {
    pub def: MapDef,
    pub fd: OwnedFd,
}

/// A loaded program.
pub struct Prog {
    pub name: String,
    pub fd: OwnedFd,
    kind: syscall::ProgKind,
    tracepoint: String,
    /// Set once attached; closing it detaches the program.
    link: Option<OwnedFd>,
}

/// The probe, live in the kernel for as long as this is kept.
pub struct Loaded {
    pub maps: Vec<Map>,
    pub progs: Vec<Prog>,
}

impl Loaded {
    /// Attaches every program to its tracepoint through
    /// `BPF_RAW_TRACEPOINT_OPEN` (no tracefs, no perf events).
    pub fn attach(&mut self) -> Result<(), Error> {
        for p in &mut self.progs {
            if p.link.is_some() {
                continue;
            }
            let link = match p.kind {
                syscall::ProgKind::RawTracepoint => {
                    let name = CString::new(p.tracepoint.as_str())
                        .map_err(|_| Error::msg("bad tracepoint name"))?;
                    syscall::raw_tracepoint_open(Some(&name), &p.fd)?
                }
                // A tp_btf program named its tracepoint when it was loaded.
                syscall::ProgKind::TpBtf { .. } => syscall::raw_tracepoint_open(None, &p.fd)?,
                // An iterator attaches to nothing that runs by itself: the
                // link only says "this program walks tasks"; iterators
                // are created from it when someone wants a walk.
                syscall::ProgKind::Iter { .. } => syscall::iter_link_create(&p.fd, None)?,
            };
            p.link = Some(link);
        }
        Ok(())
    }

    /// Attaches task-iterator program `name` with every walk narrowed to
    /// thread `tid` (see [`syscall::iter_link_create`]).
    pub fn attach_task_iter(&mut self, name: &str, tid: u32) -> Result<(), Error> {
        let p = self
            .progs
            .iter_mut()
            .find(|p| p.name == name)
            .ok_or_else(|| Error::msg(format!("program {name:?} is not loaded")))?;
        if !matches!(p.kind, syscall::ProgKind::Iter { .. }) {
            return Err(Error::msg(format!("program {name:?} is not an iterator")));
        }
        p.link = Some(syscall::iter_link_create(&p.fd, Some(tid))?);
        Ok(())
    }

    /// The attached link of program `name` (for an iterator program, what
    /// `BPF_ITER_CREATE` takes).
    pub fn link(&self, name: &str) -> Result<&OwnedFd, Error> {
        self.progs
            .iter()
            .find(|p| p.name == name)
            .and_then(|p| p.link.as_ref())
            .ok_or_else(|| Error::msg(format!("program {name:?} is not loaded and attached")))
    }

    /// The map named `name`, with the key and value sizes the reader expects.
    pub fn map(&self, name: &str, key_size: usize, value_size: usize) -> Result<&Map, Error> {
        let m = self
            .maps
            .iter()
            .find(|m| m.def.name == name)
            .ok_or_else(|| Error::msg(format!("probe object has no map {name:?}")))?;
        if m.def.key_size as usize != key_size || m.def.value_size as usize != value_size {
            return Err(Error::msg(format!(
                "probe map {name:?} is {}/{} bytes, the reader expects {key_size}/{value_size}: \
                 probe.bpf.c and source.rs disagree",
                m.def.key_size, m.def.value_size
            )));
        }
        Ok(m)
    }
}

/// Reads the kernel's BTF. sysfs hands it out 4 KiB per `read()` (over a
/// thousand syscalls, tens of ms); kernels since 6.16 also let it be mapped,
/// which is several times faster.
fn read_kernel_btf() -> std::io::Result<Vec<u8>> {
    use std::os::fd::AsRawFd as _;
    let f = std::fs::File::open(VMLINUX_BTF)?;
    let len = f.metadata()?.len() as usize;
    if len > 0 {
        // SAFETY: a private read-only mapping of a file we hold open; it is
        // copied out and unmapped before returning.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                f.as_raw_fd(),
                0,
            )
        };
        if p != libc::MAP_FAILED {
            // SAFETY: `p` maps `len` readable bytes until the munmap below.
            let v = unsafe { std::slice::from_raw_parts(p as *const u8, len) }.to_vec();
            // SAFETY: unmapping what we mapped, once.
            unsafe { libc::munmap(p, len) };
            return Ok(v);
        }
    }
    std::fs::read(VMLINUX_BTF)
}

/// Creates the maps and loads every program in `object`, without attaching
/// (see [`Loaded::attach`]). Sections name the tracepoint: `raw_tp/NAME` or
/// `tp_btf/NAME`, or the iterator target: `iter/NAME`.
pub fn load(object: &[u8]) -> Result<Loaded, Error> {
    load_only(object, None)
}

/// Like [`load`], but only the programs named in `only` (every one when
/// `None`), and only the maps those programs use: the object holds both
/// collectors' programs, and neither should pay for the other's maps.
pub fn load_only(object: &[u8], only: Option<&[&str]>) -> Result<Loaded, Error> {
    load_sized(object, only, &[])
}

/// Like [`load_only`], with the maps named in `sizes` created with that
/// many entries instead of the object's (tables sized to the machine, or
/// grown when they ran out).
pub fn load_sized(
    object: &[u8],
    only: Option<&[&str]>,
    sizes: &[(&str, u32)],
) -> Result<Loaded, Error> {
    let mut obj = elf::parse(object)?;
    for def in &mut obj.maps {
        if let Some(&(_, n)) = sizes.iter().find(|(name, _)| *name == def.name) {
            def.max_entries = n;
        }
    }
    if let Some(names) = only {
        obj.programs.retain(|p| names.contains(&p.name.as_str()));
        if obj.programs.len() != names.len() {
            return Err(Error::msg(format!(
                "probe object lacks some of the programs {names:?}"
            )));
        }
    }
    // Object map index -> index into `maps`, for the maps in use.
    let mut created: Vec<Option<usize>> = vec![None; obj.maps.len()];
    let mut maps = Vec::with_capacity(obj.maps.len());
    for (i, def) in obj.maps.iter().enumerate() {
        let used = obj
            .programs
            .iter()
            .any(|p| p.map_relocs.iter().any(|&(_, mi)| mi == i));
        if !used {
            continue;
        }
        let fd = syscall::map_create(
            &def.name,
            def.map_type,
            def.key_size,
            def.value_size,
            def.max_entries,
            def.flags,
        )?;
        created[i] = Some(maps.len());
        maps.push(Map {
            def: def.clone(),
            fd,
        });
    }

    let local = match &obj.btf {
        Some(b) => Some(Btf::parse(b.clone(), "probe .BTF")?),
        None => None,
    };
    let relos = match (&local, &obj.btf_ext) {
        (Some(l), Some(ext)) => core_reloc::parse_ext(ext, l)?,
        _ => Vec::new(),
    };
    // The kernel's BTF is big (megabytes): read it only when needed, and
    // drop it once the programs are patched.
    let typed = obj
        .programs
        .iter()
        .any(|p| p.section.starts_with("tp_btf/") || p.section.starts_with("iter/"));
    let kernel = if typed || relos.iter().any(|(_, r)| !r.is_empty()) {
        let data = read_kernel_btf().map_err(|e| {
            Error::io(
                format!("reading {VMLINUX_BTF} (the kernel's BTF, needed for CO-RE)"),
                e,
            )
        })?;
        Some(Btf::parse(data, VMLINUX_BTF)?)
    } else {
        None
    };

    let license = CString::new(
        obj.license
            .split(|&b| b == 0)
            .next()
            .unwrap_or_default()
            .to_vec(),
    )
    .map_err(|_| Error::msg("probe object: bad license string"))?;

    let mut cands = core_reloc::Candidates::default();
    let mut progs = Vec::with_capacity(obj.programs.len());
    for p in obj.programs {
        let mut insns = p.insns;
        for &(at, mi) in &p.map_relocs {
            let insn = insns
                .get_mut(at)
                .ok_or_else(|| Error::msg("probe object: map relocation past the program"))?;
            let mut b = insn.to_le_bytes();
            if b[0] != 0x18 {
                return Err(Error::msg(format!(
                    "program {}: map relocation on a non-LD_IMM64 instruction",
                    p.name
                )));
            }
            // dst register stays in the low nibble, the source becomes "map fd".
            b[1] = (b[1] & 0x0f) | (PSEUDO_MAP_FD << 4);
            let m = created[mi].ok_or_else(|| Error::msg("probe object: map not created"))?;
            b[4..8].copy_from_slice(&maps[m].fd.as_raw_fd().to_le_bytes());
            *insn = u64::from_le_bytes(b);
        }
        for (at, func) in &p.kfunc_relocs {
            let kernel = kernel
                .as_ref()
                .ok_or_else(|| Error::msg("kernel function call without kernel BTF"))?;
            let id = kernel
                .find_all(btf::KIND_FUNC, func)
                .next()
                .ok_or_else(|| {
                    Error::msg(format!(
                        "program {}: the kernel has no function {func:?} to call",
                        p.name
                    ))
                })?;
            let insn = insns
                .get_mut(*at)
                .ok_or_else(|| Error::msg("probe object: kfunc relocation past the program"))?;
            let mut b = insn.to_le_bytes();
            if b[0] != 0x85 {
                return Err(Error::msg(format!(
                    "program {}: kfunc relocation on a non-call instruction",
                    p.name
                )));
            }
            b[1] = (b[1] & 0x0f) | (PSEUDO_KFUNC_CALL << 4);
            b[2..4].copy_from_slice(&0u16.to_le_bytes());
            b[4..8].copy_from_slice(&id.to_le_bytes());
            *insn = u64::from_le_bytes(b);
        }
        if let (Some(local), Some(kernel)) = (&local, &kernel) {
            for (_, recs) in relos.iter().filter(|(s, _)| *s == p.section) {
                for r in recs {
                    let (resolved, local_value) =
                        core_reloc::resolve_in(local, kernel, r, &mut cands)
                            .map_err(|e| Error::msg(format!("program {}: {e}", p.name)))?;
                    let insn = insns
                        .get_mut(r.insn_off as usize / 8)
                        .ok_or_else(|| Error::msg("probe object: CO-RE record past the program"))?;
                    core_reloc::patch(insn, resolved, local_value)
                        .map_err(|e| Error::msg(format!("program {}: {e}", p.name)))?;
                }
            }
        }
        let (kind, tp) = if let Some(tp) = p.section.strip_prefix("raw_tp/") {
            (syscall::ProgKind::RawTracepoint, tp)
        } else if let Some(tp) = p.section.strip_prefix("tp_btf/") {
            let kernel = kernel
                .as_ref()
                .ok_or_else(|| Error::msg("tp_btf program without kernel BTF"))?;
            let typedef = format!("btf_trace_{tp}");
            let id = kernel
                .find_all(btf::KIND_TYPEDEF, &typedef)
                .next()
                .ok_or_else(|| {
                    Error::msg(format!(
                        "the kernel's BTF has no tracepoint {tp:?} ({typedef})"
                    ))
                })?;
            (syscall::ProgKind::TpBtf { attach_btf_id: id }, tp)
        } else if let Some(rest) = p.section.strip_prefix("iter/") {
            // `iter/TARGET`, or `iter/TARGET/NAME` to give a second program
            // on the same target its own section.
            let target = rest.split('/').next().unwrap_or(rest);
            let kernel = kernel
                .as_ref()
                .ok_or_else(|| Error::msg("iter program without kernel BTF"))?;
            // Iterator targets are registered as `bpf_iter_<target>`
            // functions (Linux 5.8+; `task` since the start).
            let func = format!("bpf_iter_{target}");
            let id = kernel
                .find_all(btf::KIND_FUNC, &func)
                .next()
                .ok_or_else(|| {
                    Error::msg(format!(
                        "the kernel's BTF has no BPF iterator {target:?} ({func}): Linux 5.8+ needed"
                    ))
                })?;
            (syscall::ProgKind::Iter { attach_btf_id: id }, target)
        } else {
            return Err(Error::msg(format!(
                "program {}: section {:?} is not raw_tp/NAME, tp_btf/NAME or iter/NAME",
                p.name, p.section
            )));
        };
        let fd = syscall::prog_load(&p.name, kind, &insns, &license)?;
        progs.push(Prog {
            tracepoint: tp.to_string(),
            name: p.name,
            fd,
            kind,
            link: None,
        });
    }
    Ok(Loaded { maps, progs })
}
