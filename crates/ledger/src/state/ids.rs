//! Validated identifiers used in payloads (PROTOCOL.md §12.1): department
//! ids, roles, ref ids and scopes. Re-exported from [`super::kinds`].

use serde::{Deserialize, Serialize};

use crate::ErrorCode;

/// An identifier that breaks its syntax rule (PROTOCOL.md §12.1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a valid {what}")]
pub struct InvalidId {
    pub value: String,
    pub what: &'static str,
}

impl ErrorCode for InvalidId {
    fn code(&self) -> &'static str {
        "tx.bad_payload"
    }
}

/// Validated identifiers used in payloads.
macro_rules! ident {
    ($(#[$m:meta])* $ty:ident, $check:expr, $what:literal) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $ty(String);

        impl $ty {
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// For literals in this crate; each is checked by a unit test.
            #[allow(dead_code)]
            pub(crate) fn from_static(s: &'static str) -> Self {
                Self(s.to_owned())
            }
        }

        impl TryFrom<String> for $ty {
            type Error = InvalidId;
            fn try_from(s: String) -> Result<Self, InvalidId> {
                let check: fn(&str) -> bool = $check;
                if check(&s) {
                    Ok(Self(s))
                } else {
                    Err(InvalidId { value: s, what: $what })
                }
            }
        }

        impl From<$ty> for String {
            fn from(v: $ty) -> String {
                v.0
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

fn slug_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes().enumerate().all(|(i, b)| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || (i > 0 && (b == b'-' || b == b'_'))
        })
}

fn ref_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes().enumerate().all(|(i, b)| {
            b.is_ascii_alphanumeric() || (i > 0 && (b == b'-' || b == b'_' || b == b'.'))
        })
}

ident!(
    /// A department id, e.g. `city-management`.
    DeptId, slug_ok, "department id (lowercase letters, digits, - and _)"
);
ident!(
    /// A role name, e.g. `fire-inspector`.
    Role, slug_ok, "role (lowercase letters, digits, - and _)"
);
ident!(
    /// An id chosen by the submitter for a case, project, payment or template.
    RefId, ref_ok, "id (letters, digits, '.', '-' and '_', at most 64)"
);
ident!(
    /// A hierarchical scope: `*` (everything) or slugs joined by `/`
    /// (`hz` ⊃ `hz/xihu` ⊃ `hz/xihu/beishan`).
    Scope,
    |s| s == "*" || (s.len() <= 128 && s.split('/').all(slug_ok)),
    "scope (\"*\" or path segments like \"hz/xihu\")"
);

impl Scope {
    /// Whether a grant at `self` covers `other`.
    pub fn covers(&self, other: &Scope) -> bool {
        self.0 == "*"
            || other.0 == self.0
            || (other.0.len() > self.0.len()
                && other.0.starts_with(&self.0)
                && other.0.as_bytes()[self.0.len()] == b'/')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_literals_are_valid() {
        assert!(Role::try_from("admin".to_owned()).is_ok());
        assert!(Scope::try_from("*".to_owned()).is_ok());
    }

    #[test]
    fn scopes_are_hierarchical() {
        let s = |x: &str| Scope::try_from(x.to_owned()).unwrap();
        assert!(s("hz").covers(&s("hz/xihu/beishan")));
        assert!(s("hz/xihu").covers(&s("hz/xihu")));
        assert!(!s("hz/xihu").covers(&s("hz")));
        assert!(!s("hz/xi").covers(&s("hz/xihu")));
        assert!(s("*").covers(&s("sz")));
        for bad in ["", "Hz", "hz//x", "/hz", "hz/", "h z"] {
            assert!(Scope::try_from(bad.to_owned()).is_err(), "{bad}");
        }
    }
}
