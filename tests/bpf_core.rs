//! CO-RE against real and synthetic kernels: the probe's relocations
//! resolve on this kernel (≥ 6.2: `rss_stat` is a `percpu_counter` array
//! inside an anonymous struct), and on a pre-6.2 layout (`struct
//! mm_rss_stat { atomic_long_t count[4]; }`) the other branch is the one
//! that resolves. No privilege needed: this only reads BTF.

mod common;

use rstat::collect::bpf::btf::Btf;
use rstat::collect::bpf::core_reloc::{self, Resolved};
use rstat::collect::bpf::{elf, loader, PROBE_OBJECT};

/// (root type name, access string, kind, result) for every relocation.
fn resolve_all(target: &Btf) -> Vec<(String, String, u32, Resolved)> {
    let obj = elf::parse(PROBE_OBJECT).expect("parse probe");
    let local = Btf::parse(obj.btf.expect(".BTF"), "probe").expect("probe BTF");
    let ext = core_reloc::parse_ext(&obj.btf_ext.expect(".BTF.ext"), &local).expect("ext");
    let mut out = Vec::new();
    for (_, relos) in ext {
        for r in relos {
            let (res, _) = core_reloc::resolve(&local, target, &r).expect("resolve");
            let name = local.name(local.skip_mods(r.type_id)).to_string();
            let access = local.str_at(r.access_str_off).to_string();
            out.push((name, access, r.kind, res));
        }
    }
    out
}

const FIELD_EXISTS: u32 = 2;

#[test]
fn this_kernel_takes_the_percpu_counter_branch() {
    let path = loader::VMLINUX_BTF;
    if !common::need(std::path::Path::new(path).exists(), "needs kernel BTF") {
        return;
    }
    let kernel = Btf::parse(std::fs::read(path).expect("read vmlinux BTF"), path).expect("parse");
    let all = resolve_all(&kernel);
    assert!(all.len() > 10, "the probe has CO-RE relocations: {all:?}");
    for (name, access, kind, res) in &all {
        match name.as_str() {
            "mm_struct" if *kind == FIELD_EXISTS => assert_eq!(*res, Resolved::Value(1)),
            "mm_struct___pre62" => assert_eq!(*res, Resolved::Poison, "{access}"),
            _ => assert!(
                matches!(res, Resolved::Value(_)),
                "{name} {access}: {res:?}"
            ),
        }
    }
}

/// Little BTF writer for the synthetic pre-6.2 kernel.
struct Writer {
    types: Vec<u8>,
    strs: Vec<u8>,
}

impl Writer {
    fn new() -> Writer {
        Writer {
            types: Vec::new(),
            strs: vec![0],
        }
    }
    fn s(&mut self, name: &str) -> u32 {
        if name.is_empty() {
            return 0;
        }
        let off = self.strs.len() as u32;
        self.strs.extend_from_slice(name.as_bytes());
        self.strs.push(0);
        off
    }
    fn w(&mut self, words: &[u32]) {
        for x in words {
            self.types.extend_from_slice(&x.to_le_bytes());
        }
    }
    fn finish(self) -> Btf {
        let mut d = Vec::new();
        d.extend_from_slice(&0xeb9fu16.to_le_bytes());
        d.extend_from_slice(&[1, 0]);
        let tl = self.types.len() as u32;
        for x in [24u32, 0, tl, tl, self.strs.len() as u32] {
            d.extend_from_slice(&x.to_le_bytes());
        }
        d.extend_from_slice(&self.types);
        d.extend_from_slice(&self.strs);
        Btf::parse(d, "synthetic").expect("valid synthetic BTF")
    }
}

#[test]
fn a_pre_6_2_kernel_takes_the_atomic_branch() {
    let mut b = Writer::new();
    let (long, counter, atomic, int) = (
        b.s("long"),
        b.s("counter"),
        b.s("atomic_long_t"),
        b.s("int"),
    );
    let (rss, count, mm, rss_stat) = (
        b.s("mm_rss_stat"),
        b.s("count"),
        b.s("mm_struct"),
        b.s("rss_stat"),
    );
    b.w(&[long, 1 << 24, 8, (1 << 24) | 64]); // [1] long
    b.w(&[0, (4 << 24) | 1, 8, counter, 1, 0]); // [2] struct { long counter; }
    b.w(&[atomic, 8 << 24, 2]); // [3] typedef atomic_long_t
    b.w(&[int, 1 << 24, 4, (1 << 24) | 32]); // [4] int
    b.w(&[0, 3 << 24, 0, 3, 4, 4]); // [5] atomic_long_t[4]
    b.w(&[rss, (4 << 24) | 1, 32, count, 5, 0]); // [6] struct mm_rss_stat
    b.w(&[mm, (4 << 24) | 1, 64, rss_stat, 6, 16 * 8]); // [7] mm_struct { rss_stat @16 }
    let target = b.finish();
    let all = resolve_all(&target);
    let mut old_offsets = Vec::new();
    for (name, access, kind, res) in &all {
        match (name.as_str(), *kind) {
            ("mm_struct", FIELD_EXISTS) => {
                assert_eq!(*res, Resolved::Value(0), "new layout absent")
            }
            ("mm_struct", _) => assert_eq!(*res, Resolved::Poison, "{access}"),
            ("mm_struct___pre62", _) => match res {
                Resolved::Value(v) => old_offsets.push(*v),
                Resolved::Poison => panic!("old layout must resolve: {access}"),
            },
            _ => {}
        }
    }
    old_offsets.sort_unstable();
    // snapshot() is inlined twice (update in place, insert): same records twice.
    old_offsets.dedup();
    // count[0], count[1], count[3] after rss_stat's 16-byte offset.
    assert_eq!(old_offsets, vec![16, 24, 40]);
}
