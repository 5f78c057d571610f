//! Durable storage of the chain in SQLite: blocks (with their transactions),
//! a transaction index with the log's leaf hashes, and the state after the
//! last block (`state`: its entries, committed payrolls' lines, the access
//! log). WAL mode with `synchronous=FULL`: a block is acknowledged only
//! after its SQLite transaction has committed, and a block and the state it
//! leads to are written in one transaction, so a half-written block is never
//! visible and the stored state is always the head block's.

mod cases;
mod snapshot;
mod snapshot_file;
mod state;
mod tx_ids;
mod waiting;

pub use cases::StoredCases;
pub use snapshot::{LogRecord, SnapshotBlock, SnapshotInfo};
pub use snapshot_file::{leading_blocks, Counts, Frame, FrameReader, FrameWriter, LogChunk};
pub use state::{read_state, stored_height, write_state, STATE_TABLES};

use tx_ids::RecentIds;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use govchain_ledger::block::Block;
use govchain_ledger::state_proof::SignedHeader;
use govchain_ledger::types::Hash32;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

use crate::error::NodeError;

/// Schema version written to `PRAGMA user_version`.
const SCHEMA_VERSION: i64 = 6;

const MIGRATION_1: &str = "
CREATE TABLE blocks (
    height   INTEGER PRIMARY KEY,
    hash     BLOB NOT NULL UNIQUE,
    time     TEXT NOT NULL,
    tx_count INTEGER NOT NULL,
    log_size INTEGER NOT NULL,
    block    TEXT NOT NULL
);
CREATE TABLE txs (
    id         BLOB PRIMARY KEY,
    height     INTEGER NOT NULL REFERENCES blocks(height),
    idx        INTEGER NOT NULL,
    leaf_index INTEGER NOT NULL UNIQUE,
    kind       TEXT NOT NULL,
    signer     BLOB NOT NULL
);
CREATE INDEX txs_signer ON txs(signer);
";

/// Where a committed transaction is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxLocation {
    pub height: u64,
    pub index: usize,
    pub leaf_index: u64,
}

#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// Ids not merged into `tx_ids` yet (shared with the read pool).
    recent: Arc<RecentIds>,
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

impl Store {
    /// Opens (creating and migrating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, NodeError> {
        let conn = Connection::open(path)?;
        Self::init(conn, path)
    }

    fn init(conn: Connection, path: &Path) -> Result<Self, NodeError> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(NodeError::Storage(format!(
                "database schema {version} is newer than this node understands ({SCHEMA_VERSION})"
            )));
        }
        if version < 1 {
            conn.execute_batch(MIGRATION_1)?;
            conn.pragma_update(None, "user_version", 1)?;
        }
        if version < 2 {
            // A version-1 database has no stored state: the node replays
            // its blocks once and stores it (`Core::open`).
            // One transaction: a crash leaves schema 1 or schema 2.
            conn.execute_batch(&format!(
                "BEGIN; {} PRAGMA user_version = 2; COMMIT;",
                state::MIGRATION_2
            ))?;
        }
        if version < 3 {
            conn.execute_batch(&format!(
                "BEGIN; {} PRAGMA user_version = 3; COMMIT;",
                snapshot::MIGRATION_3
            ))?;
        }
        if version < 4 {
            let tx = conn.unchecked_transaction()?;
            tx.execute_batch(cases::MIGRATION_4)?;
            cases::fill_value_hashes(&tx)?;
            tx.pragma_update(None, "user_version", 4)?;
            tx.commit()?;
        }
        if version < 5 {
            // The transaction index moves from `txs.id` to `tx_ids`.
            let tx = conn.unchecked_transaction()?;
            tx.execute_batch(tx_ids::MIGRATION_5)?;
            tx_ids::fill(&tx)?;
            tx.pragma_update(None, "user_version", 5)?;
            tx.commit()?;
        }
        if version < 6 {
            // Built from the cases at the next start (`Core::open`).
            conn.execute_batch(&format!(
                "BEGIN; {} PRAGMA user_version = 6; COMMIT;",
                waiting::MIGRATION_6
            ))?;
        }
        let recent = Arc::new(RecentIds::load(&conn)?);
        Ok(Self {
            conn,
            path: path.to_owned(),
            recent,
        })
    }

    /// Read-only connections to this database that see the ids this store
    /// has not merged into the index yet.
    pub fn read_pool(&self) -> ReadPool {
        ReadPool {
            path: self.path.clone(),
            idle: Mutex::new(Vec::new()),
            recent: self.recent.clone(),
        }
    }

    /// Appends one block, its transaction index and the state after it
    /// (the entries its commit wrote: `state.last_commit()`) in one SQLite
    /// transaction. `ids[i]` and `leaves[i]` are the id and log leaf hash of
    /// `block.txs[i]`.
    pub fn append(
        &mut self,
        block: &Block,
        hash: Hash32,
        first_leaf: u64,
        ids: &[Hash32],
        leaves: &[Hash32],
        state: &govchain_ledger::state::State,
    ) -> Result<(), NodeError> {
        let tx = self.conn.transaction()?;
        insert_block(&tx, block, hash, first_leaf, ids, leaves)?;
        let staged = self
            .recent
            .merge(&tx, block.header.height, first_leaf, ids)?;
        state::write_changes(&tx, block.header.height, state, state.last_commit())?;
        tx.commit()?;
        self.recent.apply(staged);
        Ok(())
    }

    /// Calls `f` with every block in height order, one at a time (replay).
    pub fn for_each_block(
        &self,
        mut f: impl FnMut(Block) -> Result<(), NodeError>,
    ) -> Result<(), NodeError> {
        let mut stmt = self
            .conn
            .prepare("SELECT block FROM blocks ORDER BY height")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let json: String = row.get(0)?;
            f(Block::from_json(json.as_bytes()).map_err(|e| NodeError::Corrupt(e.to_string()))?)?;
        }
        Ok(())
    }

    /// The head block's header and signature; `None` for an empty database.
    pub fn head(&self) -> Result<Option<SignedHeader>, NodeError> {
        let height: Option<i64> =
            self.conn
                .query_row("SELECT MAX(height) FROM blocks", [], |r| r.get(0))?;
        height
            .map(|h| {
                let h = to_u64(h);
                signed_header(block_json(&self.conn, h)?, h)?
                    .ok_or_else(|| NodeError::Corrupt(format!("block {h} vanished")))
            })
            .transpose()
    }

    /// Stored block `height`.
    pub fn block(&self, height: u64) -> Result<Option<Block>, NodeError> {
        parse_block(block_json(&self.conn, height)?)
    }

    /// The stored hash of block `height`.
    pub fn block_hash(&self, height: u64) -> Result<Option<Hash32>, NodeError> {
        let bytes: Option<Vec<u8>> = self
            .conn
            .query_row(
                "SELECT hash FROM blocks WHERE height = ?1",
                [to_i64(height)],
                |r| r.get(0),
            )
            .optional()?;
        bytes
            .map(|b| {
                <[u8; 32]>::try_from(b.as_slice())
                    .map(Hash32)
                    .map_err(|_| NodeError::Corrupt(format!("block {height}'s stored hash")))
            })
            .transpose()
    }

    /// Runs `f` on one consistent snapshot of the database (one read
    /// transaction), while the node may go on writing.
    pub fn snapshot<R>(
        &self,
        f: impl FnOnce(&Self) -> Result<R, NodeError>,
    ) -> Result<R, NodeError> {
        self.conn.execute_batch("BEGIN")?;
        let out = f(self);
        self.conn.execute_batch("COMMIT")?;
        out
    }

    pub fn locate(&self, id: &Hash32) -> Result<Option<TxLocation>, NodeError> {
        tx_ids::locate(&self.conn, &self.recent, id)
    }
}

/// Inserts one block and its transaction index (`ids[i]`, `leaves[i]`: the
/// id and log leaf hash of `block.txs[i]`; `first_leaf`: the first one's
/// leaf index).
fn insert_block(
    tx: &Connection,
    block: &Block,
    hash: Hash32,
    first_leaf: u64,
    ids: &[Hash32],
    leaves: &[Hash32],
) -> Result<(), NodeError> {
    let json = serde_json::to_string(block).map_err(|e| NodeError::Storage(e.to_string()))?;
    let h = &block.header;
    tx.execute(
            "INSERT INTO blocks (height, hash, time, tx_count, log_size, block) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                to_i64(h.height),
                hash.0.as_slice(),
                h.time.to_string(),
                to_i64(h.tx_count),
                to_i64(h.log_size),
                json
            ],
        )?;
    {
        let mut stmt = tx.prepare(
                "INSERT INTO txs (id, height, idx, leaf_index, kind, signer, leaf_hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
        for (i, ((env, id), leaf)) in block.txs.iter().zip(ids).zip(leaves).enumerate() {
            stmt.execute(params![
                id.0.as_slice(),
                to_i64(h.height),
                to_i64(i as u64),
                to_i64(first_leaf + i as u64),
                env.body.kind,
                env.body.signer.as_bytes().as_slice(),
                leaf.0.as_slice()
            ])?;
        }
    }
    Ok(())
}

/// The log's leaf hashes in order (those of transactions in held blocks,
/// and of the ones before a snapshot's blocks); `None` if some were never
/// stored (transactions written before leaf hashes were).
fn leaf_hashes(conn: &Connection) -> Result<Option<Vec<Hash32>>, NodeError> {
    // Rows are written in log order, so reading them in storage order needs
    // no sort; if they are not in order, sort.
    const IN_STORAGE_ORDER: &str = "SELECT leaf_index, leaf_hash FROM log_prefix
         UNION ALL SELECT * FROM (SELECT leaf_index, leaf_hash FROM txs ORDER BY rowid)";
    const SORTED: &str = "SELECT leaf_index, leaf_hash FROM txs
         UNION ALL SELECT leaf_index, leaf_hash FROM log_prefix ORDER BY 1";
    match read_leaves(conn, IN_STORAGE_ORDER)? {
        Leaves::OutOfOrder => match read_leaves(conn, SORTED)? {
            Leaves::Read(l) => Ok(Some(l)),
            Leaves::Missing => Ok(None),
            Leaves::OutOfOrder => Err(NodeError::StateMismatch("the stored log has a gap".into())),
        },
        Leaves::Read(l) => Ok(Some(l)),
        Leaves::Missing => Ok(None),
    }
}

enum Leaves {
    Read(Vec<Hash32>),
    /// Some leaf hash was never stored.
    Missing,
    /// A row's leaf index is not the next one.
    OutOfOrder,
}

fn read_leaves(conn: &Connection, sql: &str) -> Result<Leaves, NodeError> {
    let mut stmt = conn.prepare(sql)?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        if to_u64(row.get(0)?) != out.len() as u64 {
            return Ok(Leaves::OutOfOrder);
        }
        let Some(bytes) = row.get_ref(1)?.as_blob_or_null()? else {
            return Ok(Leaves::Missing);
        };
        let hash = <[u8; 32]>::try_from(bytes)
            .map_err(|_| NodeError::StateMismatch("a stored leaf hash is not 32 bytes".into()))?;
        out.push(Hash32(hash));
    }
    Ok(Leaves::Read(out))
}

fn parse_block(json: Option<String>) -> Result<Option<Block>, NodeError> {
    json.map(|j| Block::from_json(j.as_bytes()).map_err(|e| NodeError::Corrupt(e.to_string())))
        .transpose()
}

/// A stored block's header and signature, without parsing its transactions.
fn signed_header(json: Option<String>, height: u64) -> Result<Option<SignedHeader>, NodeError> {
    #[derive(serde::Deserialize)]
    struct HeaderOnly {
        header: govchain_ledger::block::BlockHeader,
        sig: govchain_ledger::crypto::Signature,
        #[serde(rename = "txs")]
        _txs: serde::de::IgnoredAny,
    }
    json.map(|j| {
        serde_json::from_str::<HeaderOnly>(&j)
            .map(|h| SignedHeader {
                header: h.header,
                sig: h.sig,
            })
            .map_err(|e| NodeError::Corrupt(format!("stored block {height}: {e}")))
    })
    .transpose()
}

fn block_json(conn: &Connection, height: u64) -> Result<Option<String>, NodeError> {
    Ok(conn
        .query_row(
            "SELECT block FROM blocks WHERE height = ?1",
            [to_i64(height)],
            |r| r.get(0),
        )
        .optional()?)
}

/// Idle read connections kept for reuse.
const MAX_IDLE_READERS: usize = 4;

/// Read-only connections for queries that need not wait for the node's lock
/// or the writer: in WAL mode a reader sees the last committed block and
/// never blocks a commit. Blocks come back as the stored wire JSON, so
/// serving a page of blocks does not re-encode it.
#[derive(Debug)]
pub struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    recent: Arc<RecentIds>,
}

/// The log's stored leaf hashes, which the node's `CompactTree` reads back
/// below its floor.
impl govchain_ledger::merkle::LeafSource for ReadPool {
    type Error = NodeError;

    fn leaf_hashes(&self, from: u64, to: u64) -> Result<Vec<Hash32>, NodeError> {
        self.with(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT leaf_index, leaf_hash FROM txs WHERE leaf_index >= ?1 AND leaf_index < ?2
                 UNION ALL
                 SELECT leaf_index, leaf_hash FROM log_prefix WHERE leaf_index >= ?1 AND leaf_index < ?2
                 ORDER BY 1",
            )?;
            let mut rows = stmt.query([to_i64(from), to_i64(to)])?;
            let mut out = Vec::with_capacity(usize::try_from(to - from).unwrap_or(0));
            while let Some(row) = rows.next()? {
                let at = from + out.len() as u64;
                let hash: Option<Vec<u8>> = row.get(1)?;
                let hash = hash.and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok());
                match hash {
                    Some(h) if to_u64(row.get(0)?) == at => out.push(Hash32(h)),
                    _ => {
                        return Err(NodeError::Corrupt(format!(
                            "the stored log has no leaf hash {at}"
                        )))
                    }
                }
            }
            Ok(out)
        })
    }
}

impl ReadPool {
    /// The log's leaf hashes in order (`None` if some were never stored).
    pub fn leaf_hashes(&self) -> Result<Option<Vec<Hash32>>, NodeError> {
        self.with(leaf_hashes)
    }

    fn with<R>(&self, f: impl FnOnce(&Connection) -> Result<R, NodeError>) -> Result<R, NodeError> {
        let reused = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let conn = if let Some(c) = reused {
            c
        } else {
            let c = Connection::open_with_flags(
                &self.path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            c.busy_timeout(std::time::Duration::from_secs(5))?;
            c
        };
        let out = f(&conn);
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < MAX_IDLE_READERS {
                idle.push(conn);
            }
        }
        out
    }

    /// Writes the stored chain as a Raft snapshot file (§14) with at most
    /// `recent` blocks above 0 to `out`, row by row, from one consistent
    /// view while the node goes on writing.
    pub fn write_snapshot(
        &self,
        recent: u64,
        out: impl std::io::Write,
    ) -> Result<SnapshotInfo, NodeError> {
        self.with(|conn| {
            conn.execute_batch("BEGIN")?;
            let out = snapshot::write_snapshot(conn, recent, out);
            conn.execute_batch("COMMIT")?;
            out
        })
    }

    /// [`ReadPool::write_snapshot`] into a file at `path` (written beside it,
    /// synced, then renamed into place).
    pub fn snapshot_file(
        &self,
        recent: u64,
        path: &std::path::Path,
    ) -> Result<SnapshotInfo, NodeError> {
        let io = |e: std::io::Error| NodeError::Storage(format!("snapshot file: {e}"));
        let tmp = path.with_extension("tmp");
        let file = std::fs::File::create(&tmp).map_err(io)?;
        let info =
            self.write_snapshot(recent, std::io::BufWriter::with_capacity(1 << 20, &file))?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)?;
        Ok(info)
    }

    /// The lowest block above 0 held, if this node joined from a snapshot.
    pub fn first_block(&self) -> Result<Option<u64>, NodeError> {
        self.with(snapshot::first_block)
    }

    /// The stored wire JSON of blocks `from..=to` that exist, in order.
    pub fn blocks_json(&self, from: u64, to: u64) -> Result<Vec<String>, NodeError> {
        self.with(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT block FROM blocks WHERE height >= ?1 AND height <= ?2 ORDER BY height",
            )?;
            let rows = stmt.query_map([to_i64(from), to_i64(to)], |r| r.get::<_, String>(0))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    pub fn block_json(&self, height: u64) -> Result<Option<String>, NodeError> {
        self.with(|conn| block_json(conn, height))
    }

    pub fn block(&self, height: u64) -> Result<Option<Block>, NodeError> {
        parse_block(self.block_json(height)?)
    }

    /// A stored block's header and signature, without parsing its
    /// transactions (the block was verified before it was stored).
    pub fn signed_header(&self, height: u64) -> Result<Option<SignedHeader>, NodeError> {
        signed_header(self.block_json(height)?, height)
    }

    pub fn locate(&self, id: &Hash32) -> Result<Option<TxLocation>, NodeError> {
        self.with(|conn| tx_ids::locate(conn, &self.recent, id))
    }
}
