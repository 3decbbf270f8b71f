//! A reader for the BTF type format (`Documentation/bpf/btf.rst`): enough
//! to walk structs, arrays and typedefs of the probe's own `.BTF` and of the
//! kernel's `/sys/kernel/btf/vmlinux` for CO-RE relocations.

use super::super::Error;

pub const KIND_INT: u32 = 1;
pub const KIND_PTR: u32 = 2;
pub const KIND_ARRAY: u32 = 3;
pub const KIND_STRUCT: u32 = 4;
pub const KIND_UNION: u32 = 5;
pub const KIND_ENUM: u32 = 6;
pub const KIND_FWD: u32 = 7;
pub const KIND_TYPEDEF: u32 = 8;
pub const KIND_VOLATILE: u32 = 9;
pub const KIND_CONST: u32 = 10;
pub const KIND_RESTRICT: u32 = 11;
pub const KIND_FUNC: u32 = 12;
pub const KIND_FUNC_PROTO: u32 = 13;
pub const KIND_VAR: u32 = 14;
pub const KIND_DATASEC: u32 = 15;
pub const KIND_FLOAT: u32 = 16;
pub const KIND_DECL_TAG: u32 = 17;
pub const KIND_TYPE_TAG: u32 = 18;
pub const KIND_ENUM64: u32 = 19;

const MAGIC: u16 = 0xeb9f;

/// A parsed BTF blob: the raw bytes plus where each type record starts.
pub struct Btf {
    data: Vec<u8>,
    types_start: usize,
    strs_start: usize,
    strs_len: usize,
    /// Byte offset of type `id` (index `id - 1`; id 0 is `void`).
    offsets: Vec<u32>,
}

/// One struct or union member.
#[derive(Clone, Copy, Debug)]
pub struct Member {
    pub name_off: u32,
    pub type_id: u32,
    /// Offset from the start of the enclosing type, in bits.
    pub bit_offset: u32,
    /// Non-zero for a bitfield.
    pub bitfield_size: u32,
}

/// An array's element type and length.
#[derive(Clone, Copy, Debug)]
pub struct Array {
    pub elem: u32,
    pub nelems: u32,
}

fn u32_at(d: &[u8], off: usize) -> Option<u32> {
    let b = d.get(off..off + 4)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn u16_at(d: &[u8], off: usize) -> Option<u16> {
    let b = d.get(off..off + 2)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

impl Btf {
    /// Parses a BTF blob (little-endian, as on every BPF host we run on).
    pub fn parse(data: Vec<u8>, what: &str) -> Result<Btf, Error> {
        let bad = |why: &str| Error::msg(format!("{what}: bad BTF: {why}"));
        if u16_at(&data, 0) != Some(MAGIC) {
            return Err(bad("wrong magic (or big-endian)"));
        }
        let field = |i: usize| u32_at(&data, 4 + 4 * i).ok_or_else(|| bad("short header"));
        let hdr_len = field(0)? as usize;
        let type_off = field(1)? as usize;
        let type_len = field(2)? as usize;
        let str_off = field(3)? as usize;
        let str_len = field(4)? as usize;
        let types_start = hdr_len + type_off;
        let strs_start = hdr_len + str_off;
        if types_start + type_len > data.len() || strs_start + str_len > data.len() {
            return Err(bad("sections past the end"));
        }
        let mut offsets = Vec::new();
        let mut pos = 0usize;
        while pos < type_len {
            offsets.push(pos as u32);
            let at = types_start + pos;
            let info = u32_at(&data, at + 4).ok_or_else(|| bad("truncated type"))?;
            let vlen = (info & 0xffff) as usize;
            let kind = (info >> 24) & 0x1f;
            let extra = match kind {
                KIND_INT => 4,
                KIND_PTR | KIND_FWD | KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT
                | KIND_FUNC | KIND_FLOAT | KIND_TYPE_TAG => 0,
                KIND_ARRAY => 12,
                KIND_STRUCT | KIND_UNION => 12 * vlen,
                KIND_ENUM => 8 * vlen,
                KIND_FUNC_PROTO => 8 * vlen,
                KIND_VAR => 4,
                KIND_DATASEC => 12 * vlen,
                KIND_DECL_TAG => 4,
                KIND_ENUM64 => 12 * vlen,
                k => return Err(bad(&format!("unknown kind {k}"))),
            };
            pos += 12 + extra;
        }
        if pos != type_len {
            return Err(bad("type section overruns"));
        }
        Ok(Btf {
            data,
            types_start,
            strs_start,
            strs_len: str_len,
            offsets,
        })
    }

    /// Highest type id.
    pub fn type_count(&self) -> u32 {
        self.offsets.len() as u32
    }

    fn rec(&self, id: u32) -> Option<usize> {
        if id == 0 {
            return None;
        }
        self.offsets
            .get(id as usize - 1)
            .map(|&o| self.types_start + o as usize)
    }

    fn word(&self, at: usize) -> u32 {
        // Every record was bounds-checked by `parse`.
        u32_at(&self.data, at).unwrap_or(0)
    }

    /// The kind of type `id` (0 for `void` or an unknown id).
    pub fn kind(&self, id: u32) -> u32 {
        self.rec(id)
            .map_or(0, |at| (self.word(at + 4) >> 24) & 0x1f)
    }

    fn vlen(&self, id: u32) -> usize {
        self.rec(id)
            .map_or(0, |at| (self.word(at + 4) & 0xffff) as usize)
    }

    fn kind_flag(&self, id: u32) -> bool {
        self.rec(id).is_some_and(|at| self.word(at + 4) >> 31 == 1)
    }

    /// The `size` / `type` word of the record.
    fn size_or_type(&self, id: u32) -> u32 {
        self.rec(id).map_or(0, |at| self.word(at + 8))
    }

    /// A string from the string section ("" when out of range).
    pub fn str_at(&self, off: u32) -> &str {
        let off = off as usize;
        if off >= self.strs_len {
            return "";
        }
        let s = &self.data[self.strs_start + off..self.strs_start + self.strs_len];
        let end = s.iter().position(|&b| b == 0).unwrap_or(s.len());
        std::str::from_utf8(&s[..end]).unwrap_or("")
    }

    /// The name of type `id` ("" for anonymous types).
    pub fn name(&self, id: u32) -> &str {
        self.rec(id).map_or("", |at| self.str_at(self.word(at)))
    }

    /// Follows typedefs and qualifiers to the type they name.
    pub fn skip_mods(&self, mut id: u32) -> u32 {
        // Bounded: a cycle of typedefs would be malformed BTF.
        for _ in 0..64 {
            match self.kind(id) {
                KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT | KIND_TYPE_TAG => {
                    id = self.size_or_type(id)
                }
                _ => return id,
            }
        }
        id
    }

    /// Size in bytes of type `id`, or `None` for sizeless kinds.
    pub fn size_of(&self, id: u32) -> Option<u64> {
        let id = self.skip_mods(id);
        match self.kind(id) {
            KIND_INT | KIND_STRUCT | KIND_UNION | KIND_ENUM | KIND_ENUM64 | KIND_FLOAT
            | KIND_DATASEC => Some(self.size_or_type(id) as u64),
            KIND_PTR => Some(8),
            KIND_ARRAY => {
                let a = self.array(id)?;
                Some(self.size_of(a.elem)? * a.nelems as u64)
            }
            _ => None,
        }
    }

    /// The members of struct or union `id`.
    pub fn members(&self, id: u32) -> impl Iterator<Item = Member> + '_ {
        let at = match self.kind(id) {
            KIND_STRUCT | KIND_UNION => self.rec(id),
            _ => None,
        };
        let n = if at.is_some() { self.vlen(id) } else { 0 };
        let flag = self.kind_flag(id);
        (0..n).map(move |i| {
            let m = at.unwrap_or(0) + 12 + 12 * i;
            let raw = self.word(m + 8);
            Member {
                name_off: self.word(m),
                type_id: self.word(m + 4),
                bit_offset: if flag { raw & 0xff_ffff } else { raw },
                bitfield_size: if flag { raw >> 24 } else { 0 },
            }
        })
    }

    /// Member `i` of struct or union `id`.
    pub fn member(&self, id: u32, i: usize) -> Option<Member> {
        self.members(id).nth(i)
    }

    /// The element type and length of array `id`.
    pub fn array(&self, id: u32) -> Option<Array> {
        if self.kind(id) != KIND_ARRAY {
            return None;
        }
        let at = self.rec(id)?;
        Some(Array {
            elem: self.word(at + 12),
            nelems: self.word(at + 20),
        })
    }

    /// Whether int type `id` is signed (`BTF_INT_SIGNED`).
    pub fn int_signed(&self, id: u32) -> bool {
        let id = self.skip_mods(id);
        match self.kind(id) {
            KIND_INT => self
                .rec(id)
                .is_some_and(|at| (self.word(at + 12) >> 24) & 1 == 1),
            KIND_ENUM | KIND_ENUM64 => self.kind_flag(id),
            _ => false,
        }
    }

    /// The ids of every type of `kind` named `name`.
    pub fn find_all<'a>(&'a self, kind: u32, name: &'a str) -> impl Iterator<Item = u32> + 'a {
        (1..=self.type_count()).filter(move |&id| self.kind(id) == kind && self.name(id) == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a tiny BTF: int, struct { int a; int b[3]; }, typedef.
    fn sample() -> Btf {
        let strs = b"\0int\0s\0a\0b\0t\0";
        let mut types: Vec<u8> = Vec::new();
        let mut push = |w: &[u32]| {
            for x in w {
                types.extend_from_slice(&x.to_le_bytes());
            }
        };
        // [1] int "int" size 4, signed, 32 bits
        push(&[1, KIND_INT << 24, 4, (1 << 24) | 32]);
        // [2] array of [1] x3 (index type 1)
        push(&[0, KIND_ARRAY << 24, 0, 1, 1, 3]);
        // [3] struct "s" size 16 { a: [1] @0, b: [2] @32 bits }
        push(&[5, (KIND_STRUCT << 24) | 2, 16, 7, 1, 0, 9, 2, 32]);
        // [4] typedef "t" -> [3]
        push(&[11, KIND_TYPEDEF << 24, 3]);
        let mut data = Vec::new();
        data.extend_from_slice(&MAGIC.to_le_bytes());
        data.extend_from_slice(&[1, 0]);
        for w in [
            24u32,
            0,
            types.len() as u32,
            types.len() as u32,
            strs.len() as u32,
        ] {
            data.extend_from_slice(&w.to_le_bytes());
        }
        data.extend_from_slice(&types);
        data.extend_from_slice(strs);
        Btf::parse(data, "test").expect("valid BTF")
    }

    #[test]
    fn walks_struct_array_typedef() {
        let b = sample();
        assert_eq!(b.type_count(), 4);
        assert_eq!(b.name(3), "s");
        assert_eq!(b.skip_mods(4), 3);
        assert_eq!(b.size_of(4), Some(16));
        assert_eq!(b.size_of(2), Some(12));
        let m: Vec<_> = b
            .members(3)
            .map(|m| (b.str_at(m.name_off).to_string(), m.bit_offset))
            .collect();
        assert_eq!(m, vec![("a".to_string(), 0), ("b".to_string(), 32)]);
        assert!(b.int_signed(1));
        assert_eq!(b.find_all(KIND_STRUCT, "s").collect::<Vec<_>>(), vec![3]);
    }

    #[test]
    fn rejects_garbage() {
        assert!(Btf::parse(vec![0; 8], "x").is_err());
    }
}
