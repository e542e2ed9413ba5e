//! PostgreSQL's values, as text with their type, turned into what the Data API answers:
//! the `Field` union and `ColumnMetadata` as Redshift reports them.
//!
//! | PostgreSQL type | typeName | Field |
//! | --- | --- | --- |
//! | int2, int4, int8, oid | int2, int4, int8, oid | longValue |
//! | float4, float8 | float4, float8 | doubleValue (stringValue for NaN and infinities) |
//! | bool | bool | booleanValue |
//! | numeric | numeric | stringValue (decimal text) |
//! | varchar, text, name | varchar | stringValue |
//! | bpchar | bpchar | stringValue (blank-padded) |
//! | date, time, timetz | date, time, timetz | stringValue |
//! | timestamp | timestamp | stringValue, `2022-02-22 00:00:00.0` (always a fraction) |
//! | timestamptz | timestamptz | stringValue, `2022-02-22 00:00:00+00` |
//! | bytea | varbyte | blobValue (base64) |
//! | anything else | its PostgreSQL name | stringValue |
//! | NULL | | isNull |

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::model::{ColumnMetadata, Field};

pub const BOOL: u32 = 16;
pub const BYTEA: u32 = 17;
pub const NAME: u32 = 19;
pub const INT8: u32 = 20;
pub const INT2: u32 = 21;
pub const INT4: u32 = 23;
pub const TEXT: u32 = 25;
pub const OID: u32 = 26;
pub const FLOAT4: u32 = 700;
pub const FLOAT8: u32 = 701;
pub const BPCHAR: u32 = 1042;
pub const VARCHAR: u32 = 1043;
pub const DATE: u32 = 1082;
pub const TIME: u32 = 1083;
pub const TIMESTAMP: u32 = 1114;
pub const TIMESTAMPTZ: u32 = 1184;
pub const TIMETZ: u32 = 1266;
pub const NUMERIC: u32 = 1700;

/// Redshift's name of a type, or `None` to use PostgreSQL's own.
#[must_use]
pub fn type_name(oid: u32) -> Option<&'static str> {
    Some(match oid {
        BOOL => "bool",
        BYTEA => "varbyte",
        NAME | TEXT | VARCHAR => "varchar",
        INT8 => "int8",
        INT2 => "int2",
        INT4 => "int4",
        OID => "oid",
        FLOAT4 => "float4",
        FLOAT8 => "float8",
        BPCHAR => "bpchar",
        DATE => "date",
        TIME => "time",
        TIMESTAMP => "timestamp",
        TIMESTAMPTZ => "timestamptz",
        TIMETZ => "timetz",
        NUMERIC => "numeric",
        _ => return None,
    })
}

/// A value of the given type, as the server wrote it in text.
#[must_use]
pub fn field(oid: u32, text: Option<&str>) -> Field {
    let Some(text) = text else {
        return Field::IsNull(true);
    };
    match oid {
        INT2 | INT4 | INT8 | OID => text
            .parse()
            .map_or_else(|_| Field::StringValue(text.to_owned()), Field::LongValue),
        FLOAT4 | FLOAT8 => match text.parse::<f64>() {
            Ok(v) if v.is_finite() => Field::DoubleValue(v),
            _ => Field::StringValue(text.to_owned()),
        },
        BOOL => Field::BooleanValue(text == "t"),
        BYTEA => match text
            .strip_prefix("\\x")
            .and_then(|hex| hex::decode(hex).ok())
        {
            Some(bytes) => Field::BlobValue(STANDARD.encode(bytes)),
            None => Field::StringValue(text.to_owned()),
        },
        TIMESTAMP if !text.contains('.') && text.len() >= 19 => {
            Field::StringValue(format!("{text}.0"))
        }
        _ => Field::StringValue(text.to_owned()),
    }
}

/// The value as one CSV cell: empty for NULL, quoted when it holds a comma, a quote or a
/// line break (RFC 4180); blobs in PostgreSQL's hex form.
#[must_use]
pub fn csv_cell(field: &Field) -> String {
    let text = match field {
        Field::IsNull(_) => return String::new(),
        Field::BooleanValue(b) => b.to_string(),
        Field::LongValue(v) => v.to_string(),
        Field::DoubleValue(v) => v.to_string(),
        Field::StringValue(s) | Field::BlobValue(s) => s.clone(),
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// The column of a result as Redshift describes it. `typmod` is PostgreSQL's type
/// modifier (-1 when none); `nullable` is 0 (not null), 1 (nullable) or 2 (unknown).
#[must_use]
pub fn column(
    name: &str,
    oid: u32,
    typmod: i32,
    pg_type_name: &str,
    nullable: i32,
    schema: &str,
    table: &str,
) -> ColumnMetadata {
    let (precision, scale) = match oid {
        INT2 => (5, 0),
        INT4 | OID => (10, 0),
        INT8 => (19, 0),
        FLOAT4 => (8, 8),
        FLOAT8 => (17, 17),
        BOOL => (1, 0),
        VARCHAR | BPCHAR if typmod >= 4 => (typmod - 4, 0),
        VARCHAR | TEXT => (65535, 0),
        NUMERIC if typmod >= 4 => ((typmod - 4) >> 16, (typmod - 4) & 0xffff),
        DATE => (13, 0),
        TIME => (15, 6),
        TIMETZ => (21, 6),
        TIMESTAMP => (29, 6),
        TIMESTAMPTZ => (35, 6),
        _ => (0, 0),
    };
    ColumnMetadata {
        is_case_sensitive: matches!(oid, VARCHAR | BPCHAR | TEXT | NAME),
        is_currency: false,
        is_signed: matches!(oid, INT2 | INT4 | INT8 | FLOAT4 | FLOAT8 | NUMERIC),
        label: Some(name.to_owned()),
        name: name.to_owned(),
        nullable,
        precision,
        scale,
        schema_name: schema.to_owned(),
        table_name: table.to_owned(),
        type_name: type_name(oid).unwrap_or(pg_type_name).to_owned(),
        length: 0,
        column_default: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_take_the_member_of_their_type() {
        assert_eq!(
            field(INT8, Some("-9007199254740993")),
            Field::LongValue(-9_007_199_254_740_993)
        );
        assert_eq!(field(FLOAT8, Some("2.5")), Field::DoubleValue(2.5));
        assert_eq!(field(FLOAT8, Some("NaN")), Field::StringValue("NaN".into()));
        assert_eq!(field(BOOL, Some("f")), Field::BooleanValue(false));
        assert_eq!(
            field(BYTEA, Some("\\x0102ff")),
            Field::BlobValue("AQL/".into())
        );
        assert_eq!(
            field(TIMESTAMP, Some("2022-02-22 00:00:00")),
            Field::StringValue("2022-02-22 00:00:00.0".into())
        );
        assert_eq!(
            field(TIMESTAMP, Some("2020-08-21 17:33:51.88712")),
            Field::StringValue("2020-08-21 17:33:51.88712".into())
        );
        assert_eq!(
            field(NUMERIC, Some("2.50")),
            Field::StringValue("2.50".into())
        );
        assert_eq!(field(INT4, None), Field::IsNull(true));
        assert_eq!(
            csv_cell(&Field::StringValue("a, \"b\"".into())),
            "\"a, \"\"b\"\"\""
        );
        assert_eq!(csv_cell(&Field::IsNull(true)), "");
    }

    #[test]
    fn columns_carry_redshifts_precision_and_names() {
        let c = column(
            "price",
            NUMERIC,
            ((10 << 16) | 2) + 4,
            "numeric",
            1,
            "public",
            "t",
        );
        assert_eq!((c.precision, c.scale, c.is_signed), (10, 2, true));
        let c = column("name", VARCHAR, 24, "varchar", 0, "public", "t");
        assert_eq!(
            (
                c.type_name.as_str(),
                c.precision,
                c.is_case_sensitive,
                c.nullable
            ),
            ("varchar", 20, true, 0)
        );
        let c = column("x", TEXT, -1, "text", 1, "", "");
        assert_eq!(c.type_name, "varchar");
        let c = column("u", 2950, -1, "uuid", 1, "", "");
        assert_eq!(c.type_name, "uuid");
    }
}
