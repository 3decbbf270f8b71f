//! "Did you mean …?" for misspelt keys and names.

/// Edit distance between two short strings (Levenshtein, by characters).
pub fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The candidate closest to `word`, if it is close enough to be a typo
/// (at most a third of the word's length, and at least one edit allowed).
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (distance(word, c), c))
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_and_suggestions() {
        assert_eq!(distance("height", "heigth"), 2);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(
            nearest("heigth", ["position", "height", "font"]),
            Some("height")
        );
        assert_eq!(nearest("colour", ["colors", "font"]), Some("colors"));
        assert_eq!(nearest("spacing", ["colors", "font"]), None);
        assert_eq!(nearest("fnt", ["font"]), Some("font"));
        assert_eq!(nearest("zzzzzz", ["font"]), None);
    }
}
