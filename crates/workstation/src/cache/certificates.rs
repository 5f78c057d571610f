//! The salts of certificates issued here.

use rusqlite::{params, OptionalExtension};

use crate::error::WsError;

use super::Cache;

impl Cache {
    /// Keeps the salt (hex) of certificate `cert_id` and the document it
    /// commits to (SHA-256 hex in the document store). Idempotent.
    pub fn store_certificate_salt(
        &self,
        cert_id: &str,
        salt: &str,
        document: &str,
        at: &str,
    ) -> Result<(), WsError> {
        self.conn.execute(
            "INSERT INTO certificate_salts (cert_id, salt, document, created_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT(cert_id) DO NOTHING",
            params![cert_id, salt, document, at],
        )?;
        Ok(())
    }

    /// `(salt, document)` of a certificate issued here.
    pub fn certificate_salt(&self, cert_id: &str) -> Result<Option<(String, String)>, WsError> {
        Ok(self
            .conn
            .query_row(
                "SELECT salt, document FROM certificate_salts WHERE cert_id = ?1",
                [cert_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }
}
