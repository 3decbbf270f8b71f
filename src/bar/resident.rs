//! What only start-up used, handed back once the bar runs.
//!
//! Start-up runs most of the program once: the config parser, the BPF
//! loader and its BTF parser, font discovery, the Wayland set-up. The kernel
//! maps a program's pages in 64 KiB blocks around each page touched, so
//! after start-up nearly all of the binary's code counts as resident, though
//! a steady tick runs a small part of it. Dropping the mapped pages of the
//! program's read-only segments lets only what runs afterwards come back
//! (the pages stay in the page cache: nothing is read from disk again). The
//! heap that start-up freed goes back to the kernel too.

/// Hands back the heap start-up freed and the pages of the program's own
/// code and constants; what runs next faults its pages back in.
pub fn release_startup_memory() {
    trim_heap();
    drop_program_pages();
}

/// Makes every thread allocate from glibc's main heap. Each worker thread
/// (compositor IPC, config reload, buses) would otherwise get an arena of
/// its own, whose freed pages outlive a burst (a 1 MB Sway tree read in the
/// compositor's worker stayed resident); one heap is trimmed by
/// [`trim_heap`] as a whole. The bar's threads rarely allocate at once, so
/// sharing one arena costs nothing measurable. Call before any thread starts.
pub fn one_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets glibc's own tuning; it is safe to call at
    // any time, and no arena beyond the main one exists yet.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

/// Returns the free pages of glibc's heap to the kernel.
pub fn trim_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks glibc's own arenas; no pointers of ours
    // are involved and it is safe to call at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// An entry of the dynamic section (`Elf64_Dyn`).
#[repr(C)]
struct Dyn {
    tag: i64,
    val: u64,
}

const DT_NULL: i64 = 0;
const DT_TEXTREL: i64 = 22;
const DT_FLAGS: i64 = 30;
const DF_TEXTREL: u64 = 0x4;

/// Drops the resident pages of the program's segments that are never
/// written (code, constants, symbol tables). Pages of a segment the dynamic
/// loader wrote into (relocations, RELRO) would come back as the file's
/// unrelocated bytes, so those segments are left alone, and so is a program
/// with text relocations.
fn drop_program_pages() {
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if page <= 0 {
        return;
    }
    let mut page = page as usize;
    // SAFETY: the callback only reads the headers the loader hands it, for
    // the duration of the call; `page` outlives the call.
    unsafe {
        libc::dl_iterate_phdr(Some(first_object), (&mut page as *mut usize).cast());
    }
}

/// `dl_iterate_phdr`'s callback: the first object is the program itself;
/// returning non-zero stops the walk there.
unsafe extern "C" fn first_object(
    info: *mut libc::dl_phdr_info,
    _size: libc::size_t,
    data: *mut libc::c_void,
) -> libc::c_int {
    // SAFETY: the loader passes a valid info for the call's duration, and
    // `data` is the `usize` drop_program_pages passed.
    let (info, page) = unsafe { (&*info, *(data as *const usize)) };
    if info.dlpi_phdr.is_null() {
        return 1;
    }
    // SAFETY: dlpi_phdr points at dlpi_phnum program headers, mapped for
    // the life of the program.
    let phdrs = unsafe { std::slice::from_raw_parts(info.dlpi_phdr, info.dlpi_phnum as usize) };
    let base = info.dlpi_addr as usize;
    let mut relro = (0usize, 0usize);
    for p in phdrs {
        match p.p_type {
            // SAFETY: PT_DYNAMIC locates the mapped dynamic section, an
            // array of entries ended by DT_NULL.
            libc::PT_DYNAMIC
                if unsafe { has_text_relocations((base + p.p_vaddr as usize) as *const Dyn) } =>
            {
                return 1;
            }
            libc::PT_GNU_RELRO => {
                let start = base + p.p_vaddr as usize;
                relro = (start, start + p.p_memsz as usize);
            }
            _ => {}
        }
    }
    for p in phdrs {
        if p.p_type != libc::PT_LOAD || p.p_flags & libc::PF_W != 0 || p.p_filesz != p.p_memsz {
            continue;
        }
        let start = base + p.p_vaddr as usize;
        let end = start + p.p_memsz as usize;
        if start < relro.1 && relro.0 < end {
            continue;
        }
        // Only whole pages inside the segment.
        let from = start.div_ceil(page) * page;
        let to = end / page * page;
        if to > from {
            // SAFETY: [from, to) lies inside a read-only, file-backed
            // segment of our own image that nothing ever wrote: dropped
            // pages are read back from the same file unchanged on the next
            // access. A failure only leaves them resident.
            unsafe {
                libc::madvise(from as *mut libc::c_void, to - from, libc::MADV_DONTNEED);
            }
        }
    }
    1
}

/// Whether the dynamic section at `d` asks for text relocations.
///
/// # Safety
/// `d` must point at a dynamic section ended by a `DT_NULL` entry.
unsafe fn has_text_relocations(mut d: *const Dyn) -> bool {
    loop {
        // SAFETY: the caller guarantees entries up to and including DT_NULL.
        let e = unsafe { &*d };
        match e.tag {
            DT_NULL => return false,
            DT_TEXTREL => return true,
            DT_FLAGS if e.val & DF_TEXTREL != 0 => return true,
            _ => {}
        }
        // SAFETY: not at DT_NULL yet, so the next entry exists.
        d = unsafe { d.add(1) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Resident KiB of this program's own read-only mappings.
    fn program_rss_kib() -> u64 {
        let exe = std::fs::read_link("/proc/self/exe").unwrap();
        let exe = exe.to_string_lossy().into_owned();
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let mut ours = false;
        let mut kib = 0;
        for line in smaps.lines() {
            let mut f = line.split_whitespace();
            let first = f.next().unwrap_or("");
            if first.contains('-') && !first.ends_with(':') {
                let perms = f.next().unwrap_or("");
                ours = !perms.contains('w') && line.ends_with(exe.as_str());
            } else if ours && first == "Rss:" {
                kib += f.next().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            }
        }
        kib
    }

    #[test]
    fn program_pages_come_back_only_when_run() {
        // Touch a good part of the program first (formatting, parsing).
        let before = program_rss_kib();
        assert!(
            before > 0,
            "no read-only mapping of {:?} found",
            std::env::current_exe()
        );
        release_startup_memory();
        let after = program_rss_kib();
        // Code keeps running: its pages come back as they are used.
        let v: Vec<String> = (0..100).map(|i| format!("{i:>4}")).collect();
        assert_eq!(v[42], "  42");
        assert!(
            after < before,
            "resident read-only KiB of the program: {before} before, {after} after"
        );
        println!("program's read-only pages resident: {before} KiB -> {after} KiB");
    }
}
