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
use std::collections::BTreeMap;
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
    Branch(BTreeMap<&'a str, Node<'a>>),
}

fn build_tree<'a>(params: &'a [(Cow<'_, str>, Cow<'_, str>)]) -> Node<'a> {
    let mut root = BTreeMap::new();
    for (key, value) in params {
        let (key, value): (&str, &str) = (key, value);
        if key == "Action" || key == "Version" {
            continue;
        }
        let mut map = &mut root;
        let mut offset = 0;
        let mut parts = key.split('.').peekable();
        while let Some(part) = parts.next() {
            let end = offset + part.len();
            let path = &key[..end];
            offset = end + 1;
            if parts.peek().is_none() {
                // A leaf never replaces entries given with deeper names (`DbGroups=` beside
                // `DbGroups.DbGroup.1=a`).
                map.entry(part).or_insert(Node {
                    path,
                    kind: Kind::Leaf(value),
                });
                break;
            }
            let entry = map.entry(part).or_insert_with(|| Node {
                path,
                kind: Kind::Branch(BTreeMap::new()),
            });
            if let Kind::Leaf(_) = entry.kind {
                entry.kind = Kind::Branch(BTreeMap::new());
            }
            let Kind::Branch(next) = &mut entry.kind else {
                unreachable!("the entry was made a branch above");
            };
            map = next;
        }
    }
    Node {
        path: "",
        kind: Kind::Branch(root),
    }
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

struct Reader<'a> {
    node: Node<'a>,
}

impl<'a> Reader<'a> {
    fn invalid(&self, expected: &str) -> DeError {
        DeError::Invalid(format!(
            "Invalid value for parameter {}: expected {expected}.",
            self.node.path
        ))
    }

    fn leaf(&self, expected: &str) -> Result<&'a str, DeError> {
        match self.node.kind {
            Kind::Leaf(v) => Ok(v),
            Kind::Branch(_) => Err(self.invalid(expected)),
        }
    }

    /// The numbered entries of a list, in order, whether given under a member name
    /// (`DbGroups.DbGroup.1`) or directly (`Names.1`).
    fn list_items(self) -> Result<Vec<Reader<'a>>, DeError> {
        let numbered = |m: &BTreeMap<&str, Node<'_>>| {
            !m.is_empty() && m.keys().all(|k| k.parse::<u32>().is_ok_and(|n| n >= 1))
        };
        let map = match self.node.kind {
            Kind::Leaf("") => return Ok(Vec::new()),
            Kind::Branch(ref map) if numbered(map) => map,
            Kind::Branch(ref map) if map.len() == 1 => match map.values().next() {
                Some(Node {
                    kind: Kind::Branch(inner),
                    ..
                }) if numbered(inner) => inner,
                Some(Node {
                    kind: Kind::Leaf(""),
                    ..
                }) => return Ok(Vec::new()),
                _ => return Err(self.invalid("a list")),
            },
            Kind::Leaf(_) | Kind::Branch(_) => return Err(self.invalid("a list")),
        };
        let mut items: Vec<(u32, Node<'a>)> = map
            .iter()
            .map(|(k, v)| (k.parse().unwrap_or(0), v.clone()))
            .collect();
        items.sort_by_key(|(n, _)| *n);
        Ok(items.into_iter().map(|(_, node)| Reader { node }).collect())
    }

    fn entries(self) -> Result<Vec<(&'a str, Reader<'a>)>, DeError> {
        match self.node.kind {
            Kind::Branch(map) => Ok(map
                .into_iter()
                .map(|(k, node)| (k, Reader { node }))
                .collect()),
            Kind::Leaf("") => Ok(Vec::new()),
            Kind::Leaf(_) => Err(self.invalid("a structure")),
        }
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
        let items = self.list_items()?;
        let mut seq = SeqDeserializer::new(items.into_iter());
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
        let entries = self.entries()?;
        let mut map = MapDeserializer::new(entries.into_iter());
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
