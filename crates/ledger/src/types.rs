//! Typed protocol values parsed at the edge: amounts in fen, chain ids,
//! timestamps and SHA-256 digests. Each type has exactly one wire form and
//! rejects every other spelling, so a value and its canonical bytes agree.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::crypto::hex_newtype;
use crate::jcs::MAX_SAFE_INTEGER;
use crate::ErrorCode;

#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum TypeError {
    #[error("amount must be a whole number of fen from 0 to 2^53−1, got {0}")]
    Fen(String),
    #[error("amount overflow: {0}")]
    FenOverflow(&'static str),
    #[error(
        "chain id {0:?} must be 1–64 chars of a-z, 0-9, '-', '.', starting with a letter or digit"
    )]
    ChainId(String),
    #[error("time {0:?} must be RFC 3339 UTC with milliseconds, e.g. 2026-01-31T08:00:00.000Z")]
    Timestamp(String),
}

impl ErrorCode for TypeError {
    fn code(&self) -> &'static str {
        match self {
            Self::Fen(_) => "type.fen",
            Self::FenOverflow(_) => "type.fen_overflow",
            Self::ChainId(_) => "type.chain_id",
            Self::Timestamp(_) => "type.timestamp",
        }
    }
}

/// An amount of money in fen (分, 1/100 yuan). Integer, non-negative, below
/// 2^53 so that every JSON implementation reads it exactly. Never a float.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Fen(u64);

impl Fen {
    pub const ZERO: Fen = Fen(0);
    pub const MAX: Fen = Fen(MAX_SAFE_INTEGER);

    pub fn new(fen: u64) -> Result<Self, TypeError> {
        if fen > MAX_SAFE_INTEGER {
            return Err(TypeError::Fen(fen.to_string()));
        }
        Ok(Self(fen))
    }

    pub fn get(self) -> u64 {
        self.0
    }

    pub fn checked_add(self, other: Fen) -> Result<Fen, TypeError> {
        self.0
            .checked_add(other.0)
            .filter(|v| *v <= MAX_SAFE_INTEGER)
            .map(Fen)
            .ok_or(TypeError::FenOverflow("sum exceeds 2^53−1 fen"))
    }

    pub fn checked_sub(self, other: Fen) -> Result<Fen, TypeError> {
        self.0
            .checked_sub(other.0)
            .map(Fen)
            .ok_or(TypeError::FenOverflow("difference is negative"))
    }
}

impl fmt::Debug for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fen({})", self.0)
    }
}

/// `¥1,234.56` style, for logs and CLI output (the UI formats per locale).
impl fmt::Display for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let yuan = self.0 / 100;
        let cents = self.0 % 100;
        let digits = yuan.to_string();
        let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(c);
        }
        write!(f, "¥{grouped}.{cents:02}")
    }
}

impl Serialize for Fen {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for Fen {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Fen;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a whole number of fen (JSON integer, 0 ≤ n < 2^53)")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Fen, E> {
                Fen::new(v).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Fen, E> {
                u64::try_from(v)
                    .map_err(|_| E::custom(TypeError::Fen(v.to_string())))
                    .and_then(|u| Fen::new(u).map_err(E::custom))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Fen, E> {
                Err(E::custom(TypeError::Fen(format!("{v} (a float)"))))
            }
        }
        d.deserialize_any(V)
    }
}

/// Identifies one consortium chain; part of every domain tag.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChainId(String);

impl ChainId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ChainId {
    type Err = TypeError;
    fn from_str(s: &str) -> Result<Self, TypeError> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes().enumerate().all(|(i, b)| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || (i > 0 && (b == b'-' || b == b'.'))
            });
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(TypeError::ChainId(s.to_owned()))
        }
    }
}

impl fmt::Debug for ChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChainId({})", self.0)
    }
}

impl fmt::Display for ChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A point in time, UTC, millisecond precision. One wire form only:
/// `YYYY-MM-DDTHH:MM:SS.sssZ` (RFC 3339 profile).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    /// 1970-01-01T00:00:00.000Z.
    pub const UNIX_EPOCH: Timestamp = Timestamp(DateTime::<Utc>::UNIX_EPOCH);

    /// Truncates to whole milliseconds (the wire precision).
    pub fn from_datetime(t: DateTime<Utc>) -> Self {
        let ms = t.timestamp_millis();
        Self(DateTime::from_timestamp_millis(ms).unwrap_or(t))
    }

    pub fn from_unix_millis(ms: i64) -> Option<Self> {
        DateTime::from_timestamp_millis(ms).map(Self)
    }

    pub fn as_datetime(&self) -> DateTime<Utc> {
        self.0
    }

    pub fn unix_millis(&self) -> i64 {
        self.0.timestamp_millis()
    }
}

impl FromStr for Timestamp {
    type Err = TypeError;
    fn from_str(s: &str) -> Result<Self, TypeError> {
        let t = DateTime::parse_from_rfc3339(s)
            .map_err(|_| TypeError::Timestamp(s.to_owned()))?
            .with_timezone(&Utc);
        let ts = Self(t);
        // Only the canonical spelling is accepted (one value, one byte form).
        if ts.to_string() != s {
            return Err(TypeError::Timestamp(s.to_owned()));
        }
        Ok(ts)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(SecondsFormat::Millis, true))
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}

/// Serde via `Display`/`FromStr` for string-typed protocol values.
macro_rules! string_serde {
    ($ty:ty) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(de::Error::custom)
            }
        }
    };
}
string_serde!(ChainId);
string_serde!(Timestamp);

/// A SHA-256 digest (hex on the wire): tx ids, block hashes, Merkle roots.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash32(pub [u8; 32]);
hex_newtype!(Hash32, 32, "sha-256 hash");

impl Hash32 {
    pub const ZERO: Hash32 = Hash32([0; 32]);

    pub fn sha256(data: &[u8]) -> Self {
        Self(Sha256::digest(data).into())
    }
}

impl AsRef<[u8]> for Hash32 {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash32({})", hex::encode(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fen_rejects_floats_negatives_and_overflow() {
        assert_eq!(serde_json::from_str::<Fen>("12345").unwrap().get(), 12345);
        assert!(serde_json::from_str::<Fen>("1.0").is_err());
        assert!(serde_json::from_str::<Fen>("1e3").is_err());
        assert!(serde_json::from_str::<Fen>("-1").is_err());
        assert!(serde_json::from_str::<Fen>("\"100\"").is_err());
        assert!(serde_json::from_str::<Fen>("9007199254740992").is_err());
        assert!(serde_json::from_str::<Fen>("9007199254740991").is_ok());
        assert!(Fen::MAX.checked_add(Fen::new(1).unwrap()).is_err());
        assert!(Fen::ZERO.checked_sub(Fen::new(1).unwrap()).is_err());
        assert_eq!(Fen::new(123_456_789).unwrap().to_string(), "¥1,234,567.89");
        assert_eq!(Fen::new(5).unwrap().to_string(), "¥0.05");
    }

    #[test]
    fn timestamp_has_one_spelling() {
        let t: Timestamp = "2026-11-24T03:00:00.000Z".parse().unwrap();
        assert_eq!(t.to_string(), "2026-11-24T03:00:00.000Z");
        for bad in [
            "2026-11-24T03:00:00Z",
            "2026-11-24T11:00:00.000+08:00",
            "2026-11-24t03:00:00.000z",
            "2026-11-24T03:00:00.0000Z",
            "yesterday",
        ] {
            assert!(bad.parse::<Timestamp>().is_err(), "{bad}");
        }
    }

    #[test]
    fn chain_id_charset() {
        assert!("gov-demo.2026".parse::<ChainId>().is_ok());
        for bad in ["", "-x", "UPPER", "sp ace", "a/b", &"a".repeat(65)] {
            assert!(bad.parse::<ChainId>().is_err(), "{bad}");
        }
    }
}
