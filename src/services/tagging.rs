//! Tag lists shared by the services: keys and values as pairs, in the order they were
//! first set.

/// `current` with `new` added or replaced by key; `None` when that would be more than
/// `max` tags.
#[must_use]
pub fn merge(
    current: &[(String, String)],
    new: Vec<(String, String)>,
    max: usize,
) -> Option<Vec<(String, String)>> {
    let mut merged = current.to_vec();
    for (key, value) in new {
        match merged.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => merged.push((key, value)),
        }
    }
    (merged.len() <= max).then_some(merged)
}

#[cfg(test)]
mod tests {
    use super::merge;

    #[test]
    fn new_keys_are_added_and_known_keys_replaced_within_the_limit() {
        let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        let current = [pair("a", "1"), pair("b", "2")];
        let merged = merge(&current, vec![pair("b", "3"), pair("c", "4")], 3).unwrap();
        assert_eq!(merged, [pair("a", "1"), pair("b", "3"), pair("c", "4")]);
        assert_eq!(merge(&current, vec![pair("c", "4")], 2), None);
    }
}
