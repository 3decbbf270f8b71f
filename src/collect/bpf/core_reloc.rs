//! CO-RE: rewrites the field offsets the probe was compiled with into the
//! running kernel's, from the records clang leaves in `.BTF.ext`.
//!
//! Each record names an instruction, a local (probe BTF) root type and an
//! access string like `0:3:1` (index into the root, then member/element
//! indices). We walk that path in the probe's BTF to learn the field
//! *names*, find the same names in the kernel's BTF (recursing into
//! anonymous members, which is where 6.x keeps `mm_struct.rss_stat`), and
//! patch the instruction with the kernel's offset, or with whether the
//! field exists.

use super::super::Error;
use super::btf::{self, Btf};

/// `enum bpf_core_relo_kind` values we apply.
const FIELD_BYTE_OFFSET: u32 = 0;
const FIELD_BYTE_SIZE: u32 = 1;
const FIELD_EXISTS: u32 = 2;
const FIELD_SIGNED: u32 = 3;

/// The helper id libbpf uses to poison an instruction whose relocation
/// matched nothing: the verifier rejects it only if it is reachable, so code
/// guarded by a field-existence check still loads.
const POISON_HELPER: i32 = 0xbad2310;

/// One CO-RE record of `.BTF.ext`.
#[derive(Clone, Copy, Debug)]
pub struct CoreRelo {
    /// Byte offset of the instruction in its section.
    pub insn_off: u32,
    pub type_id: u32,
    pub access_str_off: u32,
    pub kind: u32,
}

/// Reads the CO-RE records of `.BTF.ext`, grouped by section name.
pub fn parse_ext(ext: &[u8], btf: &Btf) -> Result<Vec<(String, Vec<CoreRelo>)>, Error> {
    let bad = |why: &str| Error::msg(format!("probe .BTF.ext: {why}"));
    let word = |off: usize| -> Result<u32, Error> {
        ext.get(off..off + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or_else(|| bad("truncated"))
    };
    if ext.get(0..2) != Some(&0xeb9fu16.to_le_bytes()[..]) {
        return Err(bad("wrong magic"));
    }
    let hdr_len = word(4)? as usize;
    // The core_relo fields arrived after func_info/line_info: short headers
    // simply have no CO-RE records.
    if hdr_len < 32 {
        return Ok(Vec::new());
    }
    let off = hdr_len + word(24)? as usize;
    let len = word(28)? as usize;
    if len == 0 {
        return Ok(Vec::new());
    }
    let end = off + len;
    if end > ext.len() {
        return Err(bad("core_relo past the end"));
    }
    let rec_size = word(off)? as usize;
    if rec_size < 16 {
        return Err(bad("core_relo record too small"));
    }
    let mut out = Vec::new();
    let mut pos = off + 4;
    while pos < end {
        let name = btf.str_at(word(pos)?).to_string();
        let n = word(pos + 4)? as usize;
        pos += 8;
        let mut relos = Vec::with_capacity(n);
        for _ in 0..n {
            if pos + rec_size > end {
                return Err(bad("record past the end"));
            }
            relos.push(CoreRelo {
                insn_off: word(pos)?,
                type_id: word(pos + 4)?,
                access_str_off: word(pos + 8)?,
                kind: word(pos + 12)?,
            });
            pos += rec_size;
        }
        out.push((name, relos));
    }
    Ok(out)
}

/// One step of an access path.
#[derive(Clone, Copy, Debug)]
enum Step<'a> {
    Member(&'a str),
    Index(u32),
}

/// The result of resolving a path in one BTF.
#[derive(Clone, Copy, Debug)]
struct Field {
    byte_offset: u64,
    type_id: u32,
}

/// `ident___flavour` names the same kernel type as `ident`.
fn essential_name(name: &str) -> &str {
    name.find("___").map_or(name, |i| &name[..i])
}

/// Parses the access string and walks it in the local BTF: the steps (by
/// name), the local field, and the root type.
fn local_path<'a>(
    local: &'a Btf,
    relo: &CoreRelo,
) -> Result<(u32, u32, Vec<Step<'a>>, Field), Error> {
    let spec = local.str_at(relo.access_str_off);
    let bad = |why: &str| Error::msg(format!("CO-RE access {spec:?}: {why}"));
    let mut idx = spec.split(':').map(|s| s.parse::<u32>());
    let first = idx
        .next()
        .and_then(|r| r.ok())
        .ok_or_else(|| bad("empty"))?;
    let root = local.skip_mods(relo.type_id);
    let root_size = local.size_of(root).ok_or_else(|| bad("sizeless root"))?;
    let mut cur = root;
    let mut off = first as u64 * root_size;
    let mut steps = Vec::new();
    for i in idx {
        let i = i.map_err(|_| bad("not a number"))?;
        let t = local.skip_mods(cur);
        match local.kind(t) {
            btf::KIND_STRUCT | btf::KIND_UNION => {
                let m = local
                    .member(t, i as usize)
                    .ok_or_else(|| bad("no such member"))?;
                if m.bitfield_size != 0 {
                    return Err(bad("bitfields are not supported"));
                }
                let name = local.str_at(m.name_off);
                if name.is_empty() {
                    return Err(bad("anonymous member in the probe's own types"));
                }
                steps.push(Step::Member(name));
                off += m.bit_offset as u64 / 8;
                cur = m.type_id;
            }
            btf::KIND_ARRAY => {
                let a = local.array(t).ok_or_else(|| bad("bad array"))?;
                steps.push(Step::Index(i));
                off += i as u64
                    * local
                        .size_of(a.elem)
                        .ok_or_else(|| bad("sizeless element"))?;
                cur = a.elem;
            }
            _ => return Err(bad("indexes into a scalar")),
        }
    }
    Ok((
        root,
        first,
        steps,
        Field {
            byte_offset: off,
            type_id: cur,
        },
    ))
}

/// Finds member `name` in struct/union `id`, looking inside anonymous
/// struct/union members too. Returns its bit offset and type.
fn find_member(btf: &Btf, id: u32, name: &str, depth: u32) -> Option<(u64, u32)> {
    if depth > 8 {
        return None;
    }
    for m in btf.members(id) {
        let mname = btf.str_at(m.name_off);
        if mname == name {
            if m.bitfield_size != 0 {
                return None;
            }
            return Some((m.bit_offset as u64, m.type_id));
        }
        if mname.is_empty() {
            let inner = btf.skip_mods(m.type_id);
            if matches!(btf.kind(inner), btf::KIND_STRUCT | btf::KIND_UNION) {
                if let Some((o, t)) = find_member(btf, inner, name, depth + 1) {
                    return Some((m.bit_offset as u64 + o, t));
                }
            }
        }
    }
    None
}

/// libbpf's `bpf_core_fields_are_compat`: could the local field's type be
/// read as the target's? Differently shaped fields (a struct where the
/// kernel has an array, as `rss_stat` before and after 6.2) are not.
fn compatible(local: &Btf, lid: u32, target: &Btf, tid: u32, depth: u32) -> bool {
    if depth > 8 {
        return false;
    }
    let l = local.skip_mods(lid);
    let t = target.skip_mods(tid);
    let (lk, tk) = (local.kind(l), target.kind(t));
    let composite = |k| k == btf::KIND_STRUCT || k == btf::KIND_UNION;
    if composite(lk) && composite(tk) {
        return true;
    }
    let enumish = |k| k == btf::KIND_ENUM || k == btf::KIND_ENUM64;
    if lk != tk && !(enumish(lk) && enumish(tk)) {
        return false;
    }
    match lk {
        btf::KIND_PTR | btf::KIND_FLOAT | btf::KIND_INT => true,
        btf::KIND_ENUM | btf::KIND_ENUM64 | btf::KIND_FWD => {
            let ln = essential_name(local.name(l));
            ln.is_empty() || ln == target.name(t)
        }
        btf::KIND_ARRAY => match (local.array(l), target.array(t)) {
            (Some(la), Some(ta)) => compatible(local, la.elem, target, ta.elem, depth + 1),
            _ => false,
        },
        _ => false,
    }
}

/// Walks `steps` from target root `root`.
fn target_field(
    target: &Btf,
    root: u32,
    first: u32,
    steps: &[Step],
    local: &Btf,
    lroot: u32,
) -> Option<Field> {
    let mut off = first as u64 * target.size_of(root)?;
    let mut cur = root;
    // The local type at each step, to check compatibility as we go.
    let mut lcur = lroot;
    for step in steps {
        let t = target.skip_mods(cur);
        let lt = local.skip_mods(lcur);
        match *step {
            Step::Member(name) => {
                if !matches!(target.kind(t), btf::KIND_STRUCT | btf::KIND_UNION) {
                    return None;
                }
                let (bits, ty) = find_member(target, t, name, 0)?;
                let (_, lty) = find_member(local, lt, name, 0)?;
                if !compatible(local, lty, target, ty, 0) {
                    return None;
                }
                off += bits / 8;
                cur = ty;
                lcur = lty;
            }
            Step::Index(i) => {
                let a = target.array(t)?;
                let la = local.array(lt)?;
                // A zero-length array is a flexible one: any index goes.
                if a.nelems != 0 && i >= a.nelems {
                    return None;
                }
                off += i as u64 * target.size_of(a.elem)?;
                cur = a.elem;
                lcur = la.elem;
            }
        }
    }
    Some(Field {
        byte_offset: off,
        type_id: cur,
    })
}

/// What one relocation resolved to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolved {
    /// Patch the instruction with this value.
    Value(u64),
    /// No kernel field matched: poison the instruction.
    Poison,
}

/// Resolves one record against the kernel's BTF.
pub fn resolve(local: &Btf, target: &Btf, relo: &CoreRelo) -> Result<(Resolved, u64), Error> {
    resolve_in(local, target, relo, &mut Candidates::default())
}

/// Kernel types by (kind, name), filled on first use: scanning the
/// kernel's ~100k types once per relocation would cost tens of ms.
#[derive(Default)]
pub struct Candidates {
    found: Vec<(u32, String, Vec<u32>)>,
}

impl Candidates {
    fn get(&mut self, target: &Btf, kind: u32, name: &str) -> &[u32] {
        let i = match self
            .found
            .iter()
            .position(|(k, n, _)| *k == kind && n == name)
        {
            Some(i) => i,
            None => {
                let ids = target.find_all(kind, name).collect();
                self.found.push((kind, name.to_string(), ids));
                self.found.len() - 1
            }
        };
        &self.found[i].2
    }
}

/// [`resolve`] with a cache of kernel candidates shared across records.
pub fn resolve_in(
    local: &Btf,
    target: &Btf,
    relo: &CoreRelo,
    cands: &mut Candidates,
) -> Result<(Resolved, u64), Error> {
    let (lroot, first, steps, lfield) = local_path(local, relo)?;
    let lkind = local.kind(lroot);
    let name = essential_name(local.name(lroot));
    if name.is_empty() {
        return Err(Error::msg("CO-RE relocation on an anonymous type"));
    }
    // Every candidate that matches must agree, as libbpf insists.
    let mut found: Option<Field> = None;
    for &cand in cands.get(target, lkind, name) {
        if let Some(f) = target_field(target, cand, first, &steps, local, lroot) {
            if let Some(prev) = found {
                if prev.byte_offset != f.byte_offset {
                    return Err(Error::msg(format!(
                        "CO-RE: kernel types named {name:?} disagree on a field offset"
                    )));
                }
            }
            found = Some(f);
        }
    }
    let local_value = match relo.kind {
        FIELD_BYTE_OFFSET => lfield.byte_offset,
        FIELD_BYTE_SIZE => local.size_of(lfield.type_id).unwrap_or(0),
        FIELD_EXISTS => 1,
        FIELD_SIGNED => local.int_signed(lfield.type_id) as u64,
        k => {
            return Err(Error::msg(format!(
                "CO-RE relocation kind {k} is not supported by this loader"
            )))
        }
    };
    let resolved = match (relo.kind, found) {
        (FIELD_EXISTS, f) => Resolved::Value(f.is_some() as u64),
        (_, None) => Resolved::Poison,
        (FIELD_BYTE_OFFSET, Some(f)) => Resolved::Value(f.byte_offset),
        (FIELD_BYTE_SIZE, Some(f)) => Resolved::Value(
            target
                .size_of(f.type_id)
                .ok_or_else(|| Error::msg("CO-RE: sizeless kernel field"))?,
        ),
        (_, Some(f)) => Resolved::Value(target.int_signed(f.type_id) as u64),
    };
    Ok((resolved, local_value))
}

const CLASS_LDX: u8 = 0x01;
const CLASS_ST: u8 = 0x02;
const CLASS_STX: u8 = 0x03;
const CLASS_ALU: u8 = 0x04;
const CLASS_ALU64: u8 = 0x07;
const SRC_K: u8 = 0x00;

/// Writes `r` into instruction `insn` (one 8-byte BPF instruction as a
/// little-endian u64). `local` is the value clang put there, checked so a
/// record that points at the wrong instruction fails loudly.
pub fn patch(insn: &mut u64, r: Resolved, local: u64) -> Result<(), Error> {
    let mut b = insn.to_le_bytes();
    let class = b[0] & 0x07;
    match r {
        Resolved::Poison => {
            // BPF_JMP | BPF_CALL to a helper that does not exist.
            b = [0x85, 0, 0, 0, 0, 0, 0, 0];
            b[4..8].copy_from_slice(&POISON_HELPER.to_le_bytes());
        }
        Resolved::Value(v) => match class {
            CLASS_ALU | CLASS_ALU64 if b[0] & 0x08 == SRC_K => {
                let imm = i32::from_le_bytes([b[4], b[5], b[6], b[7]]);
                if imm as i64 as u64 != local {
                    return Err(Error::msg(format!(
                        "CO-RE: instruction holds {imm}, relocation expected {local}"
                    )));
                }
                let v = i32::try_from(v).map_err(|_| Error::msg("CO-RE: value overflows imm"))?;
                b[4..8].copy_from_slice(&v.to_le_bytes());
            }
            CLASS_LDX | CLASS_ST | CLASS_STX => {
                let off = i16::from_le_bytes([b[2], b[3]]);
                if off as i64 as u64 != local {
                    return Err(Error::msg(format!(
                        "CO-RE: instruction offset {off}, relocation expected {local}"
                    )));
                }
                let v = i16::try_from(v).map_err(|_| Error::msg("CO-RE: value overflows off"))?;
                b[2..4].copy_from_slice(&v.to_le_bytes());
            }
            _ => {
                return Err(Error::msg(format!(
                    "CO-RE: cannot patch instruction opcode {:#04x}",
                    b[0]
                )))
            }
        },
    }
    *insn = u64::from_le_bytes(b);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patches_imm_and_off() {
        // r1 = 8 (BPF_ALU64 | BPF_MOV | BPF_K)
        let mut mov = u64::from_le_bytes([0xb7, 0x01, 0, 0, 8, 0, 0, 0]);
        patch(&mut mov, Resolved::Value(24), 8).expect("patch mov");
        assert_eq!(mov.to_le_bytes()[4], 24);
        // r1 = *(u64 *)(r2 + 16)
        let mut ldx = u64::from_le_bytes([0x79, 0x21, 16, 0, 0, 0, 0, 0]);
        patch(&mut ldx, Resolved::Value(40), 16).expect("patch ldx");
        assert_eq!(ldx.to_le_bytes()[2], 40);
        // Wrong expected local value: refuse.
        let mut again = u64::from_le_bytes([0xb7, 0x01, 0, 0, 8, 0, 0, 0]);
        assert!(patch(&mut again, Resolved::Value(1), 9).is_err());
        let mut p = mov;
        patch(&mut p, Resolved::Poison, 0).expect("poison");
        assert_eq!(p.to_le_bytes()[0], 0x85);
    }

    #[test]
    fn flavour_suffix_is_stripped() {
        assert_eq!(essential_name("mm_struct___pre62"), "mm_struct");
        assert_eq!(essential_name("task_struct"), "task_struct");
    }
}
