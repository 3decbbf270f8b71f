//! Reads the probe object: its programs (with the map relocations they
//! need), its legacy `maps` definitions, its license and its BTF.

use goblin::elf::{section_header, sym, Elf};

use super::super::Error;

/// One `struct map_def` from the `maps` section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapDef {
    pub name: String,
    /// Offset of the definition in the `maps` section: what relocations point at.
    pub offset: u64,
    pub map_type: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub flags: u32,
}

/// A program section.
#[derive(Clone, Debug)]
pub struct Program {
    /// The function's symbol name (`on_switch`).
    pub name: String,
    /// The ELF section name (`raw_tp/sched_switch`): says where it attaches.
    pub section: String,
    /// Instructions as raw little-endian words.
    pub insns: Vec<u64>,
    /// (instruction index, index into `Object::maps`) for each `LD_IMM64`
    /// that loads a map's address.
    pub map_relocs: Vec<(usize, usize)>,
    /// (instruction index, function name) for each call of a kernel
    /// function (kfunc), resolved against the kernel's BTF at load.
    pub kfunc_relocs: Vec<(usize, String)>,
}

/// Everything the loader needs from the object.
pub struct Object {
    pub programs: Vec<Program>,
    pub maps: Vec<MapDef>,
    pub license: Vec<u8>,
    pub btf: Option<Vec<u8>>,
    pub btf_ext: Option<Vec<u8>>,
}

/// The size of `struct map_def` in probe.bpf.c: five u32s.
const MAP_DEF_SIZE: usize = 20;
/// `R_BPF_64_64`: the relocation clang emits for `ld_imm64` of a symbol.
const R_BPF_64_64: u32 = 1;
/// `R_BPF_64_32`: a call to a function symbol; to an undefined one (an
/// `extern ... __ksym` declaration) it is a kernel function call.
const R_BPF_64_32: u32 = 10;

fn section_bytes<'a>(
    bytes: &'a [u8],
    sh: &section_header::SectionHeader,
) -> Result<&'a [u8], Error> {
    if sh.sh_type == section_header::SHT_NOBITS {
        return Ok(&[]);
    }
    let start = sh.sh_offset as usize;
    bytes
        .get(start..start + sh.sh_size as usize)
        .ok_or_else(|| Error::msg("probe object: section past the end of the file"))
}

fn u32_le(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Parses a BPF ELF object.
pub fn parse(bytes: &[u8]) -> Result<Object, Error> {
    let elf = Elf::parse(bytes).map_err(|e| Error::msg(format!("probe object: {e}")))?;
    if elf.header.e_machine != goblin::elf::header::EM_BPF {
        return Err(Error::msg("probe object: not a BPF ELF"));
    }
    let sec_name = |i: usize| -> &str {
        elf.section_headers
            .get(i)
            .and_then(|sh| elf.shdr_strtab.get_at(sh.sh_name))
            .unwrap_or("")
    };

    let mut maps_idx = None;
    let mut license = Vec::new();
    let mut btf = None;
    let mut btf_ext = None;
    for (i, sh) in elf.section_headers.iter().enumerate() {
        match sec_name(i) {
            "maps" => maps_idx = Some(i),
            "license" => license = section_bytes(bytes, sh)?.to_vec(),
            ".BTF" => btf = Some(section_bytes(bytes, sh)?.to_vec()),
            ".BTF.ext" => btf_ext = Some(section_bytes(bytes, sh)?.to_vec()),
            _ => {}
        }
    }

    let mut maps = Vec::new();
    if let Some(mi) = maps_idx {
        let data = section_bytes(bytes, &elf.section_headers[mi])?;
        for s in elf.syms.iter() {
            if s.st_shndx != mi || s.st_type() == sym::STT_SECTION {
                continue;
            }
            let at = s.st_value as usize;
            if at + MAP_DEF_SIZE > data.len() {
                return Err(Error::msg("probe object: map definition past the end"));
            }
            maps.push(MapDef {
                name: elf.strtab.get_at(s.st_name).unwrap_or("").to_string(),
                offset: s.st_value,
                map_type: u32_le(data, at),
                key_size: u32_le(data, at + 4),
                value_size: u32_le(data, at + 8),
                max_entries: u32_le(data, at + 12),
                flags: u32_le(data, at + 16),
            });
        }
    }

    let mut programs = Vec::new();
    for (i, sh) in elf.section_headers.iter().enumerate() {
        if sh.sh_type != section_header::SHT_PROGBITS
            || sh.sh_flags & section_header::SHF_EXECINSTR as u64 == 0
            || sh.sh_size == 0
        {
            continue;
        }
        let data = section_bytes(bytes, sh)?;
        if data.len() % 8 != 0 {
            return Err(Error::msg(format!(
                "probe object: section {} is not whole instructions",
                sec_name(i)
            )));
        }
        let insns = data
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect();
        let name = elf
            .syms
            .iter()
            .find(|s| s.st_shndx == i && s.st_type() == sym::STT_FUNC && s.st_value == 0)
            .and_then(|s| elf.strtab.get_at(s.st_name))
            .unwrap_or_else(|| sec_name(i))
            .to_string();
        let mut map_relocs = Vec::new();
        let mut kfunc_relocs = Vec::new();
        for (ri, rels) in &elf.shdr_relocs {
            if elf.section_headers[*ri].sh_info as usize != i {
                continue;
            }
            for r in rels.iter() {
                let s = elf
                    .syms
                    .get(r.r_sym)
                    .ok_or_else(|| Error::msg("probe object: relocation to a missing symbol"))?;
                if r.r_type == R_BPF_64_32 && s.st_shndx == 0 {
                    let name = elf.strtab.get_at(s.st_name).unwrap_or("").to_string();
                    kfunc_relocs.push((r.r_offset as usize / 8, name));
                    continue;
                }
                let target = Some(s.st_shndx) == maps_idx;
                if r.r_type != R_BPF_64_64 || !target {
                    return Err(Error::msg(format!(
                        "probe object: unsupported relocation in {} (type {}, symbol {:?}); \
                         only map references and kernel function calls are",
                        sec_name(i),
                        r.r_type,
                        elf.strtab.get_at(s.st_name).unwrap_or("?")
                    )));
                }
                let map = maps
                    .iter()
                    .position(|m| m.offset == s.st_value)
                    .ok_or_else(|| Error::msg("probe object: relocation to an unknown map"))?;
                map_relocs.push((r.r_offset as usize / 8, map));
            }
        }
        programs.push(Program {
            name,
            section: sec_name(i).to_string(),
            insns,
            map_relocs,
            kfunc_relocs,
        });
    }
    Ok(Object {
        programs,
        maps,
        license,
        btf,
        btf_ext,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_function_calls_are_relocations_of_their_own() {
        let obj = parse(crate::collect::bpf::PROBE_OBJECT).expect("the embedded probe parses");
        let walk = obj
            .programs
            .iter()
            .find(|p| p.name == "walk_tasks")
            .expect("walk_tasks");
        assert_eq!(walk.section, "iter/task/walk");
        let mut names: Vec<&str> = walk.kfunc_relocs.iter().map(|(_, n)| n.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(
            names,
            [
                "bpf_iter_task_destroy",
                "bpf_iter_task_new",
                "bpf_iter_task_next"
            ]
        );
        for &(at, _) in &walk.kfunc_relocs {
            // A call instruction (BPF_JMP | BPF_CALL), as clang left it.
            assert_eq!(walk.insns[at] & 0xff, 0x85);
        }
        // The other programs call no kernel functions.
        assert!(obj
            .programs
            .iter()
            .filter(|p| p.name != "walk_tasks")
            .all(|p| p.kfunc_relocs.is_empty()));
        assert!(obj.programs.iter().any(|p| p.section == "iter/task"));
    }
}
