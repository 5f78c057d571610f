//! What an import produces is accepted by the ledger's own rules: each
//! fixture's template, published with `workflow.define` by a department
//! admin on a test chain, commits.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{fixture, groups};
use govchain_bpmn::{export, import, GroupMap};
use govchain_ledger::crypto::SecretKey;
use govchain_ledger::state::kinds::DefineWorkflow;
use govchain_ledger::state::State;
use govchain_ledger::tx::{Envelope, TxBody};
use govchain_ledger::types::{ChainId, Hash32, Timestamp};
use serde_json::{json, Value};
use zeroize::Zeroizing;

const T0: i64 = 1_795_000_000_000;

fn key(name: &str) -> SecretKey {
    SecretKey::from_seed(&Zeroizing::new(Hash32::sha256(name.as_bytes()).0))
}

fn sign(chain: &ChainId, who: &str, seq: u64, kind: &str, payload: Value) -> Envelope {
    let k = key(who);
    Envelope::sign(
        &k,
        TxBody {
            chain_id: chain.clone(),
            signer: k.key_id(),
            seq,
            kind: kind.into(),
            payload,
            created_at: Timestamp::from_unix_millis(T0).unwrap(),
        },
    )
    .unwrap()
}

/// A chain whose departments are those the fixtures' groups map to.
fn chain() -> (ChainId, State) {
    let chain: ChainId = "gov-bpmn".parse().unwrap();
    let depts = [
        "city-management",
        "fire",
        "construction",
        "developer",
        "finance",
    ];
    let departments: Vec<Value> = depts
        .iter()
        .map(|d| {
            json!({"id": d, "name": d, "node_key": key(&format!("node-{d}")).public_key(),
                   "admins": [{"name": format!("{d}-admin"), "public_key": key(&format!("{d}-admin")).public_key()}],
                   "admin_threshold": 1})
        })
        .collect();
    let genesis = sign(
        &chain,
        "city-management-admin",
        1,
        "consortium.genesis",
        json!({"origin": "govchain.example/gov-bpmn", "consortium_threshold": 1, "departments": departments}),
    );
    let mut s = State::new();
    s.apply_tx(&genesis, 0, Timestamp::from_unix_millis(T0).unwrap())
        .unwrap();
    (chain, s)
}

fn define(chain: &ChainId, s: &mut State, seq: u64, t: &DefineWorkflow) {
    let env = sign(
        chain,
        "construction-admin",
        seq,
        "workflow.define",
        serde_json::to_value(t).unwrap(),
    );
    s.apply_tx(&env, seq, Timestamp::from_unix_millis(T0).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e:?}", t.id));
}

#[test]
fn imported_templates_pass_the_ledgers_rules() {
    let (chain, mut s) = chain();
    let mut seq = 0;
    for f in [
        "flowable-renovation.bpmn20.xml",
        "camunda-joint-acceptance.bpmn",
        "activiti-expert-review.bpmn",
        "standard-committee.bpmn",
    ] {
        let t = import(&fixture(f), &groups())
            .unwrap()
            .into_workflow(None, Some(1))
            .unwrap();
        seq += 1;
        define(&chain, &mut s, seq, &t);
        // Its export, re-imported as the next version, passes too.
        let mut again = import(&export(&t), &GroupMap::default())
            .unwrap()
            .into_workflow(None, None)
            .unwrap();
        again.version = 2;
        seq += 1;
        define(&chain, &mut s, seq, &again);
    }
    assert_eq!(s.templates.len(), 8);
}
