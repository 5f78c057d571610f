//! Every input kept for a fuzz target — `regressions/<target>/*` (inputs
//! that once broke a property; each stays here for good) and the seed
//! corpus `corpus/<target>/*` — replayed through the same checks on the
//! stable toolchain, plus seeds built here from real signed objects.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use govchain_ledger::block::{Block, BlockDraft};
use govchain_ledger::crypto::SecretKey;
use govchain_ledger::merkle::Frontier;
use govchain_ledger::tx::{Envelope, TxBody};
use govchain_ledger::types::{Hash32, Timestamp};
use serde_json::json;
use zeroize::Zeroizing;

type Target = fn(&[u8]);

const TARGETS: [(&str, Target); 7] = [
    ("envelope", govchain_fuzz::envelope),
    ("jcs", govchain_fuzz::jcs),
    ("checkpoint", govchain_fuzz::checkpoint),
    ("proof", govchain_fuzz::proof),
    ("block", govchain_fuzz::block),
    ("bpmn", govchain_fuzz::bpmn),
    ("state", |d| {
        govchain_fuzz::state(d);
    }),
];

#[test]
fn kept_inputs_replay() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for (name, check) in TARGETS {
        for dir in ["regressions", "corpus"] {
            let Ok(entries) = std::fs::read_dir(root.join(dir).join(name)) else {
                continue;
            };
            for e in entries {
                let path = e.unwrap().path();
                if path.extension().is_some_and(|x| x == "md") {
                    continue;
                }
                check(&std::fs::read(&path).unwrap());
                n += 1;
            }
        }
    }
    assert!(n > 0, "no kept inputs found");
}

fn key(name: &str) -> SecretKey {
    SecretKey::from_seed(&Zeroizing::new(Hash32::sha256(name.as_bytes()).0))
}

fn signed() -> Envelope {
    let k = key("seed");
    Envelope::sign(
        &k,
        TxBody {
            chain_id: "gov-fuzz".parse().unwrap(),
            signer: k.key_id(),
            seq: 1,
            kind: "access.record".into(),
            payload: json!({"entries": [{"dataset": "d", "operation": "read", "purpose": "p",
                                         "at": "2026-11-24T00:00:00.000Z"}]}),
            created_at: Timestamp::from_unix_millis(1_795_000_000_000).unwrap(),
        },
    )
    .unwrap()
}

#[test]
fn real_objects_pass_every_check() {
    let env = signed();
    let leaf = env.leaf_bytes().unwrap();
    govchain_fuzz::envelope(&leaf);
    govchain_fuzz::jcs(&leaf);
    let block = Block::seal(
        &key("node"),
        BlockDraft {
            chain_id: "gov-fuzz".parse().unwrap(),
            height: 1,
            prev_hash: Hash32::ZERO,
            time: Timestamp::from_unix_millis(1_795_000_000_000).unwrap(),
            txs: vec![env],
            state_root: Hash32::ZERO,
        },
        &mut Frontier::default(),
    )
    .unwrap();
    govchain_fuzz::block(&serde_json::to_vec(&block).unwrap());
    let cp = govchain_ledger::note::Checkpoint {
        origin: "govchain.example/fuzz".into(),
        size: 1,
        root: block.header.log_root,
        extensions: vec![],
    };
    let note = cp.sign("fuzz.log", &key("node")).unwrap().to_string();
    govchain_fuzz::checkpoint(note.as_bytes());
    let mut proof = vec![0u8; 17];
    proof[0] = 3;
    proof[8] = 8;
    proof.extend(std::iter::repeat_n(7u8, 32 * 4));
    govchain_fuzz::proof(&proof);
}

#[test]
fn the_state_target_reaches_the_rules() {
    // zhang opens HZ-1 in hz, then signs its first stage; li (fire) signs the
    // second: all accepted. Then a replay (seq mischief 0) is refused.
    let accepted = govchain_fuzz::state(&[1, 0, 0, 0, 2, 1, 1, 0, 0, 2, 2, 1, 0, 1, 2]);
    assert_eq!(accepted, 3);
    assert_eq!(govchain_fuzz::state(&[1, 0, 0, 0, 2, 1, 0, 0, 0, 0]), 1);
    // A contractor cannot open a project; the developer can, with a budget.
    assert_eq!(govchain_fuzz::state(&[6, 3, 0, 9, 2]), 0);
    assert_eq!(govchain_fuzz::state(&[5, 3, 0, 9, 2]), 1);
}
