//! The local document store: files an official attaches to a transaction
//! (a case's application documents) are kept on this computer under their
//! SHA-256, in `DATA_DIR/documents/`; only the hash goes on chain. A file
//! arrives in chunks (from the UI, which reads it from disk piece by piece)
//! or from a path, is hashed while it is written, made durable, then named
//! by its hash — so a stored file is always complete, and the case screen
//! can say whether the file still matches the hash the ledger holds. The
//! directory and its files are this user's only (mode 0700/0600); files
//! are kept until the official removes them (they are the department's
//! copy of the originals).

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use govchain_ledger::types::Hash32;
use sha2::{Digest, Sha256};

use crate::dto::{DocumentCheck, DocumentState, StoredDocument};
use crate::error::WsError;

/// The largest document accepted (bytes).
pub const MAX_DOCUMENT_BYTES: u64 = 256 * 1024 * 1024;
/// The longest file name kept (characters).
const MAX_NAME_CHARS: usize = 200;

/// A document being received: written to a temporary file and hashed as it
/// arrives.
#[derive(Debug)]
pub struct Upload {
    file: std::fs::File,
    tmp: PathBuf,
    hasher: Sha256,
    size: u64,
}

impl Upload {
    /// Appends the next bytes.
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), WsError> {
        self.size += bytes.len() as u64;
        if self.size > MAX_DOCUMENT_BYTES {
            return Err(WsError::BadRequest(format!(
                "a document may have at most {} MiB",
                MAX_DOCUMENT_BYTES / (1024 * 1024)
            )));
        }
        self.hasher.update(bytes);
        self.file.write_all(bytes).map_err(io)
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        // Finished uploads were renamed away; this removes abandoned ones.
        let _ = std::fs::remove_file(&self.tmp);
    }
}

#[allow(clippy::needless_pass_by_value)] // used as `map_err(io)`
fn io(e: std::io::Error) -> WsError {
    WsError::Storage(format!("document store: {e}"))
}

/// The store's directory, readable by this user only (attached files are
/// often scans of identity documents).
fn create_private_dir(dir: &Path) -> Result<(), WsError> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir).map_err(io)
}

/// A new file readable by this user only.
fn create_private(path: &Path) -> Result<std::fs::File, WsError> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path).map_err(io)
}

/// Content-addressed files under one directory.
#[derive(Debug, Clone)]
pub struct DocumentStore {
    dir: PathBuf,
}

impl DocumentStore {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    fn path(&self, hash: &Hash32) -> PathBuf {
        self.dir.join(hash.to_hex())
    }

    /// Starts receiving a document (and removes what uploads interrupted
    /// an hour or more ago left behind).
    pub fn begin(&self) -> Result<Upload, WsError> {
        create_private_dir(&self.dir)?;
        self.sweep();
        let mut r = [0u8; 8];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut r);
        let tmp = self.dir.join(format!(".upload-{}", hex::encode(r)));
        let file = create_private(&tmp)?;
        Ok(Upload {
            file,
            tmp,
            hasher: Sha256::new(),
            size: 0,
        })
    }

    /// Makes a received document durable and names it by its hash. The
    /// same content added twice is stored once.
    pub fn finish(&self, mut upload: Upload, name: &str) -> Result<StoredDocument, WsError> {
        if upload.size == 0 {
            return Err(WsError::BadRequest(format!("{name:?} is empty")));
        }
        upload.file.sync_all().map_err(io)?;
        let hash = Hash32(std::mem::take(&mut upload.hasher).finalize().into());
        let target = self.path(&hash);
        std::fs::rename(&upload.tmp, &target).map_err(io)?;
        let name: String = name
            .chars()
            .filter(|c| !c.is_control())
            .take(MAX_NAME_CHARS)
            .collect();
        let name_tmp = upload.tmp.with_extension("name");
        let mut f = create_private(&name_tmp)?;
        f.write_all(name.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(io)?;
        std::fs::rename(&name_tmp, target.with_extension("name")).map_err(io)?;
        std::fs::File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(io)?;
        Ok(StoredDocument {
            sha256: hash.to_hex(),
            name,
            size: upload.size,
        })
    }

    /// Adds the file at `path`, read in 64 KiB pieces.
    pub fn add_file(&self, path: &Path) -> Result<StoredDocument, WsError> {
        let mut f = std::fs::File::open(path)
            .map_err(|e| WsError::BadRequest(format!("{}: {e}", path.display())))?;
        let mut upload = self.begin()?;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = f.read(&mut buf).map_err(io)?;
            if n == 0 {
                break;
            }
            upload.write(&buf[..n])?;
        }
        let name = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        self.finish(upload, &name)
    }

    /// Whether the store holds `hash`, checked by hashing the file again.
    pub fn check(&self, hash: &Hash32) -> Result<DocumentCheck, WsError> {
        let path = self.path(hash);
        let name = std::fs::read_to_string(path.with_extension("name")).ok();
        let mut f = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(DocumentCheck {
                    sha256: hash.to_hex(),
                    state: DocumentState::Missing,
                    name: None,
                    size: None,
                })
            }
            Err(e) => return Err(io(e)),
        };
        let (got, _, size) = digests(&mut f, None)?;
        Ok(DocumentCheck {
            sha256: hash.to_hex(),
            state: if got == *hash {
                DocumentState::Matches
            } else {
                DocumentState::Altered
            },
            name,
            size: Some(size),
        })
    }

    /// A certificate's commitment to the stored file `hash`:
    /// `SHA-256(salt ‖ file)` (PROTOCOL.md §12.6), streamed; a file that no
    /// longer matches its hash is refused.
    pub fn commitment(&self, hash: &Hash32, salt: &[u8; 32]) -> Result<Hash32, WsError> {
        let mut f = std::fs::File::open(self.path(hash)).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                WsError::NotFound(format!(
                    "document {hash} is not in this computer's document store; add the file again"
                ))
            } else {
                io(e)
            }
        })?;
        match digests(&mut f, Some(salt))? {
            (got, Some(c), _) if got == *hash => Ok(c),
            _ => Err(WsError::BadRequest(format!(
                "the stored file {hash} changed since it was added; add the file again"
            ))),
        }
    }

    /// Removes `.upload-*` files older than an hour (a crash or a closed
    /// window mid-upload).
    fn sweep(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let hour = std::time::Duration::from_hours(1);
        for e in entries.filter_map(Result::ok) {
            let stale = e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > hour);
            if stale && e.file_name().to_string_lossy().starts_with(".upload-") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }

    /// Whether a file named by `hash` is here (without re-hashing it).
    pub fn contains(&self, hash: &Hash32) -> bool {
        self.path(hash).is_file()
    }
}

/// SHA-256 of `f`, and of `salt ‖ f` if a salt is given, and its size.
fn digests(
    f: &mut std::fs::File,
    salt: Option<&[u8; 32]>,
) -> Result<(Hash32, Option<Hash32>, u64), WsError> {
    let mut plain = Sha256::new();
    let mut salted = salt.map(|s| {
        let mut h = Sha256::new();
        h.update(s);
        h
    });
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        plain.update(&buf[..n]);
        if let Some(h) = salted.as_mut() {
            h.update(&buf[..n]);
        }
    }
    Ok((
        Hash32(plain.finalize().into()),
        salted.map(|h| Hash32(h.finalize().into())),
        size,
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use govchain_ledger::ErrorCode as _;

    fn store(name: &str) -> DocumentStore {
        let d = std::env::temp_dir().join(format!("govchain-docs-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        DocumentStore::new(d)
    }

    #[test]
    fn chunks_hash_to_the_files_sha256_and_a_changed_file_is_reported() {
        let s = store("chunks");
        let body: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let mut u = s.begin().unwrap();
        for part in body.chunks(65_537) {
            u.write(part).unwrap();
        }
        let doc = s.finish(u, "申请书.pdf").unwrap();
        let want = Hash32::sha256(&body);
        assert_eq!(doc.sha256, want.to_hex());
        assert_eq!((doc.name.as_str(), doc.size), ("申请书.pdf", 200_000));
        let c = s.check(&want).unwrap();
        assert_eq!(c.state, DocumentState::Matches);
        assert_eq!(c.name.as_deref(), Some("申请书.pdf"));
        // No temporary file is left behind.
        let left: Vec<_> = std::fs::read_dir(&s.dir)
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with(".upload-"))
            .collect();
        assert!(left.is_empty());

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&s.path(&want)), 0o600);
            assert_eq!(mode(&s.path(&want).with_extension("name")), 0o600);
            assert_eq!(mode(&s.dir), 0o700);
        }
        // A certificate's commitment: SHA-256(salt ‖ file).
        let salt = [9u8; 32];
        let c = s.commitment(&want, &salt).unwrap();
        assert_eq!(c, Hash32::sha256(&[&salt[..], &body].concat()));
        std::fs::write(s.path(&want), b"edited").unwrap();
        assert_eq!(s.check(&want).unwrap().state, DocumentState::Altered);
        assert_eq!(
            s.commitment(&want, &salt).unwrap_err().code(),
            "request.invalid"
        );
        std::fs::remove_file(s.path(&want)).unwrap();
        assert_eq!(s.check(&want).unwrap().state, DocumentState::Missing);
    }

    #[test]
    fn a_file_from_disk_an_empty_one_and_an_abandoned_upload() {
        let s = store("disk");
        let src = s.dir.with_extension("src.txt");
        std::fs::write(&src, b"site plan").unwrap();
        let doc = s.add_file(&src).unwrap();
        assert_eq!(doc.sha256, Hash32::sha256(b"site plan").to_hex());
        assert!(s.contains(&Hash32::sha256(b"site plan")));
        let empty = s.begin().unwrap();
        assert_eq!(s.finish(empty, "x").unwrap_err().code(), "request.invalid");
        let u = s.begin().unwrap();
        let tmp = u.tmp.clone();
        assert!(tmp.exists());
        drop(u);
        assert!(!tmp.exists());
    }
}
