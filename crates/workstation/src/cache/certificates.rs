//! The salts of certificates issued here.

use rusqlite::{params, OptionalExtension};

use crate::error::WsError;

use super::Cache;

/// A certificate signed here: its id, the commitment it put on chain (hex),
/// the salt (hex) and the document (SHA-256 hex in the document store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedSalt {
    pub cert_id: String,
    pub commitment: String,
    pub salt: String,
    pub document: String,
}

impl Cache {
    /// Keeps the salt of a certificate signed here. Keyed by id and
    /// commitment: a refused attempt under the same id never stands for the
    /// certificate the chain holds.
    pub fn store_certificate_salt(&self, s: &IssuedSalt, at: &str) -> Result<(), WsError> {
        self.conn.execute(
            "INSERT INTO certificate_salts (cert_id, commitment, salt, document, created_at) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(cert_id, commitment) DO NOTHING",
            params![s.cert_id, s.commitment, s.salt, s.document, at],
        )?;
        Ok(())
    }

    /// `(salt, document)` of certificate `cert_id` with `commitment` (hex),
    /// if it was signed here.
    pub fn certificate_salt(
        &self,
        cert_id: &str,
        commitment: &str,
    ) -> Result<Option<(String, String)>, WsError> {
        Ok(self
            .conn
            .query_row(
                "SELECT salt, document FROM certificate_salts WHERE cert_id = ?1 AND commitment = ?2",
                [cert_id, commitment],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }
}
