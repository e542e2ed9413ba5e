//! Access strings: validation and the canonical form AWS stores.
//!
//! An access string is a list of Redis ACL rules. MemoryDB refuses rules that carry or
//! reset passwords (passwords belong to the user's authentication mode) and rewrites the
//! rest in a fixed order: the on/off state (`off` when none is given), the key rules, the
//! channel rules (`resetchannels` when none is given), then the command rules, led by
//! `-@all` unless they already start from an absolute rule:
//!
//! ```text
//! ~objects:* ~items:* ~public:*  ->  off ~objects:* ~items:* ~public:* resetchannels -@all
//! on ~app::* +@read              ->  on ~app::* resetchannels -@all +@read
//! on ~* &* +@all                 ->  on ~* &* +@all
//! ```

/// Command categories Redis and MemoryDB know.
const CATEGORIES: &[&str] = &[
    "all",
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
    "json",
    "search",
];

/// Validates an access string and returns its canonical form, or a message saying what
/// is wrong (which never repeats a password-like rule).
///
/// # Errors
/// A message for `InvalidParameterValueException`.
pub fn canonicalize(input: &str) -> Result<String, String> {
    let mut state: Option<&'static str> = None;
    let mut keys: Vec<String> = Vec::new();
    let mut channels: Vec<String> = Vec::new();
    let mut commands: Vec<String> = Vec::new();
    for token in input.split_whitespace() {
        let lower = token.to_ascii_lowercase();
        match lower.as_str() {
            "on" => state = Some("on"),
            "off" => state = Some("off"),
            "allkeys" | "resetkeys" => keys.push(lower),
            "allchannels" | "resetchannels" => channels.push(lower),
            "allcommands" | "nocommands" => commands.push(lower),
            "nopass" | "resetpass" => {
                return Err(format!(
                    "Access string can't contain {lower}: passwords are set through AuthenticationMode."
                ));
            }
            "reset" => return Err("Access string can't contain reset.".to_owned()),
            _ => classify_pattern(token, &mut keys, &mut channels, &mut commands)?,
        }
    }
    if state.is_none() && keys.is_empty() && channels.is_empty() && commands.is_empty() {
        return Err("Access string must contain at least one rule.".to_owned());
    }
    let mut out: Vec<String> = Vec::with_capacity(keys.len() + channels.len() + commands.len() + 3);
    out.push(state.unwrap_or("off").to_owned());
    out.extend(keys);
    if channels.is_empty() {
        out.push("resetchannels".to_owned());
    } else {
        out.extend(channels);
    }
    let absolute = commands
        .first()
        .is_some_and(|c| matches!(c.as_str(), "+@all" | "-@all" | "allcommands" | "nocommands"));
    if !absolute {
        out.push("-@all".to_owned());
    }
    out.extend(commands);
    Ok(out.join(" "))
}

fn classify_pattern(
    token: &str,
    keys: &mut Vec<String>,
    channels: &mut Vec<String>,
    commands: &mut Vec<String>,
) -> Result<(), String> {
    let first = token.chars().next().unwrap_or(' ');
    match first {
        '>' | '<' | '#' | '!' => Err(
            "Access string can't contain passwords or password hashes: passwords are set through AuthenticationMode."
                .to_owned(),
        ),
        '~' => {
            non_empty(token, 1)?;
            keys.push(token.to_owned());
            Ok(())
        }
        '%' => {
            let upper = token.to_ascii_uppercase();
            let prefix = ["%RW~", "%R~", "%W~"]
                .into_iter()
                .find(|p| upper.starts_with(p))
                .ok_or_else(|| format!("Invalid key permission rule {token} in access string."))?;
            non_empty(token, prefix.len())?;
            keys.push(token.to_owned());
            Ok(())
        }
        '&' => {
            non_empty(token, 1)?;
            channels.push(token.to_owned());
            Ok(())
        }
        '+' | '-' => {
            let rest = &token[1..];
            if let Some(category) = rest.strip_prefix('@') {
                if !CATEGORIES.contains(&category.to_ascii_lowercase().as_str()) {
                    return Err(format!(
                        "Unknown command category {category} in access string."
                    ));
                }
                commands.push(format!("{first}@{}", category.to_ascii_lowercase()));
                return Ok(());
            }
            let valid = !rest.is_empty()
                && rest.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && rest
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '|' | '-' | '_' | '.'));
            if !valid {
                return Err(format!("Invalid command rule {token} in access string."));
            }
            commands.push(token.to_owned());
            Ok(())
        }
        _ => Err(format!("Invalid rule {token} in access string.")),
    }
}

fn non_empty(token: &str, prefix: usize) -> Result<(), String> {
    if token.len() > prefix {
        Ok(())
    } else {
        Err(format!("Empty pattern {token} in access string."))
    }
}

#[cfg(test)]
mod tests {
    use super::canonicalize;

    #[test]
    fn matches_the_forms_aws_stores() {
        assert_eq!(
            canonicalize("~objects:* ~items:* ~public:*").unwrap(),
            "off ~objects:* ~items:* ~public:* resetchannels -@all"
        );
        assert_eq!(
            canonicalize("on ~app::* +@read").unwrap(),
            "on ~app::* resetchannels -@all +@read"
        );
        assert_eq!(canonicalize("on ~* &* +@all").unwrap(), "on ~* &* +@all");
        assert_eq!(
            canonicalize("  ON   ~* +@ALL  ").unwrap(),
            "on ~* resetchannels +@all"
        );
        assert_eq!(
            canonicalize("+get ~k:* on %R~r:*").unwrap(),
            "on ~k:* %R~r:* resetchannels -@all +get"
        );
        assert_eq!(
            canonicalize("on allkeys allchannels allcommands").unwrap(),
            "on allkeys allchannels allcommands"
        );
        assert_eq!(
            canonicalize("on ~* +@all -flushall +client|list").unwrap(),
            "on ~* resetchannels +@all -flushall +client|list"
        );
        // Canonical forms are fixed points.
        for s in [
            "off ~objects:* ~items:* ~public:* resetchannels -@all",
            "on ~app::* resetchannels -@all +@read",
        ] {
            assert_eq!(canonicalize(s).unwrap(), s);
        }
    }

    #[test]
    fn refuses_passwords_and_resets_without_repeating_them() {
        for s in [
            "on >sup3rsecretpass ~* +@all",
            "on <sup3rsecretpass ~*",
            "on #0123abcdef ~*",
            "on !0123abcdef ~*",
            "on nopass ~*",
            "on resetpass ~*",
            "reset on ~*",
        ] {
            let err = canonicalize(s).unwrap_err();
            assert!(!err.contains("sup3rsecretpass"), "{err}");
            assert!(!err.contains("0123abcdef"), "{err}");
        }
    }

    #[test]
    fn refuses_unknown_rules() {
        for s in [
            "",
            "   ",
            "on ~",
            "on &",
            "on +@nosuchcategory",
            "on +",
            "on +get$",
            "on %X~a",
            "on whatever",
            "on (~* +get)",
        ] {
            assert!(canonicalize(s).is_err(), "{s:?} was accepted");
        }
    }
}
