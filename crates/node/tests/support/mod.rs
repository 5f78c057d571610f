//! Shared by the node's integration tests: keys from labels, a genesis block
//! for a set of departments, and a node served in-process on a random port.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use govchain_ledger::block::{Block, BlockDraft};
use govchain_ledger::crypto::SecretKey;
use govchain_ledger::merkle::Frontier;
use govchain_ledger::state::{SigCheck, State};
use govchain_ledger::tx::{Envelope, TxBody};
use govchain_ledger::types::{ChainId, Hash32, Timestamp};
use govchain_node::Core;
use serde_json::{json, Value};
use zeroize::Zeroizing;

/// `kind`/`payload` signed by `k` with `seq`, created at `time_ms`.
pub fn tx(
    chain: &ChainId,
    k: &SecretKey,
    seq: u64,
    kind: &str,
    payload: Value,
    time_ms: i64,
) -> Envelope {
    Envelope::sign(
        k,
        TxBody {
            chain_id: chain.clone(),
            signer: k.key_id(),
            seq,
            kind: kind.into(),
            payload,
            created_at: Timestamp::from_unix_millis(time_ms).unwrap(),
        },
    )
    .unwrap()
}

/// `admin` registers official `o{seq}` (key `key("o{seq}")`) in
/// department `dept`, with `seq`.
pub fn registration(
    chain: &ChainId,
    admin: &SecretKey,
    dept: &str,
    seq: u64,
    time_ms: i64,
) -> Envelope {
    let name = format!("o{seq}");
    let payload = json!({"department": dept, "name": name, "public_key": key(&name).public_key()});
    tx(chain, admin, seq, "official.register", payload, time_ms)
}

/// The node's `/healthz` answer (height, log size, mempool).
pub async fn health(url: &str) -> Value {
    reqwest::get(format!("{url}/healthz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A key whose seed is SHA-256 of `name`.
pub fn key(name: &str) -> SecretKey {
    SecretKey::from_seed(&Zeroizing::new(Hash32::sha256(name.as_bytes()).0))
}

/// Block 0 of `chain` at `time_ms`: `departments`, each with node key
/// `node-<d>` and one admin `<d>-admin` (threshold 1), proposed by the first
/// department's node and signed by its admin.
pub fn genesis(chain: &ChainId, origin: &str, departments: &[&str], time_ms: i64) -> Block {
    let specs: Vec<Value> = departments
        .iter()
        .map(|d| {
            json!({"id": d, "name": d, "node_key": key(&format!("node-{d}")).public_key(),
                   "admins": [{"name": "admin", "public_key": key(&format!("{d}-admin")).public_key()}],
                   "admin_threshold": 1})
        })
        .collect();
    let admin = key(&format!("{}-admin", departments[0]));
    let time = Timestamp::from_unix_millis(time_ms).unwrap();
    let g = Envelope::sign(
        &admin,
        TxBody {
            chain_id: chain.clone(),
            signer: admin.key_id(),
            seq: 1,
            kind: "consortium.genesis".into(),
            payload: json!({"origin": origin, "consortium_threshold": 1, "departments": specs}),
            created_at: time,
        },
    )
    .unwrap();
    let draft = |digest| BlockDraft {
        chain_id: chain.clone(),
        height: 0,
        prev_hash: Hash32::ZERO,
        time,
        txs: vec![g.clone()],
        state_root: digest,
    };
    let node = key(&format!("node-{}", departments[0]));
    let probe = Block::seal(&node, draft(Hash32::ZERO), &mut Frontier::default()).unwrap();
    let state = State::new().apply_block(&probe, SigCheck::Verify).unwrap();
    Block::seal(
        &node,
        draft(state.digest().unwrap()),
        &mut Frontier::default(),
    )
    .unwrap()
}

/// A node served by `govchain_node::run` on a random loopback port.
pub struct Running {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// `127.0.0.1:PORT` (the `Host` a client sends).
    pub authority: String,
    stop: tokio::sync::oneshot::Sender<()>,
    handle: tokio::task::JoinHandle<Result<(), govchain_node::NodeError>>,
}

/// Serves `core`, cutting blocks every `block_ms`.
pub async fn serve(core: Core, block_ms: u64) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let authority = listener.local_addr().unwrap().to_string();
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(govchain_node::run(
        listener,
        Arc::new(Mutex::new(core)),
        Duration::from_millis(block_ms),
        async move {
            let _ = rx.await;
        },
    ));
    Running {
        url: format!("http://{authority}"),
        authority,
        stop,
        handle,
    }
}

impl Running {
    /// Stops serving (the mempool is drained first) and waits.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.handle.await.unwrap().unwrap();
    }
}

/// The schema of `path`'s `200` JSON answer to `method` in an OpenAPI
/// document.
pub fn success_schema<'a>(doc: &'a Value, method: &str, path: &str) -> &'a Value {
    &doc["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]
}

/// Checks `value` against `schema` of the OpenAPI document `doc` (the
/// subset utoipa writes: `$ref`, `oneOf`, `type` (one or several), `enum`,
/// `required`, `properties`, `items`). `Err` says where it does not conform.
pub fn conforms(doc: &Value, schema: &Value, value: &Value) -> Result<(), String> {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.rsplit('/').next().unwrap_or_default();
        return conforms(doc, &doc["components"]["schemas"][name], value);
    }
    if let Some(alternatives) = schema["oneOf"].as_array() {
        let matching = alternatives
            .iter()
            .filter(|s| conforms(doc, s, value).is_ok())
            .count();
        return if matching == 1 {
            Ok(())
        } else {
            Err(format!("{value} matches {matching} of {schema}"))
        };
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => return Ok(()),
    };
    let actual = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_u64() || n.is_i64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    if !types
        .iter()
        .any(|t| *t == actual || (*t == "number" && actual == "integer"))
    {
        return Err(format!("{value} is {actual}, not {types:?}"));
    }
    if let Some(allowed) = schema["enum"].as_array() {
        if !allowed.contains(value) {
            return Err(format!("{value} is not one of {allowed:?}"));
        }
    }
    match value {
        Value::Object(members) => {
            for name in schema["required"].as_array().into_iter().flatten() {
                let name = name.as_str().unwrap_or_default();
                if !members.contains_key(name) {
                    return Err(format!("{value} lacks {name}"));
                }
            }
            for (name, s) in schema["properties"].as_object().into_iter().flatten() {
                if let Some(member) = members.get(name) {
                    conforms(doc, s, member).map_err(|e| format!("{name}: {e}"))?;
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                conforms(doc, &schema["items"], item)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Edits the payload of the first transaction of the database's head block
/// (its stored JSON), as an attacker with the file would.
pub fn tamper_head_block(conn: &rusqlite::Connection) {
    let (height, json): (i64, String) = conn
        .query_row(
            "SELECT height, block FROM blocks ORDER BY height DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let mut head: Value = serde_json::from_str(&json).unwrap();
    head["txs"][0]["body"]["payload"]["tampered"] = json!(true);
    conn.execute(
        "UPDATE blocks SET block = ?1 WHERE height = ?2",
        rusqlite::params![head.to_string(), height],
    )
    .unwrap();
}

/// `verify-chain`'s full replay of the database at `db` finds a block that
/// does not verify (`node.corrupt`).
pub fn assert_chain_corrupt(db: &std::path::Path) {
    let err = govchain_node::verify_chain(db, false).unwrap_err();
    assert_eq!(
        govchain_ledger::ErrorCode::code(&err),
        "node.corrupt",
        "{err}"
    );
}
