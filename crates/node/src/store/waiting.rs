//! The index of waiting cases (schema 6): for every open case, the
//! department and role of each stage of its current group that still needs
//! approvals, and when that group expires. Written with each block from the
//! cases it changed, in the block's transaction, so an inbox reads the few
//! cases waiting for an official's roles instead of every case
//! (`views::inbox_among`). Derived data: not part of the state root, and
//! every case it names is judged again against the signed state when read.
//! A database made before schema 6 (or a snapshot just installed) builds it
//! once from every stored case ([`Store::fill_waiting`]).

use govchain_ledger::state::kinds::{DeptId, RefId, Role};
use govchain_ledger::state::{views, State};
use govchain_ledger::types::Timestamp;
use rusqlite::{params, Connection, OptionalExtension};

use super::{ReadPool, Store};
use crate::error::NodeError;

pub(super) const MIGRATION_6: &str = "
CREATE TABLE case_waiting (
    department TEXT NOT NULL,
    role       TEXT NOT NULL,
    case_id    TEXT NOT NULL,
    expires_at INTEGER,
    PRIMARY KEY (department, role, case_id)
) WITHOUT ROWID;
CREATE INDEX case_waiting_case ON case_waiting (case_id);
CREATE TABLE case_waiting_built (one INTEGER PRIMARY KEY CHECK (one = 1));
INSERT INTO case_waiting_built SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM blocks);
";

/// Rewrites case `id`'s rows from `state`.
pub(super) fn write_case(conn: &Connection, state: &State, id: &RefId) -> Result<(), NodeError> {
    conn.prepare_cached("DELETE FROM case_waiting WHERE case_id = ?1")?
        .execute([id.as_str()])?;
    let Some(case) = state
        .case(id)
        .map_err(|e| NodeError::Storage(e.to_string()))?
    else {
        return Ok(());
    };
    let (roles, expires) = views::waiting_roles(state, &case);
    insert(conn, id, &roles, expires.as_ref())
}

/// Case `id`'s rows: waiting for `roles`, expiring at `expires`.
fn insert(
    conn: &Connection,
    id: &RefId,
    roles: &[(DeptId, Role)],
    expires: Option<&Timestamp>,
) -> Result<(), NodeError> {
    let mut put = conn.prepare_cached(
        "INSERT OR REPLACE INTO case_waiting (department, role, case_id, expires_at) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (dept, role) in roles {
        put.execute(params![
            dept.as_str(),
            role.as_str(),
            id.as_str(),
            expires.map(Timestamp::unix_millis)
        ])?;
    }
    Ok(())
}

/// Forgets the index: it is built again from every case at the next start.
pub(super) fn clear(conn: &Connection) -> Result<(), NodeError> {
    conn.execute_batch("DELETE FROM case_waiting; DELETE FROM case_waiting_built;")?;
    Ok(())
}

/// Records that the index covers every stored case.
pub(super) fn mark_built(conn: &Connection) -> Result<(), NodeError> {
    conn.execute_batch("INSERT OR REPLACE INTO case_waiting_built (one) VALUES (1);")?;
    Ok(())
}

impl Store {
    /// Whether the index covers every stored case.
    pub fn waiting_built(&self) -> Result<bool, NodeError> {
        Ok(self
            .conn
            .query_row("SELECT 1 FROM case_waiting_built", [], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Builds the index from every case of `state` (the stored state of the
    /// head block), in one transaction.
    pub fn fill_waiting(&mut self, state: &State) -> Result<u64, NodeError> {
        let mut waiting = Vec::new();
        let mut cases = 0u64;
        state
            .each_case(|c| {
                cases += 1;
                let (roles, expires) = views::waiting_roles(state, c);
                if !roles.is_empty() {
                    waiting.push((c.id.clone(), roles, expires));
                }
            })
            .map_err(|e| NodeError::Storage(e.to_string()))?;
        let tx = self.conn.transaction()?;
        tx.execute_batch("DELETE FROM case_waiting;")?;
        for (id, roles, expires) in &waiting {
            insert(&tx, id, roles, expires.as_ref())?;
        }
        mark_built(&tx)?;
        tx.commit()?;
        Ok(cases)
    }
}

impl ReadPool {
    /// The cases waiting at some stage for one of `roles` (department and
    /// role) that have not expired by `now`, in id order.
    pub fn waiting_cases(
        &self,
        roles: &[(String, String)],
        now: Timestamp,
    ) -> Result<Vec<RefId>, NodeError> {
        self.with(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT case_id FROM case_waiting WHERE department = ?1 AND role = ?2
                 AND (expires_at IS NULL OR expires_at >= ?3)",
            )?;
            let mut out = Vec::new();
            for (dept, role) in roles {
                let mut rows = stmt.query(params![dept, role, now.unix_millis()])?;
                while let Some(row) = rows.next()? {
                    let id: String = row.get(0)?;
                    out.push(
                        RefId::try_from(id).map_err(|e| {
                            NodeError::Corrupt(format!("the waiting-case index: {e}"))
                        })?,
                    );
                }
            }
            out.sort();
            out.dedup();
            Ok(out)
        })
    }
}
