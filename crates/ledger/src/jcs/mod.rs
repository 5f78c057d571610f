//! RFC 8785 JSON Canonicalization Scheme (JCS) and strict I-JSON parsing.
//!
//! Owns the byte form of every signed JSON body: [`canonicalize`] turns a
//! [`serde_json::Value`] into its unique canonical bytes, [`parse_strict`]
//! reads untrusted JSON and refuses what I-JSON (RFC 7493) forbids and
//! serde_json would silently accept (duplicate member names, integers outside
//! the IEEE-754 exact range).

use std::collections::BTreeSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::ErrorCode;

mod ser;

/// Largest integer magnitude that every JSON implementation represents exactly
/// (2^53 − 1, RFC 7493 §2.2).
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

#[allow(clippy::cast_precision_loss)] // 2^53 − 1 is exactly representable
const MAX_SAFE_F64: f64 = MAX_SAFE_INTEGER as f64;

/// Maximum nesting depth accepted by [`parse_strict`].
pub const MAX_DEPTH: usize = 64;

#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum JcsError {
    #[error("invalid JSON: {0}")]
    Syntax(String),
    #[error("duplicate member name {0:?}")]
    DuplicateKey(String),
    #[error("integer {0} is outside the exact range ±(2^53−1)")]
    IntegerOutOfRange(String),
    #[error("JSON nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
}

impl ErrorCode for JcsError {
    fn code(&self) -> &'static str {
        match self {
            Self::Syntax(_) => "jcs.syntax",
            Self::DuplicateKey(_) => "jcs.duplicate_key",
            Self::IntegerOutOfRange(_) => "jcs.integer_out_of_range",
            Self::TooDeep => "jcs.too_deep",
        }
    }
}

/// Canonical bytes of `value` under govchain's I-JSON profile: RFC 8785, and
/// every number's magnitude must be at most 2^53−1. Larger numbers cannot be
/// represented exactly everywhere (an ECMAScript double would round them), so
/// they are an error rather than silently changed. This is what is signed.
pub fn canonicalize(value: &Value) -> Result<Vec<u8>, JcsError> {
    let mut out = Vec::with_capacity(128);
    write_value(&mut out, value, true)?;
    Ok(out)
}

/// Plain RFC 8785 canonical bytes, for any JSON value (floats of any
/// magnitude). Integers outside ±(2^53−1) held exactly (as i64/u64) are still
/// an error: RFC 8785 would round them through a double.
pub fn canonicalize_any(value: &Value) -> Result<Vec<u8>, JcsError> {
    let mut out = Vec::with_capacity(128);
    write_value(&mut out, value, false)?;
    Ok(out)
}

/// Appends the canonical bytes (govchain profile) of `value` to `out`, for
/// encoders that write an object's members themselves in canonical order.
pub fn write_canonical(out: &mut Vec<u8>, value: &Value) -> Result<(), JcsError> {
    write_value(out, value, true)
}

/// Appends `s` as a canonical JSON string.
pub fn write_canonical_str(out: &mut Vec<u8>, s: &str) {
    write_string(out, s);
}

/// Canonical bytes (govchain profile) of any serializable value: the bytes
/// [`canonicalize`] gives for its `serde_json::to_value`, written directly.
pub fn canonicalize_serialize<T: serde::Serialize + ?Sized>(
    value: &T,
) -> Result<Vec<u8>, JcsError> {
    ser::to_canonical(value)
}

/// RFC 8785 §3.2.3 order of member names: by UTF-16 code units. That is
/// UTF-8 byte order unless a name holds a character beyond U+FFFF (a
/// surrogate pair in UTF-16, sorting before U+E000–U+FFFF).
fn cmp_utf16(a: &str, b: &str) -> std::cmp::Ordering {
    let supplementary = |s: &str| s.bytes().any(|b| b >= 0xF0);
    if supplementary(a) || supplementary(b) {
        a.encode_utf16().cmp(b.encode_utf16())
    } else {
        a.as_bytes().cmp(b.as_bytes())
    }
}

/// Refuses a float beyond ±(2^53−1) under the govchain profile.
fn check_safe_f64(f: f64) -> Result<(), JcsError> {
    if f.abs() > MAX_SAFE_F64 {
        return Err(JcsError::IntegerOutOfRange(
            ryu_js::Buffer::new().format(f).to_owned(),
        ));
    }
    Ok(())
}

fn write_value(out: &mut Vec<u8>, value: &Value, safe_only: bool) -> Result<(), JcsError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => write_number(out, n, safe_only)?,
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item, safe_only)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            // RFC 8785 §3.2.3: sort by the UTF-16 code units of the names.
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| cmp_utf16(a.0, b.0));
            out.push(b'{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(out, k);
                out.push(b':');
                write_value(out, v, safe_only)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

fn write_number(out: &mut Vec<u8>, n: &Number, safe_only: bool) -> Result<(), JcsError> {
    if let Some(u) = n.as_u64() {
        if u > MAX_SAFE_INTEGER {
            return Err(JcsError::IntegerOutOfRange(u.to_string()));
        }
        out.extend_from_slice(itoa::Buffer::new().format(u).as_bytes());
    } else if let Some(i) = n.as_i64() {
        if i.unsigned_abs() > MAX_SAFE_INTEGER {
            return Err(JcsError::IntegerOutOfRange(i.to_string()));
        }
        out.extend_from_slice(itoa::Buffer::new().format(i).as_bytes());
    } else if let Some(f) = n.as_f64() {
        if safe_only {
            check_safe_f64(f)?;
        }
        // ECMAScript Number.prototype.toString (RFC 8785 §3.2.2.3); -0 → "0".
        let mut buf = ryu_js::Buffer::new();
        out.extend_from_slice(buf.format(f).as_bytes());
    }
    Ok(())
}

/// Writes `s` as a JSON string: `"`, `\\` and controls escaped (the short
/// forms where JSON has one, else `\u00xx` in lowercase), all else as is.
fn write_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            0x0C => b"\\f",
            b'\r' => b"\\r",
            0x00..=0x1F => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[run..i]);
        run = i + 1;
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xF)]);
        } else {
            out.extend_from_slice(escape);
        }
    }
    out.extend_from_slice(&bytes[run..]);
    out.push(b'"');
}

/// Parses untrusted JSON text as I-JSON: like `serde_json::from_slice`, but
/// duplicate member names, numbers beyond ±(2^53−1) (however spelled) and
/// nesting deeper than [`MAX_DEPTH`] are errors instead of being silently
/// resolved. Everything it accepts [`canonicalize`] accepts, and vice versa.
pub fn parse_strict(bytes: &[u8]) -> Result<Value, JcsError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = StrictSeed { depth: 0 }
        .deserialize(&mut de)
        .map_err(classify)?;
    de.end().map_err(classify)?;
    Ok(value)
}

// Our visitor smuggles typed errors through serde's string errors with a prefix.
const DUP: &str = "\u{1}dup:";
const RANGE: &str = "\u{1}range:";
const DEEP: &str = "\u{1}deep";

#[allow(clippy::needless_pass_by_value)] // used as a map_err function
fn classify(e: serde_json::Error) -> JcsError {
    let msg = e.to_string();
    if let Some(rest) = msg.strip_prefix(DUP) {
        JcsError::DuplicateKey(strip_position(rest))
    } else if let Some(rest) = msg.strip_prefix(RANGE) {
        JcsError::IntegerOutOfRange(strip_position(rest))
    } else if msg.starts_with(DEEP) {
        JcsError::TooDeep
    } else {
        JcsError::Syntax(msg)
    }
}

fn strip_position(s: &str) -> String {
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_owned(),
        None => s.to_owned(),
    }
}

struct StrictSeed {
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for StrictSeed {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(StrictVisitor { depth: self.depth })
    }
}

struct StrictVisitor {
    depth: usize,
}

impl StrictVisitor {
    fn nested<E: de::Error>(&self) -> Result<usize, E> {
        if self.depth >= MAX_DEPTH {
            Err(E::custom(DEEP))
        } else {
            Ok(self.depth + 1)
        }
    }
}

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        if v.unsigned_abs() > MAX_SAFE_INTEGER {
            return Err(E::custom(format!("{RANGE}{v}")));
        }
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        if v > MAX_SAFE_INTEGER {
            return Err(E::custom(format!("{RANGE}{v}")));
        }
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        // Every double this large is an integer: same rule as integer tokens,
        // whatever the spelling (1e30, 9.1e15 …).
        if v.abs() > MAX_SAFE_F64 {
            return Err(E::custom(format!("{RANGE}{v}")));
        }
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("number is not finite"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let depth = self.nested()?;
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(StrictSeed { depth })? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let depth = self.nested()?;
        let mut seen = BTreeSet::new();
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(de::Error::custom(format!("{DUP}{key}")));
            }
            let v = map.next_value_seed(StrictSeed { depth })?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        String::from_utf8(canonicalize(&parse_strict(s.as_bytes()).unwrap()).unwrap()).unwrap()
    }

    #[test]
    fn sorts_by_utf16_not_utf8() {
        // In UTF-8 U+E000 (EE 80 80) sorts before U+1F600 (F0 9F 98 80); in
        // UTF-16 U+1F600 is the surrogate pair D83D DE00, which sorts first.
        let input = "{\"\u{e000}\":2,\"\u{1f600}\":1}";
        assert_eq!(canon(input), "{\"\u{1f600}\":1,\"\u{e000}\":2}");
    }

    #[test]
    fn rejects_duplicates_and_unsafe_integers() {
        assert_eq!(
            parse_strict(br#"{"a":1,"a":2}"#),
            Err(JcsError::DuplicateKey("a".into()))
        );
        assert!(matches!(
            parse_strict(b"9007199254740992"),
            Err(JcsError::IntegerOutOfRange(_))
        ));
        assert!(parse_strict(b"9007199254740991").is_ok());
        assert!(matches!(
            parse_strict(b"1e30"),
            Err(JcsError::IntegerOutOfRange(_))
        ));
        assert!(matches!(
            parse_strict(b"-9.1e15"),
            Err(JcsError::IntegerOutOfRange(_))
        ));
        assert!(parse_strict(b"9.0e15").is_ok());
        assert!(matches!(parse_strict(b"[1,]"), Err(JcsError::Syntax(_))));
        assert!(matches!(parse_strict(b"{} x"), Err(JcsError::Syntax(_))));
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert_eq!(parse_strict(deep.as_bytes()), Err(JcsError::TooDeep));
    }

    #[test]
    fn numbers_follow_ecmascript() {
        assert_eq!(
            canon("[-0.0, 1.0, 1e-7, 4.50, 2e-3]"),
            "[0,1,1e-7,4.5,0.002]"
        );
        let big: Value = serde_json::from_str("[1e21, 123456789012345680000, 1.8e18]").unwrap();
        assert_eq!(
            canonicalize_any(&big).unwrap(),
            b"[1e+21,123456789012345680000,1800000000000000000]".as_slice()
        );
        // Under the protocol profile such numbers are an error, not rounded.
        assert!(matches!(
            canonicalize(&big),
            Err(JcsError::IntegerOutOfRange(_))
        ));
    }

    #[test]
    fn escapes_controls_lowercase() {
        assert_eq!(canon("\"\\u001F\\u007f\""), "\"\\u001f\u{7f}\"");
    }
}
