//! Named parameters (`:name`) in SQL text: found outside string literals, quoted
//! identifiers, comments, dollar quotes and `::` casts, and turned into PostgreSQL's
//! positional parameters (`$1`), so that their values are bound, never written into the
//! SQL.

/// The SQL with each `:name` replaced by `$n` (one number per distinct name, in order of
/// first use), and the names in that order.
#[must_use]
pub fn positional(sql: &str) -> (String, Vec<String>) {
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let mut names: Vec<String> = Vec::new();
    let mut i = 0;
    let mut copied = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' | b'"' => i = skip_quoted(bytes, i, bytes[i]),
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i = bytes[i..]
                    .iter()
                    .position(|b| *b == b'\n')
                    .map_or(bytes.len(), |p| i + p);
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = sql[i + 2..]
                    .find("*/")
                    .map_or(bytes.len(), |p| i + 2 + p + 2);
            }
            b'$' => i = skip_dollar_quoted(sql, i),
            b':' if bytes.get(i + 1) == Some(&b':') => i += 2,
            b':' if bytes.get(i + 1).is_some_and(|b| is_name_byte(*b)) => {
                let end = bytes[i + 1..]
                    .iter()
                    .position(|b| !is_name_byte(*b))
                    .map_or(bytes.len(), |p| i + 1 + p);
                let name = &sql[i + 1..end];
                let number = if let Some(p) = names.iter().position(|n| n == name) {
                    p + 1
                } else {
                    names.push(name.to_owned());
                    names.len()
                };
                out.push_str(&sql[copied..i]);
                out.push('$');
                out.push_str(&number.to_string());
                copied = end;
                i = end;
            }
            _ => i += 1,
        }
    }
    out.push_str(&sql[copied..]);
    (out, names)
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The position after a quoted literal or identifier starting at `start` (a doubled
/// quote stays inside).
fn skip_quoted(bytes: &[u8], start: usize, quote: u8) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        if bytes[i] == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    bytes.len()
}

/// The position after a dollar-quoted string starting at `start` (`$$...$$`,
/// `$tag$...$tag$`), or after the `$` when it starts none.
fn skip_dollar_quoted(sql: &str, start: usize) -> usize {
    let rest = &sql[start + 1..];
    let tag_len = rest
        .bytes()
        .position(|b| !(b.is_ascii_alphanumeric() || b == b'_'))
        .unwrap_or(rest.len());
    if rest.as_bytes().get(tag_len) != Some(&b'$')
        || rest.as_bytes().first().is_some_and(u8::is_ascii_digit)
    {
        return start + 1;
    }
    let delimiter = &sql[start..start + tag_len + 2];
    let body = start + delimiter.len();
    sql[body..]
        .find(delimiter)
        .map_or(sql.len(), |p| body + p + delimiter.len())
}

#[cfg(test)]
mod tests {
    use super::positional;

    #[test]
    fn names_become_positions_outside_quotes_comments_and_casts() {
        let (sql, names) = positional(
            "SELECT * FROM t WHERE a = :id AND b = ':id' AND c = :name::int -- :gone\n OR d = :id /* :x */ AND e = $$:y$$",
        );
        assert_eq!(
            sql,
            "SELECT * FROM t WHERE a = $1 AND b = ':id' AND c = $2::int -- :gone\n OR d = $1 /* :x */ AND e = $$:y$$"
        );
        assert_eq!(names, ["id", "name"]);
        let (sql, names) = positional("SELECT 'it''s :a', \"col:b\", :c");
        assert_eq!(sql, "SELECT 'it''s :a', \"col:b\", $1");
        assert_eq!(names, ["c"]);
        let (sql, names) = positional("SELECT $1, x::text");
        assert_eq!((sql.as_str(), names.len()), ("SELECT $1, x::text", 0));
    }
}
