//! Name-ordered paging shared by the services: the token holds the last name returned.
//!
//! A page starts strictly after that name whatever was created or deleted in between, so
//! no entry that exists throughout is repeated or skipped, and a page costs
//! O(log n + page), not O(n).

use std::collections::BTreeMap;
use std::ops::Bound;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A token that memshift did not issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidToken;

/// One page of `map` after the position `token` names, keeping entries `keep` accepts.
///
/// # Errors
/// [`InvalidToken`] for a token memshift did not issue.
pub fn page<'a, V>(
    map: &'a BTreeMap<String, V>,
    token: Option<&str>,
    size: usize,
    keep: impl Fn(&V) -> bool,
) -> Result<(Vec<&'a V>, Option<String>), InvalidToken> {
    let start = match token {
        None => Bound::Unbounded,
        Some(token) => Bound::Excluded(decode_token(token)?),
    };
    let mut items = Vec::with_capacity(size.min(map.len()));
    let mut last: Option<&String> = None;
    let mut more = false;
    for (name, value) in map.range::<String, _>((start, Bound::Unbounded)) {
        if !keep(value) {
            continue;
        }
        if items.len() == size {
            more = true;
            break;
        }
        items.push(value);
        last = Some(name);
    }
    let token = if more {
        last.map(|name| encode_token(name))
    } else {
        None
    };
    Ok((items, token))
}

const TOKEN_PREFIX: &str = "memshift1:";

fn encode_token(name: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{TOKEN_PREFIX}{name}"))
}

fn decode_token(token: &str) -> Result<String, InvalidToken> {
    URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix(TOKEN_PREFIX).map(str::to_owned))
        .ok_or(InvalidToken)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_resume_after_the_last_name_even_when_it_is_gone() {
        let mut map: BTreeMap<String, u32> = (0..10).map(|i| (format!("u{i}"), i)).collect();
        let (first, token) = page(&map, None, 4, |_| true).unwrap();
        assert_eq!(first, [&0, &1, &2, &3]);
        map.remove("u3");
        map.remove("u4");
        let (second, token) = page(&map, token.as_deref(), 4, |_| true).unwrap();
        assert_eq!(second, [&5, &6, &7, &8]);
        let (third, token) = page(&map, token.as_deref(), 4, |_| true).unwrap();
        assert_eq!(third, [&9]);
        assert!(token.is_none());
        assert_eq!(
            page(&map, Some("garbage!"), 4, |_| true).unwrap_err(),
            InvalidToken
        );
        let (odd, _) = page(&map, None, 10, |v| v % 2 == 1).unwrap();
        assert_eq!(odd, [&1, &5, &7, &9]);
    }

    #[test]
    fn a_full_last_page_has_no_token() {
        let map: BTreeMap<String, u32> = (0..4).map(|i| (format!("u{i}"), i)).collect();
        let (items, token) = page(&map, None, 4, |_| true).unwrap();
        assert_eq!(items.len(), 4);
        assert!(token.is_none());
    }
}
