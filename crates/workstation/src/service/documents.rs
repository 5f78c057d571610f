//! Documents attached to transactions: received from the UI in chunks into
//! the local store ([`crate::documents`]), and checked against the hashes a
//! case carries.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use govchain_ledger::types::Hash32;

use crate::documents::DocumentStore;
use crate::dto::{DocumentCheck, StoredDocument};
use crate::error::WsError;

use super::Workstation;

/// The most documents being received at once.
const MAX_UPLOADS: usize = 16;
/// An upload not finished within this long is dropped (a reloaded window).
const UPLOAD_TTL: std::time::Duration = std::time::Duration::from_mins(15);

impl Workstation {
    /// The store under `DATA_DIR/documents`.
    pub fn documents(&self) -> DocumentStore {
        DocumentStore::new(self.data_dir.join("documents"))
    }

    fn uploads(&self) -> Result<std::sync::MutexGuard<'_, super::Uploads>, WsError> {
        self.uploads
            .lock()
            .map_err(|_| WsError::Storage("upload lock poisoned".into()))
    }

    /// Starts receiving a document; its id names the next calls.
    pub fn document_begin(&self) -> Result<String, WsError> {
        let mut uploads = self.uploads()?;
        uploads.retain(|_, (started, _)| started.elapsed() < UPLOAD_TTL);
        if uploads.len() >= MAX_UPLOADS {
            return Err(WsError::BadRequest(format!(
                "at most {MAX_UPLOADS} documents can be received at once; finish or cancel one"
            )));
        }
        let upload = self.documents().begin()?;
        let mut r = [0u8; 16];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut r);
        let id = hex::encode(r);
        uploads.insert(id.clone(), (std::time::Instant::now(), upload));
        Ok(id)
    }

    /// The next piece of document `id` (base64). A failure drops the
    /// document: start again.
    pub fn document_chunk(&self, id: &str, base64: &str) -> Result<(), WsError> {
        let mut uploads = self.uploads()?;
        let (_, upload) = uploads
            .get_mut(id)
            .ok_or_else(|| WsError::NotFound(format!("document upload {id}")))?;
        let written = B64
            .decode(base64)
            .map_err(|e| WsError::BadRequest(format!("document chunk: {e}")))
            .and_then(|bytes| upload.write(&bytes));
        if written.is_err() {
            uploads.remove(id);
        }
        written
    }

    /// Completes document `id`: durable, named by its SHA-256.
    pub fn document_finish(&self, id: &str, name: &str) -> Result<StoredDocument, WsError> {
        let (_, upload) = self
            .uploads()?
            .remove(id)
            .ok_or_else(|| WsError::NotFound(format!("document upload {id}")))?;
        self.documents().finish(upload, name)
    }

    /// Abandons document `id` (nothing is kept).
    pub fn document_cancel(&self, id: &str) -> Result<(), WsError> {
        self.uploads()?.remove(id);
        Ok(())
    }

    /// Whether each of `hashes` (hex) is here and still matches.
    pub fn check_documents(&self, hashes: &[String]) -> Result<Vec<DocumentCheck>, WsError> {
        let store = self.documents();
        hashes
            .iter()
            .map(|h| store.check(&Hash32::from_hex(h)?))
            .collect()
    }
}
