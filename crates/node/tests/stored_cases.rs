//! A node holds its cases in its store, not in memory: after each block and
//! at start its state keeps none of them, reads each on use, and checks it
//! against the state root. A case row altered at rest is refused when read
//! (`state.stored_mismatch`), and `verify-chain` finds it; an altered value
//! hash stops the start.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

use govchain_ledger::crypto::SecretKey;
use govchain_ledger::state::fixtures::renovation_template;
use govchain_ledger::state::kinds::RefId;
use govchain_ledger::state::views;
use govchain_ledger::types::ChainId;
use govchain_ledger::ErrorCode as _;
use govchain_node::chain::verify_chain;
use govchain_node::{Core, Limits};
use serde_json::{json, Value};

mod support;
use support::{genesis, key};

const T0: i64 = 1_795_000_000_000;
const DEPTS: [&str; 4] = ["city-management", "fire", "construction", "developer"];

fn chain() -> ChainId {
    "cases".parse().unwrap()
}

fn open(db: &std::path::Path) -> Result<Core, govchain_node::NodeError> {
    Core::open(
        db,
        key("node-city-management"),
        "node.cm.example",
        Some(&genesis(&chain(), "govchain.example/cases", &DEPTS, T0)),
        Limits::default(),
    )
}

struct Signer {
    key: SecretKey,
    seq: u64,
}

impl Signer {
    fn new(name: &str, seq: u64) -> Self {
        Self {
            key: key(name),
            seq,
        }
    }

    fn submit(&mut self, core: &mut Core, kind: &str, payload: Value) -> Result<(), String> {
        self.seq += 1;
        let env = support::tx(&chain(), &self.key, self.seq, kind, payload, T0);
        let now = core.now();
        match core.submit(env, now) {
            Ok(_) => Ok(()),
            Err(e) => {
                self.seq -= 1;
                Err(e.code().to_owned())
            }
        }
    }
}

fn id(s: &str) -> RefId {
    RefId::try_from(s.to_owned()).unwrap()
}

fn sign_step(case: &str) -> Value {
    json!({"case_id": case, "stage": 0, "decision": "approve", "comment": "", "attachments": []})
}

#[test]
fn cases_are_read_from_the_store_and_checked() {
    let dir = std::env::temp_dir().join(format!("govchain-cases-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("chain.sqlite");
    let mut core = open(&db).unwrap();
    let mut admin = Signer::new("city-management-admin", 1);
    let mut zhang = Signer::new("zhang", 0);
    admin
        .submit(
            &mut core,
            "official.register",
            json!({"department": "city-management", "name": "zhang", "public_key": zhang.key.public_key()}),
        )
        .unwrap();
    admin
        .submit(
            &mut core,
            "role.grant",
            json!({"official": zhang.key.key_id(), "department": "city-management", "role": "approver", "scope": "hz"}),
        )
        .unwrap();
    let template = serde_json::to_value(renovation_template()).unwrap();
    admin
        .submit(&mut core, "workflow.define", template)
        .unwrap();
    core.produce().unwrap();
    for i in 1..=20 {
        let open = json!({"case_id": format!("C-{i}"), "template": "old-city-renovation",
                          "version": 1, "scope": "hz", "title": "t", "documents": []});
        zhang.submit(&mut core, "case.open", open).unwrap();
        if i % 5 == 0 {
            core.produce().unwrap();
        }
    }
    // Stored, then dropped from memory; read back on use.
    let s = core.state();
    assert!(s.cases.is_backed() && s.cases.resident().is_empty());
    assert!(s.has_case(&id("C-7")) && !s.has_case(&id("C-21")));
    assert_eq!(s.case(&id("C-7")).unwrap().unwrap().title, "t");
    let me = zhang.key.key_id();
    let inbox = |core: &Core| views::inbox(core.state(), &me, core.view_time()).unwrap();
    assert_eq!(inbox(&core).len(), 20);
    // The rules read a stored case, change it and store it again.
    zhang
        .submit(&mut core, "case.sign_step", sign_step("C-2"))
        .unwrap();
    assert_eq!(
        zhang.submit(&mut core, "case.sign_step", sign_step("C-2")),
        Err("workflow.out_of_order".to_owned()),
        "the pending change is read, not the stored case"
    );
    assert_eq!(
        zhang.submit(
            &mut core,
            "case.open",
            json!({"case_id": "C-3", "template": "old-city-renovation", "version": 1,
                   "scope": "hz", "title": "again", "documents": []})
        ),
        Err("workflow.case_exists".to_owned())
    );
    // A state kept while the next block is stored does not read that
    // block's cases as its own.
    let old = core.state().clone();
    core.produce().unwrap();
    let e = old.case(&id("C-2")).unwrap_err();
    assert_eq!(e.code(), "state.superseded", "{e}");
    assert_eq!(old.case(&id("C-4")).unwrap().unwrap().current, 0);
    assert!(core.state().cases.resident().is_empty());
    assert_eq!(core.state().case(&id("C-2")).unwrap().unwrap().current, 1);
    assert_eq!(inbox(&core).len(), 19);
    let root = core.state().state_root();
    assert_eq!(core.reads().check_case_values().unwrap(), 20);
    drop(core);

    // A start reads the cases' leaves only.
    let core = open(&db).unwrap();
    assert!(core.state().cases.is_backed() && core.state().cases.resident().is_empty());
    assert_eq!(core.state().state_root(), root);
    assert_eq!(core.state().case(&id("C-2")).unwrap().unwrap().current, 1);
    assert_eq!(inbox(&core).len(), 19);
    drop(core);
    let report = verify_chain(&db, false).unwrap();
    assert_eq!(report.state_root, root);

    // A database from before value hashes were stored (schema 3) gets
    // them at the next start.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "DROP INDEX state_leaves; ALTER TABLE state_entries DROP COLUMN value_hash; ALTER TABLE state_entries DROP COLUMN height;
         DROP TABLE tx_ids; DROP TABLE case_waiting; DROP TABLE case_waiting_built; DROP TABLE tx_ids_merged; PRAGMA user_version = 3;",
    )
    .unwrap();
    drop(conn);
    let core = open(&db).unwrap();
    assert_eq!(core.state().state_root(), root);
    assert_eq!(core.state().case(&id("C-2")).unwrap().unwrap().current, 1);
    drop(core);

    // A case altered at rest: the node starts, refuses to use it, and
    // `verify-chain` finds it.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let alter = |conn: &rusqlite::Connection, sql: &str| {
        assert_eq!(conn.execute(sql, []).unwrap(), 1);
    };
    alter(
        &conn,
        "UPDATE state_entries SET value = CAST(replace(CAST(value AS TEXT), '\"title\":\"t\"', '\"title\":\"x\"') AS BLOB) WHERE key = 'case/C-7'",
    );
    drop(conn);
    let mut core = open(&db).unwrap();
    // The background check a serving node runs finds it too.
    let e = core.reads().check_case_values().unwrap_err();
    assert_eq!(e.code(), "node.state_mismatch", "{e}");
    let e = core.state().case(&id("C-7")).unwrap_err();
    assert_eq!(e.code(), "state.stored_mismatch", "{e}");
    assert_eq!(
        zhang.submit(&mut core, "case.sign_step", sign_step("C-7")),
        Err("node.state_mismatch".to_owned())
    );
    assert_eq!(
        views::inbox(core.state(), &me, core.view_time())
            .unwrap_err()
            .code(),
        "state.stored_mismatch"
    );
    // Other cases are still served.
    zhang
        .submit(&mut core, "case.sign_step", sign_step("C-8"))
        .unwrap();
    drop(core);
    let e = verify_chain(&db, false).unwrap_err();
    assert_eq!(e.code(), "node.state_mismatch", "{e}");

    // An altered value hash does not make the signed root: no start.
    let conn = rusqlite::Connection::open(&db).unwrap();
    alter(
        &conn,
        "UPDATE state_entries SET value_hash = zeroblob(32) WHERE key = 'case/C-9'",
    );
    drop(conn);
    let e = open(&db).unwrap_err();
    assert_eq!(e.code(), "node.state_mismatch", "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}
