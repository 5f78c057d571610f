//! The fuzz targets' checks, one function per target (`fuzz_targets/<name>.rs`
//! calls `govchain_fuzz::<name>`). They live here, not in the targets, so that
//! every input kept in `regressions/<name>/` and `corpus/<name>/` replays as
//! a plain test on the stable toolchain (`tests/regressions.rs`, part of
//! `make test`); `make fuzz` runs the targets themselves under libFuzzer.
//!
//! Each function must never panic on any input except to report a broken
//! property: a parser that accepts something it cannot encode again, a
//! canonical form that changes when re-canonicalized, a proof verifier that
//! panics, a rejected transaction that changed the state, a budget overspent.
#![forbid(unsafe_code)]
// Panicking on a broken property is the point of a fuzz check.
#![allow(clippy::missing_panics_doc, clippy::expect_used, clippy::unwrap_used)]

use std::sync::OnceLock;

use govchain_ledger::block::Block;
use govchain_ledger::crypto::{KeyId, SecretKey};
use govchain_ledger::jcs;
use govchain_ledger::merkle::{self, ConsistencyProof, InclusionProof};
use govchain_ledger::note::{Checkpoint, SignedNote};
use govchain_ledger::state::fixtures::renovation_template;
use govchain_ledger::state::State;
use govchain_ledger::tx::{Envelope, TxBody};
use govchain_ledger::types::{ChainId, Hash32, Timestamp};
use serde_json::{json, Value};
use zeroize::Zeroizing;

/// Transaction envelopes: whatever parses encodes again, canonically, to
/// something that parses to the same signed message, id and leaf.
pub fn envelope(data: &[u8]) {
    let Ok(env) = Envelope::from_json(data) else {
        return;
    };
    let id = env.id().expect("a parsed envelope has an id");
    let leaf = env.leaf_bytes().expect("a parsed envelope has a leaf");
    let again = Envelope::from_json(&leaf).expect("the leaf (JCS of the envelope) parses");
    // The same envelope up to number spelling (`259.000` and `259` are one
    // JSON number): the same signed message, id and leaf.
    assert_eq!(
        again.body.signed_message().expect("message"),
        env.body.signed_message().expect("message")
    );
    assert_eq!(again.sig, env.sig);
    assert_eq!(again.id().expect("id"), id);
    assert_eq!(again.leaf_bytes().expect("leaf"), leaf, "JCS is idempotent");
}

/// RFC 8785: strict parsing and canonicalization agree, and canonical forms
/// are fixed points.
pub fn jcs(data: &[u8]) {
    let Ok(value) = jcs::parse_strict(data) else {
        return;
    };
    let Ok(canonical) = jcs::canonicalize(&value) else {
        return;
    };
    let reparsed = jcs::parse_strict(&canonical).expect("a canonical form parses strictly");
    assert_eq!(
        jcs::canonicalize(&reparsed).expect("canonicalizes again"),
        canonical,
        "canonicalization is idempotent"
    );
}

/// C2SP signed notes and checkpoint bodies: what parses prints back to the
/// same note; signatures never panic to check.
pub fn checkpoint(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(note) = SignedNote::parse(text) {
        let printed = note.to_string();
        let again = SignedNote::parse(&printed).expect("a printed note parses");
        assert_eq!(again.to_string(), printed, "printing is stable");
        if let Ok(cp) = Checkpoint::parse_body(&note.text) {
            assert_eq!(
                Checkpoint::parse_body(&cp.to_body()).expect("a printed body parses"),
                cp
            );
        }
        let key = world_key("fuzz log");
        let nk = govchain_ledger::note::NoteKey::new(
            "fuzz.log",
            govchain_ledger::note::ALG_ED25519,
            key.public_key(),
        )
        .expect("a valid note key");
        let _ = govchain_ledger::note::verify_checkpoint(text, "fuzz", &nk, &[], 0);
    }
    let _ = Checkpoint::parse_body(text);
}

/// Merkle proofs: the JSON forms parse or fail cleanly, and the verifiers
/// never panic on any sizes, indexes or hashes (of any length).
pub fn proof(data: &[u8]) {
    let _ = InclusionProof::from_json(data);
    let _ = ConsistencyProof::from_json(data);
    if data.len() < 17 {
        return;
    }
    let (head, rest) = data.split_at(17);
    let mut a = [0u8; 8];
    let mut b = [0u8; 8];
    a.copy_from_slice(&head[..8]);
    b.copy_from_slice(&head[8..16]);
    // Small sizes most of the time, so that the algorithms run deep.
    let shrink = |x: u64| if head[16] & 1 == 0 { x % 4096 } else { x };
    let (x, y) = (shrink(u64::from_le_bytes(a)), shrink(u64::from_le_bytes(b)));
    // Hashes of 32 bytes, and now and then a short one.
    let width = if head[16] & 2 == 0 { 32 } else { 31 };
    let hashes: Vec<&[u8]> = rest.chunks(width).collect();
    if let Some((first, path)) = hashes.split_first() {
        let root = path.last().copied().unwrap_or(first);
        let _ = merkle::verify_inclusion(x, y, first, path, root);
        let _ = merkle::verify_consistency(x, y, path, first, root);
    }
}

/// Blocks: whatever parses encodes again and parses to the same block.
pub fn block(data: &[u8]) {
    let Ok(block) = Block::from_json(data) else {
        return;
    };
    let json = serde_json::to_vec(&block).expect("a parsed block encodes");
    assert_eq!(
        Block::from_json(&json).expect("an encoded block parses"),
        block
    );
}

// ----- the state machine -----

const T0: i64 = 1_795_000_000_000;
const HOUR: i64 = 3_600_000;

/// The names of the fuzzed world's keys: admins, officials with roles, the
/// project's parties, a stranger.
const PEOPLE: [&str; 10] = [
    "city-admin",
    "zhang", // city-management approver
    "li",    // fire inspector
    "wang",  // construction approver
    "zhao",  // developer project-manager
    "dev",
    "con",
    "sup",
    "op",
    "stranger",
];
const CASES: [&str; 3] = ["HZ-1", "HZ-2", "NB-1"];
const PROJECTS: [&str; 2] = ["XA-1", "XA-2"];
const PAYMENTS: [&str; 3] = ["P-1", "P-2", "P-3"];

fn world_key(name: &str) -> SecretKey {
    SecretKey::from_seed(&Zeroizing::new(Hash32::sha256(name.as_bytes()).0))
}

/// The fuzzed world after genesis, registrations, roles and the renovation
/// template: built once, cloned (cheaply: persistent maps) per input.
struct World {
    chain: ChainId,
    keys: Vec<SecretKey>,
    state: State,
    height: u64,
    time: i64,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let chain: ChainId = "gov-fuzz".parse().expect("chain id");
        let keys: Vec<SecretKey> = PEOPLE.iter().map(|p| world_key(p)).collect();
        let mut w = World {
            chain,
            keys,
            state: State::new(),
            height: 0,
            time: T0,
        };
        let depts = [
            "city-management",
            "fire",
            "construction",
            "developer",
            "contractor",
            "supervision",
            "bank",
        ];
        // Each department's admin; the city's is PEOPLE[0].
        let admin = |d: &str| {
            if d == "city-management" {
                world_key(PEOPLE[0])
            } else {
                world_key(&format!("{d}-admin"))
            }
        };
        let departments: Vec<Value> = depts
            .iter()
            .map(|d| {
                json!({"id": d, "name": d, "node_key": world_key(&format!("node-{d}")).public_key(),
                       "admins": [{"name": "admin", "public_key": admin(d).public_key()}], "admin_threshold": 1})
            })
            .collect();
        let mut seqs: std::collections::HashMap<KeyId, u64> = std::collections::HashMap::new();
        let mut setup = |w: &mut World, key: &SecretKey, kind: &str, payload: Value| {
            let seq = seqs.entry(key.key_id()).or_insert(0);
            *seq += 1;
            let env = w.sign_with(key, *seq, kind, payload);
            w.state
                .apply_tx(&env, w.height, w.now())
                .unwrap_or_else(|r| panic!("fuzz world set-up: {kind}: {r}"));
            w.height += 1;
            w.time += HOUR;
        };
        let city = admin("city-management");
        setup(
            &mut w,
            &city,
            "consortium.genesis",
            json!({"origin": "govchain.example/fuzz", "consortium_threshold": 1, "departments": departments}),
        );
        for (i, (dept, role)) in [
            ("city-management", Some("approver")),
            ("fire", Some("fire-inspector")),
            ("construction", Some("approver")),
            ("developer", Some("project-manager")),
            ("developer", None),
            ("contractor", None),
            ("supervision", None),
            ("bank", None),
        ]
        .into_iter()
        .enumerate()
        {
            let who = i + 1;
            let pk = w.keys[who].public_key();
            let a = admin(dept);
            setup(&mut w, &a, "official.register", json!({"department": dept, "name": PEOPLE[who], "public_key": pk}));
            if let Some(role) = role {
                let id = w.keys[who].key_id();
                setup(&mut w, &a, "role.grant", json!({"official": id, "department": dept, "role": role, "scope": "hz"}));
            }
        }
        let template = serde_json::to_value(renovation_template()).expect("template");
        setup(&mut w, &city, "workflow.define", template);
        w
    })
}

impl World {
    fn now(&self) -> Timestamp {
        Timestamp::from_unix_millis(self.time).expect("time in range")
    }

    fn id(&self, who: usize) -> KeyId {
        self.keys[who].key_id()
    }

    fn sign(&self, who: usize, seq: u64, kind: &str, payload: Value) -> Envelope {
        self.sign_with(&self.keys[who], seq, kind, payload)
    }

    fn sign_with(&self, key: &SecretKey, seq: u64, kind: &str, payload: Value) -> Envelope {
        Envelope::sign(
            key,
            TxBody {
                chain_id: self.chain.clone(),
                signer: key.key_id(),
                seq,
                kind: kind.into(),
                payload,
                created_at: self.now(),
            },
        )
        .expect("sign")
    }

    /// One transaction chosen by four input bytes.
    fn action(&self, [a, b, c, d]: [u8; 4]) -> (usize, &'static str, Value) {
        let who = usize::from(a) % PEOPLE.len();
        let case = CASES[usize::from(c) % CASES.len()];
        let project = PROJECTS[usize::from(c) % PROJECTS.len()];
        let payment = PAYMENTS[usize::from(d) % PAYMENTS.len()];
        let amount = u64::from(d) * 1_000 + u64::from(c);
        let verdict = if d & 0x40 == 0 { "accept" } else { "refuse" };
        match b % 10 {
            0 => (
                who,
                "case.open",
                json!({"case_id": case, "template": "old-city-renovation", "version": 1,
                  "scope": if c & 0x80 == 0 { "hz" } else { "nb" }, "title": "t", "documents": []}),
            ),
            1 => (
                who,
                "case.sign_step",
                json!({"case_id": case, "stage": usize::from(d % 5),
                  "decision": if d & 0x20 == 0 { "approve" } else { "reject" },
                  "comment": if d & 0x10 == 0 { "ok" } else { "" }, "attachments": []}),
            ),
            2 => (
                who,
                "case.withdraw",
                json!({"case_id": case, "reason": "r"}),
            ),
            3 => (
                who,
                "project.create",
                json!({"project_id": project, "name": "p", "budget": amount * 10,
                  "parties": {"developer": self.id(5), "contractor": self.id(6), "supervisor": self.id(7), "operator": self.id(8)},
                  "approvers": if d & 1 == 0 { json!(["developer"]) } else { json!(["developer", "operator"]) }}),
            ),
            4 => (
                who,
                "payment.request",
                json!({"project_id": project, "payment_id": payment, "amount": amount,
                  "purpose": "p", "milestone": "m", "invoices": [],
                  "payroll": [{"worker": Hash32::sha256(&[c]), "amount": amount / 2 + u64::from(a & 3) * amount}]}),
            ),
            5 => (
                who,
                "payment.confirm",
                json!({"project_id": project, "payment_id": payment, "verdict": verdict, "comment": "c"}),
            ),
            6 => (
                who,
                "payment.approve",
                json!({"project_id": project, "payment_id": payment, "verdict": verdict, "comment": "c"}),
            ),
            7 => (
                who,
                "payment.execute",
                json!({"project_id": project, "payment_id": payment, "transfer_ref": "T"}),
            ),
            8 => (
                who,
                "role.revoke",
                json!({"official": self.id(usize::from(c) % PEOPLE.len()), "department": "fire",
                  "role": "fire-inspector", "scope": "hz"}),
            ),
            _ => (
                who,
                "access.record",
                json!({"entries": [{"dataset": "d", "operation": "read", "purpose": "p",
                  "at": self.now()}]}),
            ),
        }
    }
}

/// The ledger's rules fed a sequence of signed transactions chosen by the
/// input (four bytes each, plus one byte of sequence number and clock
/// mischief): a rejected transaction leaves the state exactly as it was, an
/// accepted one had a sequence number above the last committed one and is
/// now the last, and every
/// project's budget holds (paid + pending ≤ budget, payroll ≤ amount).
/// Returns how many transactions were accepted.
pub fn state(data: &[u8]) -> usize {
    let base = world();
    let mut w = World {
        chain: base.chain.clone(),
        keys: base
            .keys
            .iter()
            .map(|k| SecretKey::from_seed(&k.to_seed()))
            .collect(),
        state: base.state.clone(),
        height: base.height,
        time: base.time,
    };
    let mut accepted = 0;
    for chunk in data.chunks_exact(5).take(64) {
        let (who, kind, payload) = w.action([chunk[0], chunk[1], chunk[2], chunk[3]]);
        let mischief = chunk[4];
        let principal = w
            .state
            .key_index
            .get(&w.id(who))
            .copied()
            .unwrap_or(w.id(who));
        let committed = w.state.seqs.get(&principal).copied().unwrap_or(0);
        let seq = match mischief % 8 {
            0 => committed,     // replay
            1 => committed + 2, // a gap (allowed)
            _ => committed + 1,
        };
        w.time += if mischief >= 0xF0 {
            31 * 24 * HOUR // past every deadline
        } else {
            HOUR * i64::from(mischief % 5)
        };
        let env = w.sign(who, seq, kind, payload);
        let before = w.state.digest().expect("digest");
        match w.state.apply_tx(&env, w.height, w.now()) {
            Ok(()) => {
                // PROTOCOL.md §12.2: seq must exceed the last committed one.
                assert!(
                    seq > committed,
                    "{kind}: accepted seq {seq} after {committed}"
                );
                assert_eq!(w.state.seqs.get(&principal).copied().unwrap_or(0), seq);
                w.height += 1;
                accepted += 1;
            }
            Err(_) => assert_eq!(
                w.state.digest().expect("digest"),
                before,
                "{kind}: a rejected transaction changed the state"
            ),
        }
        for p in w.state.projects.values() {
            let spent = p
                .paid
                .get()
                .checked_add(p.pending.get())
                .expect("no overflow");
            assert!(spent <= p.budget.get(), "project {} overspent", p.id);
            for pay in p.payments.values() {
                assert!(
                    pay.payroll_total().get() <= pay.amount.get(),
                    "payroll above amount"
                );
            }
        }
    }
    accepted
}

/// BPMN 2.0 import never panics, and whatever it imports exports to BPMN
/// that imports to the same template (with no group map: the export names
/// groups `department:role`).
pub fn bpmn(data: &[u8]) {
    let Ok(xml) = std::str::from_utf8(data) else {
        return;
    };
    let mut groups = govchain_bpmn::GroupMap::default();
    groups.0.insert(
        "fire-inspectors".into(),
        govchain_bpmn::Assignment::from_group_name("fire:fire-inspector").expect("a valid name"),
    );
    let Ok(imported) = govchain_bpmn::import(xml, &groups) else {
        return;
    };
    let id = "fuzz".to_owned().try_into().expect("a valid id");
    let t = imported
        .into_workflow(Some(id), None)
        .expect("an id was given");
    let exported = govchain_bpmn::export(&t);
    let again = govchain_bpmn::import(&exported, &govchain_bpmn::GroupMap::default())
        .unwrap_or_else(|e| panic!("the export of an import is refused: {e}\n{exported}"))
        .into_workflow(None, None)
        .expect("the export names its template");
    assert_eq!(again, t, "{exported}");
}
