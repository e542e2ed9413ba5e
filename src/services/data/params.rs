//! Named parameters (`:name`) in SQL text: found outside string literals, quoted
//! identifiers, comments, dollar quotes and `::` casts, and turned into PostgreSQL's
//! positional parameters (`$1`), so that their values are bound, never written into the
//! SQL.

/// A parameter found in SQL text, by its byte range.
enum Found {
    /// `:name`, with the name's range (after the colon).
    Named(usize, usize),
    /// `$1` and the like.
    Positional,
}

/// The parameters of SQL text, outside string literals, quoted identifiers, comments,
/// dollar quotes and `::` casts.
fn scan(sql: &str) -> Vec<Found> {
    let bytes = sql.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' | b'"' => {
                // E'...' strings take backslash escapes.
                let escapes = bytes[i] == b'\''
                    && i > 0
                    && matches!(bytes[i - 1], b'E' | b'e')
                    && (i < 2 || !is_name_byte(bytes[i - 2]));
                i = skip_quoted(bytes, i, bytes[i], escapes);
            }
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
            b'$' if bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                found.push(Found::Positional);
                i += 2;
            }
            b'$' => i = skip_dollar_quoted(sql, i),
            b':' if bytes.get(i + 1) == Some(&b':') => i += 2,
            b':' if bytes.get(i + 1).is_some_and(|b| is_name_byte(*b)) => {
                let end = bytes[i + 1..]
                    .iter()
                    .position(|b| !is_name_byte(*b))
                    .map_or(bytes.len(), |p| i + 1 + p);
                found.push(Found::Named(i + 1, end));
                i = end;
            }
            _ => i += 1,
        }
    }
    found
}

/// Whether the SQL holds a positional parameter (`$1`) of its own.
#[must_use]
pub fn has_positional(sql: &str) -> bool {
    scan(sql).iter().any(|f| matches!(f, Found::Positional))
}

/// The SQL with each `:name` replaced by `$n` (one number per distinct name, in order of
/// first use), and the names in that order.
#[must_use]
pub fn positional(sql: &str) -> (String, Vec<String>) {
    let mut out = String::with_capacity(sql.len());
    let mut names: Vec<String> = Vec::new();
    let mut copied = 0;
    for found in scan(sql) {
        let Found::Named(start, end) = found else {
            continue;
        };
        let name = &sql[start..end];
        let number = if let Some(p) = names.iter().position(|n| n == name) {
            p + 1
        } else {
            names.push(name.to_owned());
            names.len()
        };
        // The colon before the name goes too.
        out.push_str(&sql[copied..start - 1]);
        out.push('$');
        out.push_str(&number.to_string());
        copied = end;
    }
    out.push_str(&sql[copied..]);
    (out, names)
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The position after a quoted literal or identifier starting at `start` (a doubled
/// quote stays inside, and with `escapes` a backslash-escaped one).
fn skip_quoted(bytes: &[u8], start: usize, quote: u8, escapes: bool) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        if escapes && bytes[i] == b'\\' {
            i += 2;
            continue;
        }
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
        let (sql, names) = positional(r"SELECT E'it\'s :a', e'\\', :b");
        assert_eq!(sql, r"SELECT E'it\'s :a', e'\\', $1");
        assert_eq!(names, ["b"]);
        assert!(super::has_positional("SELECT $1"));
        assert!(!super::has_positional("SELECT '$1', $$ $2 $$ -- $3"));
    }
}
