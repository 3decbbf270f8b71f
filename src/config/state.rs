//! Module states (`hover`, `focused`, `charging`, …) as bits of one `u32`,
//! so a segment carries its states by value and a state change is a plain
//! `!=`.
//!
//! A kind's own states ([`super::KindDef::states`]) take bits 0, 1, … in
//! the order the kind declares them; a custom module's script classes take
//! the bits after those; the common states take the top bits. Styles apply
//! in bit order, so later wins: a kind's own states in their declared
//! order, then `warning`, `critical`, and `hover` over all.

use super::KindDef;

/// States every module may be in: (name, meaning), in the order their
/// styles apply.
pub const COMMON: &[super::kind::Doc] = &[
    ("warning", "a value crossed its `warning` level"),
    ("critical", "a value crossed its `critical` level"),
    ("hover", "the pointer is over the module"),
];

/// The bit of the first common state.
const COMMON_FIRST: u32 = 32 - COMMON.len() as u32;

/// How many own states (and script classes) a kind may have.
pub const OWN_MAX: usize = COMMON_FIRST as usize;

/// `warning` is set.
pub const WARNING: u32 = 1 << COMMON_FIRST;
/// `critical` is set.
pub const CRITICAL: u32 = 1 << (COMMON_FIRST + 1);
/// `hover` is set.
pub const HOVER: u32 = 1 << (COMMON_FIRST + 2);

/// The bit of state `name` of `kind` (its own or a common one).
pub fn bit_of(kind: &KindDef, name: &str) -> Option<u32> {
    if let Some(i) = kind.states.iter().position(|(n, _)| *n == name) {
        return (i < OWN_MAX).then(|| 1 << i);
    }
    COMMON
        .iter()
        .position(|(n, _)| *n == name)
        .map(|i| 1 << (COMMON_FIRST + i as u32))
}

/// The names of the states set in `bits`, in the order their styles apply;
/// `classes` names the bits after the kind's own (a custom module's script
/// classes).
pub fn names<'a>(
    kind: &'a KindDef,
    classes: &'a [String],
    bits: u32,
) -> impl Iterator<Item = &'a str> + 'a {
    let own = kind.states.len();
    (0..32u32)
        .filter(move |b| bits & (1 << b) != 0)
        .filter_map(move |b| {
            let b = b as usize;
            if b >= COMMON_FIRST as usize {
                COMMON.get(b - COMMON_FIRST as usize).map(|(n, _)| *n)
            } else if b < own {
                kind.states.get(b).map(|(n, _)| *n)
            } else {
                classes.get(b - own).map(String::as_str)
            }
        })
}

/// Every state name `kind` may be in (own, then common).
pub fn all(kind: &KindDef) -> impl Iterator<Item = &'static str> + '_ {
    kind.states.iter().chain(COMMON).map(|(n, _)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: KindDef = KindDef {
        name: "k",
        states: &[("charging", ""), ("full", "")],
        ..KindDef::BASE
    };

    #[test]
    fn bits_and_names() {
        assert_eq!(bit_of(&K, "charging"), Some(1));
        assert_eq!(bit_of(&K, "full"), Some(2));
        assert_eq!(bit_of(&K, "hover"), Some(HOVER));
        assert_eq!(bit_of(&K, "critical"), Some(CRITICAL));
        assert_eq!(bit_of(&K, "nope"), None);
        let classes = vec!["wet".to_string()];
        let v: Vec<&str> = names(&K, &classes, 2 | 4 | WARNING | HOVER).collect();
        assert_eq!(v, ["full", "wet", "warning", "hover"]);
        assert_eq!(all(&K).count(), 5);
        const { assert!(WARNING < CRITICAL && CRITICAL < HOVER) };
    }
}
