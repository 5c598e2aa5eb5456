//! "did you mean `X`?" for unknown keywords: the closest known keyword by edit distance.

/// Levenshtein distance, bounded inputs (keywords are short).
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The candidate nearest to `word`, if it is near enough to be a plausible typo
/// (distance at most a third of the word, at least 1, at most 4).
pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    if word.len() > 64 {
        return None;
    }
    let limit = (word.chars().count() / 3).clamp(1, 4);
    let len = word.chars().count();
    candidates
        .into_iter()
        // The distance is at least the length difference: skip hopeless candidates cheaply.
        .filter(|c| c.len().abs_diff(len) <= limit)
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, c)| (*d, *c))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_their_keyword() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(
            closest("advert_intt", ["advert_int", "priority"]),
            Some("advert_int")
        );
        assert_eq!(closest("raise", ["rise", "fall"]), Some("rise"));
        assert_eq!(closest("zzzzzz", ["rise", "fall"]), None);
    }
}
