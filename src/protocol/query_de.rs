//! Typed inputs from AWS Query parameters, with serde.
//!
//! The flat parameters become a tree by their dotted names, and the input struct's fields
//! (named as the model's members) drive the reading of it:
//!
//! ```text
//! ClusterIdentifier=c1                  -> ClusterIdentifier: "c1"
//! DbGroups.DbGroup.1=a&DbGroups.DbGroup.2=b -> DbGroups: ["a", "b"]
//! Tags.Tag.1.Key=k&Tags.Tag.1.Value=v   -> Tags: [{Key: "k", Value: "v"}]
//! DbGroups=                             -> DbGroups: []
//! ```
//!
//! A list is read from its member's numbered entries, under the single member name the
//! model gives it (`DbGroup`, `Tag`, `member`...), ordered by number. Integers and
//! booleans (`true`/`false`) are parsed when the field asks for them; a bad one is an
//! `InvalidParameterValue` naming the parameter, never echoing its value.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;

use serde::de::value::{MapDeserializer, SeqDeserializer};
use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};

use super::error::ProtocolError;

/// Reads a typed input from decoded Query parameters.
///
/// # Errors
/// `MissingParameter` for an absent required member, `InvalidParameterValue` for a value
/// of the wrong kind.
pub fn from_params<T: DeserializeOwned>(
    params: &[(Cow<'_, str>, Cow<'_, str>)],
) -> Result<T, ProtocolError> {
    let tree = build_tree(params);
    T::deserialize(Reader { node: tree }).map_err(|e| match e {
        DeError::Missing(name) => ProtocolError::MissingParameter(name),
        DeError::Invalid(message) => ProtocolError::InvalidParameterValue(message),
    })
}

/// A node of the parameter tree, borrowing names and values from the parameters. `path`
/// is the dotted name of the node (a prefix of a parameter's name), for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Node<'a> {
    path: &'a str,
    kind: Kind<'a>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind<'a> {
    Leaf(&'a str),
    /// The members, ordered by name, each name once.
    Branch(Vec<(&'a str, Node<'a>)>),
}

/// The most parts a parameter name has (`Tags.Tag.1.Key` has four).
const MAX_DEPTH: usize = 16;

/// Builds the tree from the parameters sorted by their dotted names compared part by part:
/// each node's parameters are then next to each other, and one pass makes its members.
/// Sorting costs O(n log n) however many parameters a large body holds.
fn build_tree<'a>(params: &'a [(Cow<'_, str>, Cow<'_, str>)]) -> Node<'a> {
    let mut sorted: Vec<(&str, &str)> = Vec::with_capacity(params.len());
    sorted.extend(
        params
            .iter()
            .map(|(key, value)| (key.as_ref(), value.as_ref()))
            .filter(|(key, _)| *key != "Action" && *key != "Version")
            // No input is nested this deep: such a name is an unknown parameter, ignored
            // as others are, and never a tree as deep as its dots.
            .filter(|(key, _)| key.bytes().filter(|b| *b == b'.').count() < MAX_DEPTH),
    );
    // Stable: of two parameters with the same name, the first given is kept.
    sorted.sort_by(|a, b| by_parts(a.0, b.0));
    Node {
        path: "",
        kind: Kind::Branch(members(&sorted, 0)),
    }
}

/// Orders dotted names part by part (`A` < `A.B` < `A-C`): bytes compare as they are,
/// except that a dot is below every other byte, and the end of a name below a dot.
fn by_parts(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let same = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let rank = |name: &[u8]| match name.get(same) {
        None => 0,
        Some(b'.') => 1,
        Some(&byte) => u16::from(byte) + 2,
    };
    rank(a).cmp(&rank(b))
}

/// The members of the node whose parameters are `sorted` (by [`by_parts`]), all of them
/// sharing their first `offset` bytes.
fn members<'a>(sorted: &[(&'a str, &'a str)], offset: usize) -> Vec<(&'a str, Node<'a>)> {
    let mut out = Vec::with_capacity(sorted.len());
    let mut rest = sorted;
    while let Some(&(key, value)) = rest.first() {
        let bytes = key.as_bytes();
        let end = memchr::memchr(b'.', &bytes[offset..]).map_or(key.len(), |i| offset + i);
        let part = &bytes[offset..end];
        // This member's parameters: the same part, then the end of the name or a dot.
        let count = 1 + rest[1..]
            .iter()
            .take_while(|(k, _)| {
                let k = k.as_bytes();
                k.get(offset..end) == Some(part) && matches!(k.get(end), None | Some(b'.'))
            })
            .count();
        let (group, after) = rest.split_at(count);
        rest = after;
        // A leaf never replaces entries given with deeper names (`DbGroups=` beside
        // `DbGroups.DbGroup.1=a`); sorted, the deeper ones come after it.
        let deeper = group.partition_point(|(k, _)| k.len() == end);
        let kind = if deeper < group.len() {
            Kind::Branch(members(&group[deeper..], end + 1))
        } else {
            Kind::Leaf(value)
        };
        out.push((
            &key[offset..end],
            Node {
                path: &key[..end],
                kind,
            },
        ));
    }
    out
}

#[derive(Debug)]
enum DeError {
    Missing(String),
    Invalid(String),
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeError::Missing(name) => write!(f, "missing parameter {name}"),
            DeError::Invalid(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError::Invalid(msg.to_string())
    }

    fn missing_field(field: &'static str) -> Self {
        DeError::Missing(field.to_owned())
    }
}

fn invalid_at(path: &str, expected: &str) -> DeError {
    DeError::Invalid(format!(
        "Invalid value for parameter {path}: expected {expected}."
    ))
}

struct Reader<'a> {
    node: Node<'a>,
}

impl<'a> Reader<'a> {
    fn invalid(&self, expected: &str) -> DeError {
        invalid_at(self.node.path, expected)
    }

    fn leaf(&self, expected: &str) -> Result<&'a str, DeError> {
        match self.node.kind {
            Kind::Leaf(v) => Ok(v),
            Kind::Branch(_) => Err(self.invalid(expected)),
        }
    }

    /// The numbered entries of a list, in order, whether given under a member name
    /// (`DbGroups.DbGroup.1`) or directly (`Names.1`).
    fn list_items(self) -> Result<impl Iterator<Item = Reader<'a>>, DeError> {
        let numbered = |m: &[(&str, Node<'_>)]| {
            !m.is_empty()
                && m.iter()
                    .all(|(k, _)| k.parse::<u32>().is_ok_and(|n| n >= 1))
        };
        let path = self.node.path;
        let invalid = || invalid_at(path, "a list");
        let mut members = match self.node.kind {
            Kind::Leaf("") => Vec::new(),
            Kind::Branch(members) if numbered(&members) => members,
            Kind::Branch(mut members) if members.len() == 1 => match members.pop() {
                Some((
                    _,
                    Node {
                        kind: Kind::Branch(inner),
                        ..
                    },
                )) if numbered(&inner) => inner,
                Some((
                    _,
                    Node {
                        kind: Kind::Leaf(""),
                        ..
                    },
                )) => Vec::new(),
                _ => return Err(invalid()),
            },
            Kind::Leaf(_) | Kind::Branch(_) => return Err(invalid()),
        };
        // Stable, in place: entries given under the same number keep their order.
        members.sort_by_key(|(k, _)| k.parse::<u32>().unwrap_or(0));
        Ok(members.into_iter().map(|(_, node)| Reader { node }))
    }

    fn entries(self) -> Result<impl Iterator<Item = (&'a str, Reader<'a>)>, DeError> {
        let map = match self.node.kind {
            Kind::Branch(map) => map,
            Kind::Leaf("") => Vec::new(),
            Kind::Leaf(_) => return Err(self.invalid("a structure")),
        };
        Ok(map.into_iter().map(|(k, node)| (k, Reader { node })))
    }
}

impl IntoDeserializer<'_, DeError> for Reader<'_> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

macro_rules! parse_number {
    ($method:ident, $visit:ident, $ty:ty, $what:literal) => {
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            let text = self.leaf($what)?;
            let value: $ty = text.trim().parse().map_err(|_| self.invalid($what))?;
            visitor.$visit(value)
        }
    };
}

impl<'de> de::Deserializer<'de> for Reader<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.node.kind {
            Kind::Leaf(v) => visitor.visit_str(v),
            Kind::Branch(_) => self.deserialize_map(visitor),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let text = self.leaf("true or false")?;
        if text.eq_ignore_ascii_case("true") {
            visitor.visit_bool(true)
        } else if text.eq_ignore_ascii_case("false") {
            visitor.visit_bool(false)
        } else {
            Err(self.invalid("true or false"))
        }
    }

    parse_number!(deserialize_i8, visit_i8, i8, "an integer");
    parse_number!(deserialize_i16, visit_i16, i16, "an integer");
    parse_number!(deserialize_i32, visit_i32, i32, "an integer");
    parse_number!(deserialize_i64, visit_i64, i64, "an integer");
    parse_number!(deserialize_u8, visit_u8, u8, "a non-negative integer");
    parse_number!(deserialize_u16, visit_u16, u16, "a non-negative integer");
    parse_number!(deserialize_u32, visit_u32, u32, "a non-negative integer");
    parse_number!(deserialize_u64, visit_u64, u64, "a non-negative integer");
    parse_number!(deserialize_f32, visit_f32, f32, "a number");
    parse_number!(deserialize_f64, visit_f64, f64, "a number");

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_string(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_string(visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.node.kind {
            Kind::Leaf(v) => visitor.visit_str(v),
            Kind::Branch(_) => Err(self.invalid("a string")),
        }
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_string(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_string(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_some(self)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let mut seq = SeqDeserializer::new(self.list_items()?);
        let value = visitor.visit_seq(&mut seq)?;
        seq.end()?;
        Ok(value)
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let path = self.node.path;
        let mut map = MapDeserializer::new(self.entries()?);
        let value = visitor.visit_map(&mut map).map_err(|e| match e {
            DeError::Missing(field) if !path.is_empty() => {
                DeError::Missing(format!("{path}.{field}"))
            }
            other => other,
        })?;
        map.end()?;
        Ok(value)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let text = self.leaf("one of the allowed values")?.to_owned();
        visitor.visit_enum(text.into_deserializer())
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_string(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::query::parse_form;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "PascalCase")]
    struct Tag {
        key: Option<String>,
        value: Option<String>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "PascalCase")]
    struct Input {
        db_user: String,
        duration_seconds: Option<i32>,
        auto_create: Option<bool>,
        #[serde(default)]
        db_groups: Option<Vec<String>>,
        #[serde(default)]
        tags: Option<Vec<Tag>>,
    }

    fn read(form: &str) -> Result<Input, ProtocolError> {
        from_params(&parse_form(form.as_bytes()).unwrap())
    }

    #[test]
    fn reads_scalars_lists_and_structures() {
        let i = read("Action=GetClusterCredentials&Version=2012-12-01&DbUser=alice&DurationSeconds=1800&AutoCreate=true&DbGroups.DbGroup.2=b&DbGroups.DbGroup.1=a&DbGroups.DbGroup.10=j&Tags.Tag.1.Key=k&Tags.Tag.1.Value=v&Tags.Tag.2.Key=only-key").unwrap();
        assert_eq!(i.db_user, "alice");
        assert_eq!(i.duration_seconds, Some(1800));
        assert_eq!(i.auto_create, Some(true));
        assert_eq!(i.db_groups.unwrap(), ["a", "b", "j"]);
        assert_eq!(
            i.tags.unwrap(),
            [
                Tag {
                    key: Some("k".into()),
                    value: Some("v".into())
                },
                Tag {
                    key: Some("only-key".into()),
                    value: None
                }
            ]
        );
    }

    #[test]
    fn an_empty_list_is_sent_as_a_bare_name() {
        let i = read("DbUser=a&DbGroups=").unwrap();
        assert_eq!(i.db_groups.unwrap(), Vec::<String>::new());
        let i = read("DbUser=a").unwrap();
        assert_eq!(i.db_groups, None);
    }

    #[test]
    fn the_first_of_repeated_names_counts_and_deeper_names_win_over_a_bare_one() {
        let i = read("DbUser=a&DbUser=b&DbGroups.DbGroup.1=x&DbGroups=").unwrap();
        assert_eq!(i.db_user, "a");
        assert_eq!(i.db_groups.unwrap(), ["x"]);
        let i = read("DbGroups=&DbUser=b&DbGroups.DbGroup.2=y&DbGroups.DbGroup.1=x").unwrap();
        assert_eq!(i.db_groups.unwrap(), ["x", "y"]);
    }

    #[test]
    fn a_name_with_thousands_of_dots_is_ignored_not_followed() {
        let deep = format!("DbUser=a&A{}=v", ".".repeat(50_000));
        let i = read(&deep).unwrap();
        assert_eq!(i.db_user, "a");
    }

    #[test]
    fn names_are_ordered_part_by_part() {
        let form = "A-C=1&A.B=2&A=3&A.B.C=4&B=5&A.A=6";
        let params = parse_form(form.as_bytes()).unwrap();
        let Kind::Branch(top) = build_tree(&params).kind else {
            panic!("the root is a branch");
        };
        let names: Vec<&str> = top.iter().map(|(k, _)| *k).collect();
        assert_eq!(names, ["A", "A-C", "B"]);
        let Kind::Branch(a) = &top[0].1.kind else {
            panic!("A has deeper names");
        };
        let names: Vec<(&str, &str)> = a.iter().map(|(k, n)| (*k, n.path)).collect();
        assert_eq!(names, [("A", "A.A"), ("B", "A.B")]);
        assert!(matches!(&a[1].1.kind, Kind::Branch(b) if b.len() == 1 && b[0].1.path == "A.B.C"));
    }

    #[test]
    fn errors_name_the_parameter_and_not_the_value() {
        assert_eq!(
            read("DurationSeconds=5").unwrap_err(),
            ProtocolError::MissingParameter("DbUser".into())
        );
        let err = read("DbUser=a&DurationSeconds=secret-ish").unwrap_err();
        assert!(
            matches!(&err, ProtocolError::InvalidParameterValue(m) if m.contains("DurationSeconds") && !m.contains("secret-ish")),
            "{err:?}"
        );
        assert!(read("DbUser=a&AutoCreate=yes").is_err());
        assert!(read("DbUser=a&DbGroups=x").is_err());
        assert!(read("DbUser=a&DbGroups.DbGroup.x=1").is_err());
        assert!(read("DbUser.Nested=a").is_err());
    }
}
