//! Canonical bytes straight from `serde::Serialize`, without building a
//! [`serde_json::Value`] first.
//!
//! Owns [`to_canonical`], which writes exactly the bytes of
//! `canonicalize(&serde_json::to_value(v)?)` (the tests hold it to that on
//! arbitrary values and on every state entry): members of an object are
//! written where they come, remembered as byte ranges, and put in RFC 8785
//! order when the object ends, so an object costs one buffer move instead of
//! a map of owned strings per level. The state commitment encodes thousands
//! of objects per block this way (issue #19).

use std::borrow::Cow;
use std::ops::Range;

use serde::ser::{self, Impossible, Serialize};

use super::{check_safe_f64, cmp_utf16, write_string, JcsError, MAX_SAFE_INTEGER};

impl ser::Error for JcsError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        JcsError::Syntax(msg.to_string())
    }
}

/// Canonical bytes (govchain profile: integers within ±(2^53−1)) of `value`.
pub(super) fn to_canonical<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, JcsError> {
    let mut out = Vec::with_capacity(256);
    value.serialize(Canon { out: &mut out })?;
    Ok(out)
}

fn write_u64(out: &mut Vec<u8>, v: u64) -> Result<(), JcsError> {
    if v > MAX_SAFE_INTEGER {
        return Err(JcsError::IntegerOutOfRange(v.to_string()));
    }
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
    Ok(())
}

fn write_i64(out: &mut Vec<u8>, v: i64) -> Result<(), JcsError> {
    if v.unsigned_abs() > MAX_SAFE_INTEGER {
        return Err(JcsError::IntegerOutOfRange(v.to_string()));
    }
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
    Ok(())
}

struct Canon<'a> {
    out: &'a mut Vec<u8>,
}

impl<'a> Canon<'a> {
    /// `{"<variant>":` — the externally tagged form of a non-unit variant.
    fn open_variant(out: &mut Vec<u8>, variant: &str) {
        out.push(b'{');
        write_string(out, variant);
        out.push(b':');
    }

    fn object(self, variant: Option<&'static str>, len: Option<usize>) -> Object<'a> {
        if let Some(v) = variant {
            Self::open_variant(self.out, v);
        }
        Object {
            start: self.out.len(),
            out: self.out,
            members: Vec::with_capacity(len.unwrap_or(8)),
            key: None,
            close_variant: variant.is_some(),
        }
    }

    fn array(self, variant: Option<&'static str>) -> Array<'a> {
        if let Some(v) = variant {
            Self::open_variant(self.out, v);
        }
        self.out.push(b'[');
        Array {
            out: self.out,
            first: true,
            close: if variant.is_some() { b"]}" } else { b"]" },
        }
    }
}

impl<'a> ser::Serializer for Canon<'a> {
    type Ok = ();
    type Error = JcsError;
    type SerializeSeq = Array<'a>;
    type SerializeTuple = Array<'a>;
    type SerializeTupleStruct = Array<'a>;
    type SerializeTupleVariant = Array<'a>;
    type SerializeMap = Object<'a>;
    type SerializeStruct = Object<'a>;
    type SerializeStructVariant = Object<'a>;

    fn serialize_bool(self, v: bool) -> Result<(), JcsError> {
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), JcsError> {
        write_i64(self.out, v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<(), JcsError> {
        write_i64(self.out, v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<(), JcsError> {
        write_i64(self.out, v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<(), JcsError> {
        write_i64(self.out, v)
    }
    fn serialize_i128(self, v: i128) -> Result<(), JcsError> {
        let v = i64::try_from(v).map_err(|_| JcsError::IntegerOutOfRange(v.to_string()))?;
        write_i64(self.out, v)
    }
    fn serialize_u8(self, v: u8) -> Result<(), JcsError> {
        write_u64(self.out, v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<(), JcsError> {
        write_u64(self.out, v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<(), JcsError> {
        write_u64(self.out, v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<(), JcsError> {
        write_u64(self.out, v)
    }
    fn serialize_u128(self, v: u128) -> Result<(), JcsError> {
        let v = u64::try_from(v).map_err(|_| JcsError::IntegerOutOfRange(v.to_string()))?;
        write_u64(self.out, v)
    }
    fn serialize_f32(self, v: f32) -> Result<(), JcsError> {
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<(), JcsError> {
        // As serde_json::to_value: a non-finite number becomes null.
        if !v.is_finite() {
            return self.serialize_unit();
        }
        check_safe_f64(v)?;
        self.out
            .extend_from_slice(ryu_js::Buffer::new().format(v).as_bytes());
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), JcsError> {
        write_string(self.out, v.encode_utf8(&mut [0u8; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), JcsError> {
        write_string(self.out, v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), JcsError> {
        let mut seq = self.array(None);
        for b in v {
            ser::SerializeSeq::serialize_element(&mut seq, b)?;
        }
        ser::SerializeSeq::end(seq)
    }
    fn serialize_none(self) -> Result<(), JcsError> {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<(), JcsError> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), JcsError> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), JcsError> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        v: &'static str,
    ) -> Result<(), JcsError> {
        self.serialize_str(v)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<(), JcsError> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<(), JcsError> {
        Self::open_variant(self.out, variant);
        v.serialize(Canon { out: self.out })?;
        self.out.push(b'}');
        Ok(())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Array<'a>, JcsError> {
        Ok(self.array(None))
    }
    fn serialize_tuple(self, _: usize) -> Result<Array<'a>, JcsError> {
        Ok(self.array(None))
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Array<'a>, JcsError> {
        Ok(self.array(None))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Array<'a>, JcsError> {
        Ok(self.array(Some(variant)))
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Object<'a>, JcsError> {
        Ok(self.object(None, len))
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Object<'a>, JcsError> {
        Ok(self.object(None, Some(len)))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Object<'a>, JcsError> {
        Ok(self.object(Some(variant), Some(len)))
    }
}

struct Array<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
    close: &'static [u8],
}

impl Array<'_> {
    fn element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), JcsError> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        v.serialize(Canon { out: self.out })
    }
    fn close(self) {
        self.out.extend_from_slice(self.close);
    }
}

macro_rules! array_impl {
    ($($trait:ident :: $method:ident),*) => {$(
        impl ser::$trait for Array<'_> {
            type Ok = ();
            type Error = JcsError;
            fn $method<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), JcsError> {
                self.element(v)
            }
            fn end(self) -> Result<(), JcsError> {
                self.close();
                Ok(())
            }
        }
    )*};
}
array_impl!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

/// One member written so far: its name and where its value's bytes are.
struct Member {
    name: Cow<'static, str>,
    /// The name's first 8 bytes, big-endian, zero-padded: sorting compares
    /// these integers first (they order as the bytes do).
    head: u64,
    /// Whether the name has a character beyond U+FFFF (4-byte UTF-8).
    supplementary: bool,
    value: Range<usize>,
}

impl Member {
    fn new(name: Cow<'static, str>, value: Range<usize>) -> Self {
        let mut head = [0u8; 8];
        for (h, b) in head.iter_mut().zip(name.bytes()) {
            *h = b;
        }
        Member {
            head: u64::from_be_bytes(head),
            supplementary: name.bytes().any(|b| b >= 0xF0),
            name,
            value,
        }
    }

    /// RFC 8785 order: UTF-16 code units, which is byte order for names
    /// without characters beyond U+FFFF.
    fn order(&self, other: &Member) -> std::cmp::Ordering {
        if self.supplementary || other.supplementary {
            return cmp_utf16(&self.name, &other.name);
        }
        self.head
            .cmp(&other.head)
            .then_with(|| self.name.as_bytes().cmp(other.name.as_bytes()))
    }
}

/// An object being written: member values are appended to `out` from
/// `start` in the order they come; `end` moves them into canonical order.
struct Object<'a> {
    out: &'a mut Vec<u8>,
    start: usize,
    members: Vec<Member>,
    /// A map key waiting for its value.
    key: Option<String>,
    /// Written for a struct variant: one more `}` after the object.
    close_variant: bool,
}

impl Object<'_> {
    fn member<T: Serialize + ?Sized>(
        &mut self,
        name: Cow<'static, str>,
        v: &T,
    ) -> Result<(), JcsError> {
        let at = self.out.len();
        v.serialize(Canon { out: self.out })?;
        self.members.push(Member::new(name, at..self.out.len()));
        Ok(())
    }

    fn close(mut self) {
        let values = self.out.split_off(self.start);
        // Stable sort: of members with the same name the last written wins,
        // as in a `serde_json::Map`.
        self.members.sort_by(Member::order);
        self.out.push(b'{');
        let mut first = true;
        for (i, m) in self.members.iter().enumerate() {
            if self
                .members
                .get(i + 1)
                .is_some_and(|next| next.name == m.name)
            {
                continue;
            }
            if !first {
                self.out.push(b',');
            }
            first = false;
            write_string(self.out, &m.name);
            self.out.push(b':');
            let r = (m.value.start - self.start)..(m.value.end - self.start);
            self.out
                .extend_from_slice(values.get(r).unwrap_or_default());
        }
        self.out.push(b'}');
        if self.close_variant {
            self.out.push(b'}');
        }
    }
}

impl ser::SerializeMap for Object<'_> {
    type Ok = ();
    type Error = JcsError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), JcsError> {
        self.key = Some(key.serialize(KeyName)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), JcsError> {
        let name = self
            .key
            .take()
            .ok_or_else(|| JcsError::Syntax("a map value came without its key".into()))?;
        self.member(Cow::Owned(name), v)
    }
    fn end(self) -> Result<(), JcsError> {
        self.close();
        Ok(())
    }
}

impl ser::SerializeStruct for Object<'_> {
    type Ok = ();
    type Error = JcsError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        v: &T,
    ) -> Result<(), JcsError> {
        self.member(Cow::Borrowed(name), v)
    }
    fn end(self) -> Result<(), JcsError> {
        self.close();
        Ok(())
    }
}

impl ser::SerializeStructVariant for Object<'_> {
    type Ok = ();
    type Error = JcsError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        v: &T,
    ) -> Result<(), JcsError> {
        self.member(Cow::Borrowed(name), v)
    }
    fn end(self) -> Result<(), JcsError> {
        self.close();
        Ok(())
    }
}

/// A map key as the member name serde_json would give it: strings as they
/// are, integers, booleans and chars as their text, unit variants by name.
struct KeyName;

fn not_a_key() -> JcsError {
    JcsError::Syntax("a map key must be a string".into())
}

macro_rules! key_as_text {
    ($($method:ident: $ty:ty),*) => {$(
        fn $method(self, v: $ty) -> Result<String, JcsError> {
            Ok(v.to_string())
        }
    )*};
}

macro_rules! key_refused {
    ($($method:ident: $ty:ty),*) => {$(
        fn $method(self, _: $ty) -> Result<String, JcsError> {
            Err(not_a_key())
        }
    )*};
}

impl ser::Serializer for KeyName {
    type Ok = String;
    type Error = JcsError;
    type SerializeSeq = Impossible<String, JcsError>;
    type SerializeTuple = Impossible<String, JcsError>;
    type SerializeTupleStruct = Impossible<String, JcsError>;
    type SerializeTupleVariant = Impossible<String, JcsError>;
    type SerializeMap = Impossible<String, JcsError>;
    type SerializeStruct = Impossible<String, JcsError>;
    type SerializeStructVariant = Impossible<String, JcsError>;

    key_as_text!(
        serialize_bool: bool, serialize_i8: i8, serialize_i16: i16, serialize_i32: i32,
        serialize_i64: i64, serialize_i128: i128, serialize_u8: u8, serialize_u16: u16,
        serialize_u32: u32, serialize_u64: u64, serialize_u128: u128, serialize_char: char,
        serialize_str: &str
    );
    key_refused!(serialize_f32: f32, serialize_f64: f64, serialize_bytes: &[u8], serialize_unit_struct: &'static str);

    fn serialize_none(self) -> Result<String, JcsError> {
        Err(not_a_key())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<String, JcsError> {
        Err(not_a_key())
    }
    fn serialize_unit(self) -> Result<String, JcsError> {
        Err(not_a_key())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        v: &'static str,
    ) -> Result<String, JcsError> {
        Ok(v.to_owned())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<String, JcsError> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<String, JcsError> {
        Err(not_a_key())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, JcsError> {
        Err(not_a_key())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, JcsError> {
        Err(not_a_key())
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, JcsError> {
        Err(not_a_key())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, JcsError> {
        Err(not_a_key())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, JcsError> {
        Err(not_a_key())
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, JcsError> {
        Err(not_a_key())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, JcsError> {
        Err(not_a_key())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use serde_json::{json, Value};

    use super::super::canonicalize;
    use super::*;
    use crate::ErrorCode;

    fn via_value<T: Serialize>(v: &T) -> Result<Vec<u8>, JcsError> {
        let v = serde_json::to_value(v).map_err(|e| JcsError::Syntax(e.to_string()))?;
        canonicalize(&v)
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|i| json!(i)),
            (-1_000_000i64..1_000_000).prop_map(|i| json!(i)),
            any::<f64>().prop_map(|f| json!(f)),
            "\\PC{0,12}".prop_map(Value::String),
            "[\"\\\\\u{0}-\u{1f}a\u{e000}\u{1f600}]{0,6}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map("[a-z\u{e000}\u{1f600}\"]{0,4}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn same_bytes_as_through_a_value(v in json_value()) {
            // Of several errors the two paths may meet a different one first.
            prop_assert_eq!(
                to_canonical(&v).map_err(|e| e.code()),
                canonicalize(&v).map_err(|e| e.code())
            );
        }
    }

    #[derive(serde::Serialize)]
    enum Shape {
        Unit,
        New(u32),
        Pair(i8, String),
        Named { z: bool, a: Option<u8> },
    }

    #[derive(serde::Serialize)]
    struct Everything {
        zeta: Vec<Shape>,
        alpha: BTreeMap<u32, &'static str>,
        #[serde(rename = "\u{e000}")]
        private_use: char,
        #[serde(rename = "\u{1f600}")]
        emoji: f64,
        bytes: &'static [u8],
        nan: f64,
        unit: (),
        #[serde(flatten)]
        extra: BTreeMap<&'static str, bool>,
    }

    #[test]
    fn every_serde_shape_matches_the_value_path() {
        let v = Everything {
            zeta: vec![
                Shape::Unit,
                Shape::New(7),
                Shape::Pair(-3, "\"q\"\n".into()),
                Shape::Named { z: true, a: None },
            ],
            alpha: BTreeMap::from([(10, "ten"), (9, "nine")]),
            private_use: 'x',
            emoji: 0.5,
            bytes: b"ab",
            nan: f64::NAN,
            unit: (),
            extra: BTreeMap::from([("alpha", true), ("m", false)]),
        };
        let direct = to_canonical(&v).unwrap();
        assert_eq!(direct, via_value(&v).unwrap());
        assert!(std::str::from_utf8(&direct)
            .unwrap()
            .starts_with(r#"{"alpha":"#));
    }

    #[test]
    fn unsafe_integers_and_bad_keys_are_errors() {
        assert!(matches!(
            to_canonical(&(1u64 << 53)),
            Err(JcsError::IntegerOutOfRange(_))
        ));
        assert!(matches!(
            to_canonical(&-(1i64 << 53)),
            Err(JcsError::IntegerOutOfRange(_))
        ));
        assert!(matches!(
            to_canonical(&1e300),
            Err(JcsError::IntegerOutOfRange(_))
        ));
        let m = BTreeMap::from([(vec![1u8], 1)]);
        assert!(matches!(to_canonical(&m), Err(JcsError::Syntax(_))));
    }
}
