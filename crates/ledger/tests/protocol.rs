//! PROTOCOL.md's worked examples and Ed25519 edge-case vectors are generated
//! here and compared with the document, so the spec cannot drift from the
//! code. Regenerate after an intended change with
//! `GOVCHAIN_BLESS=1 cargo test -p govchain-ledger --test protocol`.
//!
//! Also: domain separation (a signature for one purpose or chain fails for
//! every other) and the one-signature-rule checks (single and batch agree).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::path::Path;

use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use govchain_ledger::block::{Block, BlockDraft};
use govchain_ledger::crypto::{self, BatchItem, CryptoError, PublicKey, SecretKey, Signature};
use govchain_ledger::domain::{self, Domain};
use govchain_ledger::identity::{self, DocumentType, IdentityKey};
use govchain_ledger::merkle::{self, Frontier, MerkleTree};
use govchain_ledger::note::{self, Checkpoint, NoteKey, ALG_COSIGNATURE_V1, ALG_ED25519};
use govchain_ledger::state::funds;
use govchain_ledger::state::kinds::PayrollLine;
use govchain_ledger::tx::{Envelope, TxBody};
use govchain_ledger::types::{ChainId, Fen, Hash32, Timestamp};
use serde_json::json;
use sha2::{Digest, Sha256, Sha512};
use zeroize::Zeroizing;

const START: &str = "<!-- BEGIN GENERATED EXAMPLES (crates/ledger/tests/protocol.rs) -->";
const END: &str = "<!-- END GENERATED EXAMPLES -->";

fn key_from_label(label: &str) -> SecretKey {
    SecretKey::from_seed(&Zeroizing::new(Sha256::digest(label.as_bytes()).into()))
}

fn chain() -> ChainId {
    "gov-demo".parse().unwrap()
}

fn block(out: &mut String, name: &str, lines: &[(&str, String)]) {
    writeln!(out, "<!-- example:{name} -->\n```text").unwrap();
    for (k, v) in lines {
        writeln!(out, "{k:<14} {v}").unwrap();
    }
    out.push_str("```\n\n");
}

/// RFC 8032 secret scalar `a` of a seed.
fn secret_scalar(seed: &[u8; 32]) -> Scalar {
    let h = Sha512::digest(seed);
    let mut a = [0u8; 32];
    a.copy_from_slice(&h[..32]);
    a[0] &= 0xf8;
    a[31] &= 0x7f;
    a[31] |= 0x40;
    Scalar::from_bytes_mod_order(a)
}

fn challenge(r: &[u8; 32], a: &[u8; 32], msg: &[u8]) -> Scalar {
    let mut h = Sha512::new();
    h.update(r);
    h.update(a);
    h.update(msg);
    Scalar::from_bytes_mod_order_wide(&h.finalize().into())
}

/// Signs with an arbitrary nonce point offset and public point (to build
/// torsion edge cases): R = rB + r_torsion, A = aB + a_torsion.
fn craft(
    seed: &[u8; 32],
    msg: &[u8],
    r_torsion: EdwardsPoint,
    a_torsion: EdwardsPoint,
) -> ([u8; 32], [u8; 64]) {
    let a = secret_scalar(seed);
    let a_point = EdwardsPoint::mul_base(&a) + a_torsion;
    let r = Scalar::from_bytes_mod_order_wide(
        &Sha512::digest([b"nonce".as_slice(), msg].concat()).into(),
    );
    let r_point = EdwardsPoint::mul_base(&r) + r_torsion;
    let a_bytes = a_point.compress().to_bytes();
    let r_bytes = r_point.compress().to_bytes();
    let s = r + challenge(&r_bytes, &a_bytes, msg) * a;
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&r_bytes);
    sig[32..].copy_from_slice(&s.to_bytes());
    (a_bytes, sig)
}

/// Adds the group order L to the S half of a signature (non-canonical S).
fn add_l_to_s(sig: &mut [u8; 64]) {
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut carry = 0u16;
    for i in 0..32 {
        let v = u16::from(sig[32 + i]) + u16::from(L[i]) + carry;
        sig[32 + i] = (v & 0xff) as u8;
        carry = v >> 8;
    }
}

struct Edge {
    name: &'static str,
    key: [u8; 32],
    msg: Vec<u8>,
    sig: [u8; 64],
    /// Verdict of the protocol rule (ZIP-215), single and batch alike.
    valid: bool,
    /// Whether the key may be registered.
    registrable: bool,
    /// Verdict of ed25519-dalek's `verify_strict`, for contrast.
    dalek_strict: bool,
}

fn edge_vectors() -> Vec<Edge> {
    let seed: [u8; 32] = Sha256::digest(b"govchain edge vectors").into();
    let msg = b"govchain/v1/tx/gov-demo\x00{}".to_vec();
    let identity = EdwardsPoint::default();
    let t8 = EIGHT_TORSION[1];
    let mut out = Vec::new();

    let (key, sig) = craft(&seed, &msg, identity, identity);
    out.push(Edge {
        name: "honest",
        key,
        msg: msg.clone(),
        sig,
        valid: true,
        registrable: true,
        dalek_strict: true,
    });

    let (key, mut sig) = craft(&seed, &msg, identity, identity);
    add_l_to_s(&mut sig);
    out.push(Edge {
        name: "non-canonical-s",
        key,
        msg: msg.clone(),
        sig,
        valid: false,
        registrable: true,
        dalek_strict: false,
    });

    let (key, sig) = craft(&seed, &msg, t8, identity);
    out.push(Edge {
        name: "mixed-order-r",
        key,
        msg: msg.clone(),
        sig,
        valid: true,
        registrable: true,
        dalek_strict: false,
    });

    let (key, sig) = craft(&seed, &msg, identity, t8);
    out.push(Edge {
        name: "mixed-order-a",
        key,
        msg: msg.clone(),
        sig,
        valid: true,
        registrable: false,
        dalek_strict: false,
    });

    // A = identity (small order), R = identity, S = 0: valid for any message
    // under a cofactored rule, which is why such keys can never be registered.
    let mut key = [0u8; 32];
    key[0] = 1;
    let mut sig = [0u8; 64];
    sig[0] = 1;
    out.push(Edge {
        name: "small-order-a",
        key,
        msg: msg.clone(),
        sig,
        valid: true,
        registrable: false,
        dalek_strict: false,
    });

    // x = 0 with the sign bit set: another non-canonical identity encoding.
    let mut key = [0u8; 32];
    key[0] = 1;
    key[31] = 0x80;
    out.push(Edge {
        name: "non-canonical-a-sign-bit",
        key,
        msg: msg.clone(),
        sig,
        valid: true,
        registrable: false,
        dalek_strict: false,
    });

    // y = p + 1 ≥ p: a non-canonical encoding of the identity point.
    let mut key = [0xffu8; 32];
    key[0] = 0xee;
    key[31] = 0x7f;
    out.push(Edge {
        name: "non-canonical-a",
        key,
        msg: msg.clone(),
        sig,
        valid: true,
        registrable: false,
        dalek_strict: false,
    });

    // R = 8-torsion point of order 8 alone with S = 0 and A small order.
    let mut key = [0u8; 32];
    key[0] = 1;
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&t8.compress().to_bytes());
    out.push(Edge {
        name: "small-order-r-and-a",
        key,
        msg,
        sig,
        valid: true,
        registrable: false,
        dalek_strict: false,
    });
    out
}

#[test]
fn edge_vectors_single_and_batch_agree() {
    for e in edge_vectors() {
        let pk = PublicKey::from_bytes(e.key);
        let sig = Signature::from_bytes(e.sig);
        let single = pk.verify(&e.msg, &sig).is_ok();
        let batch = crypto::verify_batch(&[BatchItem {
            key: &pk,
            msg: &e.msg,
            sig: &sig,
        }])
        .is_ok();
        assert_eq!(single, e.valid, "{} single", e.name);
        assert_eq!(batch, e.valid, "{} batch", e.name);
        // Inside a batch with honest signatures, too.
        let honest = key_from_label("batch filler");
        let hm = b"filler".to_vec();
        let hs = honest.sign_raw(&hm);
        let hpk = honest.public_key();
        let mixed = crypto::verify_batch(&[
            BatchItem {
                key: &hpk,
                msg: &hm,
                sig: &hs,
            },
            BatchItem {
                key: &pk,
                msg: &e.msg,
                sig: &sig,
            },
        ]);
        assert_eq!(mixed.is_ok(), e.valid, "{} in a batch", e.name);
        if !e.valid {
            assert_eq!(mixed, Err(CryptoError::BatchBadSignature { index: 1 }));
        }
        assert_eq!(
            PublicKey::parse_registrable(e.key).is_ok(),
            e.registrable,
            "{} registrable",
            e.name
        );
        let dalek = ed25519_dalek::VerifyingKey::from_bytes(&e.key).is_ok_and(|vk| {
            vk.verify_strict(&e.msg, &ed25519_dalek::Signature::from_bytes(&e.sig))
                .is_ok()
        });
        assert_eq!(dalek, e.dalek_strict, "{} dalek strict", e.name);
    }
}

#[test]
fn rfc8032_test_1() {
    let seed: [u8; 32] =
        hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
            .unwrap()
            .try_into()
            .unwrap();
    let k = SecretKey::from_seed(&Zeroizing::new(seed));
    assert_eq!(
        k.public_key().to_hex(),
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    );
    let sig = k.sign_raw(b"");
    assert_eq!(
        sig.to_hex(),
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    );
    k.public_key().verify(b"", &sig).unwrap();
}

#[test]
fn batch_names_the_bad_signature() {
    let keys: Vec<SecretKey> = (0..64)
        .map(|i| key_from_label(&format!("official {i}")))
        .collect();
    let msgs: Vec<Vec<u8>> = (0..64)
        .map(|i| format!("message {i}").into_bytes())
        .collect();
    let pks: Vec<PublicKey> = keys.iter().map(SecretKey::public_key).collect();
    let mut sigs: Vec<Signature> = keys.iter().zip(&msgs).map(|(k, m)| k.sign_raw(m)).collect();
    let items = |sigs: &[Signature]| -> Result<(), CryptoError> {
        let items: Vec<BatchItem<'_>> = (0..64)
            .map(|i| BatchItem {
                key: &pks[i],
                msg: &msgs[i],
                sig: &sigs[i],
            })
            .collect();
        crypto::verify_batch(&items)
    };
    items(&sigs).unwrap();
    sigs[37] = keys[37].sign_raw(b"something else");
    assert_eq!(
        items(&sigs),
        Err(CryptoError::BatchBadSignature { index: 37 })
    );
}

#[test]
fn a_signature_for_one_purpose_fails_for_every_other() {
    let k = key_from_label("domain separation");
    let pk = k.public_key();
    let body = json!({"case_id": "c-1", "decision": "approve"});
    let chains: [ChainId; 2] = ["gov-demo".parse().unwrap(), "gov-other".parse().unwrap()];
    for signed_domain in Domain::ALL {
        let (sig, _) = domain::sign(&k, signed_domain, &chains[0], &body).unwrap();
        for d in Domain::ALL {
            for c in &chains {
                let ok = domain::verify(&pk, d, c, &body, &sig).is_ok();
                assert_eq!(
                    ok,
                    d == signed_domain && *c == chains[0],
                    "{signed_domain:?} as {d:?} on {c}"
                );
            }
        }
        // Nor as a checkpoint note or a witness cosignature over the same bytes' text.
        let text = String::from_utf8_lossy(
            &domain::signed_message(signed_domain, &chains[0], &body).unwrap(),
        )
        .replace('\0', "");
        let log = NoteKey::new("log.example", ALG_ED25519, pk).unwrap();
        let fake = note::NoteSignature {
            name: log.name.clone(),
            key_id: log.key_id(),
            sig: sig.as_bytes().to_vec(),
        };
        assert!(note::verify_signature(&format!("{text}\n"), &log, &fake).is_err());
    }
    // And a note signature never verifies as a tagged message: note texts
    // contain no 0x00 byte, every tagged message does.
    let cp = Checkpoint {
        origin: "gov-demo".into(),
        size: 1,
        root: Hash32::ZERO,
        extensions: vec![],
    };
    let signed = cp.sign("log.example", &k).unwrap();
    let raw: [u8; 64] = signed.signatures[0].sig.clone().try_into().unwrap();
    for d in Domain::ALL {
        assert!(domain::verify(
            &pk,
            d,
            &chains[0],
            &json!(signed.text),
            &Signature::from_bytes(raw)
        )
        .is_err());
    }
    assert!(!signed.text.as_bytes().contains(&0));
}

/// Renders every worked example of PROTOCOL.md.
fn render_examples() -> String {
    let mut out = String::new();
    let official = key_from_label("govchain example official");
    let node = key_from_label("govchain example node");
    let witness = key_from_label("govchain example witness");
    let env = render_key_and_tx(&mut out, &official);
    let log = render_block_and_log(&mut out, &node, env);
    render_checkpoint(&mut out, &node, &witness, &log);
    render_signed_read(&mut out, &official);
    render_edges(&mut out);
    render_identity_and_payroll(&mut out);
    render_state(&mut out, &official, &node);
    out
}

/// §12.7: every entry of the state after a one-department genesis block,
/// the resulting `state_root`, and a proof of presence and of absence.
fn render_state(out: &mut String, admin: &SecretKey, node: &SecretKey) {
    use govchain_ledger::state::{EntryKey, SigCheck, State};
    let chain = chain();
    let time: Timestamp = "2026-11-24T08:00:00.000Z".parse().unwrap();
    let genesis = Envelope::sign(
        admin,
        TxBody {
            chain_id: chain.clone(),
            signer: admin.key_id(),
            seq: 1,
            kind: "consortium.genesis".into(),
            payload: json!({"origin": "govchain.example/gov-demo", "consortium_threshold": 1,
                "departments": [{"id": "city-management", "name": "城市管理局", "parent": null,
                    "node_key": node.public_key(), "admin_threshold": 1,
                    "admins": [{"name": "李明", "public_key": admin.public_key()}]}]}),
            created_at: time,
        },
    )
    .unwrap();
    let draft = BlockDraft {
        chain_id: chain,
        height: 0,
        prev_hash: Hash32::ZERO,
        time,
        txs: vec![genesis],
        state_root: Hash32::ZERO,
    };
    let b = Block::seal(node, draft, &mut Frontier::default()).unwrap();
    let state = State::new().apply_block(&b, SigCheck::Verify).unwrap();
    let mut keys: Vec<String> = state.entry_keys().iter().map(ToString::to_string).collect();
    keys.sort();
    let mut lines = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        let value = state.entry(&k.parse().unwrap()).unwrap().unwrap();
        lines.push((format!("key_{i}"), k.clone()));
        lines.push((format!("value_{i}"), String::from_utf8(value).unwrap()));
    }
    lines.push(("state_root".into(), state.state_root().to_hex()));
    let present: EntryKey = "department/city-management".parse().unwrap();
    let absent: EntryKey = "case/RN-2026-0042".parse().unwrap();
    for (name, k) in [("present", &present), ("absent", &absent)] {
        lines.push((format!("{name}_key"), k.to_string()));
        lines.push((
            format!("{name}_proof"),
            serde_json::to_string(&state.prove(k)).unwrap(),
        ));
    }
    let lines: Vec<(&str, String)> = lines.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    block(out, "state", &lines);
}

/// §12.9 and §12.5: an identity hash, and the root of a three-line payroll
/// whose workers are hashed under a payroll key.
fn render_identity_and_payroll(out: &mut String) {
    let key_bytes: [u8; 32] = Sha256::digest(b"govchain example identity key").into();
    let key = IdentityKey::from_bytes(key_bytes);
    let input = "\u{ff11}10105 19491231 002x";
    let id = identity::normalize(DocumentType::CnResidentId, input).unwrap();
    block(
        out,
        "identity-hash",
        &[
            ("type", DocumentType::CnResidentId.as_str().to_owned()),
            ("input", input.to_owned()),
            ("input_utf8", hex::encode(input.as_bytes())),
            ("normalised", id.as_str().to_owned()),
            ("message_hex", hex::encode(id.message().as_slice())),
            ("key", hex::encode(key_bytes)),
            ("key_id", key.key_id()),
            ("hash", key.hash(&id).to_hex()),
        ],
    );

    let pkey_bytes: [u8; 32] = Sha256::digest(b"govchain example payroll key").into();
    let pkey = IdentityKey::from_bytes(pkey_bytes);
    let workers = [
        "130629198001010018",
        "13062919850202002X",
        "130629199003030033",
    ];
    let lines: Vec<PayrollLine> = workers
        .iter()
        .zip([1_260_000u64, 1_180_000, 985_050])
        .map(|(w, a)| PayrollLine {
            worker: identity::identity_hash(&pkey, DocumentType::CnResidentId, w).unwrap(),
            amount: Fen::new(a).unwrap(),
        })
        .collect();
    let mut fields = vec![
        ("payroll_key", hex::encode(pkey_bytes)),
        ("payroll_key_id", pkey.key_id()),
    ];
    for (i, (w, l)) in workers.iter().zip(&lines).enumerate() {
        fields.push((["worker_0", "worker_1", "worker_2"][i], (*w).to_owned()));
        fields.push((
            ["line_0", "line_1", "line_2"][i],
            String::from_utf8(funds::payroll_line_jcs(l)).unwrap(),
        ));
        fields.push((
            ["leaf_hash_0", "leaf_hash_1", "leaf_hash_2"][i],
            funds::payroll_leaf_hash(l).to_hex(),
        ));
    }
    let total: u64 = lines.iter().map(|l| l.amount.get()).sum();
    fields.push(("payroll_total", total.to_string()));
    fields.push(("payroll_lines", lines.len().to_string()));
    fields.push(("payroll_root", funds::payroll_root(&lines).to_hex()));
    block(out, "payroll-root", &fields);
}

/// Example: a signed read (§13) of the blacklist, with its access record.
fn render_signed_read(out: &mut String, official: &SecretKey) {
    use base64::Engine as _;
    let subject = Hash32::sha256(b"example salt|id-4601");
    let record = Envelope::sign(
        official,
        TxBody {
            chain_id: chain(),
            signer: official.key_id(),
            seq: 8,
            kind: "access.record".into(),
            payload: json!({"entries": [{"dataset": "govchain/blacklist", "operation": "read",
                "purpose": "贷款前核查 / pre-loan check", "subject": subject, "at": "2026-11-24T08:31:00.000Z"}]}),
            created_at: "2026-11-24T08:31:00.000Z".parse().unwrap(),
        },
    )
    .unwrap();
    let header =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(record.leaf_bytes().unwrap());
    let req = govchain_ledger::read::ReadRequest {
        method: "GET".into(),
        authority: "node.city.example:7700".into(),
        path: format!("/v1/blacklist/{subject}"),
        query: "?".into(),
        access_record: header.clone(),
        created: 1_795_509_060,
        key_id: official.key_id(),
    };
    let (input, signature) = req.sign(official, &chain()).unwrap();
    block(
        out,
        "signed-read",
        &[
            ("method", req.method.clone()),
            ("authority", req.authority.clone()),
            ("path", req.path.clone()),
            ("query", req.query.clone()),
            ("record_header", header),
            ("sig_input", input),
            (
                "signed_hex",
                hex::encode(req.signed_message(&chain()).unwrap()),
            ),
            ("signature", signature),
        ],
    );
}

/// Examples 1–2; returns the signed transaction.
fn render_key_and_tx(out: &mut String, official: &SecretKey) -> Envelope {
    let chain = chain();

    // 1. Keys.
    let seed = official.to_seed();
    block(
        out,
        "official-key",
        &[
            ("seed", hex::encode(*seed)),
            ("public_key", official.public_key().to_hex()),
            ("key_id", official.key_id().to_hex()),
            ("fingerprint", official.key_id().fingerprint()),
        ],
    );

    // 2. A transaction.
    let body = TxBody {
        chain_id: chain.clone(),
        signer: official.key_id(),
        seq: 7,
        kind: "case.sign_step".into(),
        payload: json!({
            "case_id": "RN-2026-0042",
            "stage": 1,
            "decision": "approve",
            "comment": "消防审查通过 / fire review passed",
            "attachments": ["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"],
        }),
        created_at: "2026-11-24T08:30:00.000Z".parse().unwrap(),
    };
    let canonical = body.canonical_json().unwrap();
    let msg = body.signed_message().unwrap();
    let env = Envelope::sign(official, body).unwrap();
    env.verify(&official.public_key()).unwrap();
    let leaf = env.leaf_bytes().unwrap();
    block(
        out,
        "tx",
        &[
            ("domain_tag", Domain::Tx.tag(&chain)),
            ("body_jcs", String::from_utf8(canonical).unwrap()),
            ("signed_hex", hex::encode(&msg)),
            ("sig", env.sig.to_hex()),
            ("tx_id", env.id().unwrap().to_hex()),
            ("leaf_jcs", String::from_utf8(leaf.clone()).unwrap()),
            ("leaf_hash", merkle::leaf_hash(&leaf).to_hex()),
        ],
    );
    env
}

/// Example 3: a block holding the transaction, and a log of three leaves
/// starting with it; returns the log.
fn render_block_and_log(out: &mut String, node: &SecretKey, env: Envelope) -> MerkleTree {
    let chain = chain();
    let leaf = env.leaf_bytes().unwrap();
    let mut frontier = Frontier::default();
    let b = Block::seal(
        node,
        BlockDraft {
            chain_id: chain.clone(),
            height: 0,
            prev_hash: Hash32::ZERO,
            time: "2026-11-24T08:30:01.250Z".parse::<Timestamp>().unwrap(),
            txs: vec![env],
            state_root: Hash32::sha256(b"example state"),
        },
        &mut frontier,
    )
    .unwrap();
    block(
        out,
        "block",
        &[
            ("node_key", node.public_key().to_hex()),
            (
                "header_jcs",
                String::from_utf8(govchain_ledger::jcs::canonicalize_serialize(&b.header).unwrap())
                    .unwrap(),
            ),
            ("block_hash", b.header.hash().unwrap().to_hex()),
            ("sig", b.sig.to_hex()),
        ],
    );

    let mut tree = MerkleTree::new();
    tree.push_leaf(&leaf);
    let extra: Vec<String> = (1..=4).map(|i| format!("leaf {i}")).collect();
    for e in &extra {
        tree.push_leaf(e.as_bytes());
    }
    let incl = tree.inclusion_proof(3, 5).unwrap();
    let cons = tree.consistency_proof(3, 5).unwrap();
    let join = |p: &[Hash32]| p.iter().map(Hash32::to_hex).collect::<Vec<_>>().join(",");
    let mut fields: Vec<(&str, String)> = vec![
        ("leaf_1", hex::encode(&extra[0])),
        ("leaf_2", hex::encode(&extra[1])),
        ("leaf_3", hex::encode(&extra[2])),
        ("leaf_4", hex::encode(&extra[3])),
    ];
    for (name, size) in [("root_1", 1), ("root_3", 3), ("root_5", 5)] {
        fields.push((name, tree.root_at(size).unwrap().to_hex()));
    }
    fields.push(("incl_3_in_5", join(&incl.path)));
    fields.push(("cons_3_to_5", join(&cons.path)));
    block(out, "merkle", &fields);
    tree
}

/// Example 4: a checkpoint of that log, signed by the node, cosigned by a witness.
fn render_checkpoint(out: &mut String, node: &SecretKey, witness: &SecretKey, tree: &MerkleTree) {
    // 4. A checkpoint of that log, signed by the node and cosigned by a witness.
    let cp = Checkpoint {
        origin: "govchain.example/gov-demo".into(),
        size: 5,
        root: tree.root(),
        extensions: vec![
            note::StateLine {
                height: 4,
                state_root: Hash32::sha256(b"example state"),
            }
            .to_line(),
            "example extension line: covered by every signature".into(),
        ],
    };
    let mut signed = cp.sign("node.city.example", node).unwrap();
    signed.signatures.push(
        note::cosign_note(&signed.text, "witness.fire.example", witness, 1_795_509_000).unwrap(),
    );
    let log_key = NoteKey::new("node.city.example", ALG_ED25519, node.public_key()).unwrap();
    let w_key = NoteKey::new(
        "witness.fire.example",
        ALG_COSIGNATURE_V1,
        witness.public_key(),
    )
    .unwrap();
    note::verify_checkpoint(
        &signed.to_string(),
        &cp.origin,
        &log_key,
        std::slice::from_ref(&w_key),
        1,
    )
    .unwrap();
    block(
        out,
        "checkpoint-keys",
        &[("log_vkey", log_key.vkey()), ("witness_vkey", w_key.vkey())],
    );
    writeln!(
        out,
        "<!-- example:checkpoint-note -->\n```text\n{signed}```\n"
    )
    .unwrap();
}

/// Example 5: Ed25519 edge cases.
fn render_edges(out: &mut String) {
    out.push_str("<!-- example:ed25519-edges -->\n");
    out.push_str("| case | public key | signature | protocol (single = batch) | registrable key | dalek `verify_strict` |\n");
    out.push_str("| --- | --- | --- | --- | --- | --- |\n");
    let edges = edge_vectors();
    for e in &edges {
        let yn = |b: bool| if b { "accept" } else { "reject" };
        writeln!(
            out,
            "| {} | `{}` | `{}` | {} | {} | {} |",
            e.name,
            hex::encode(e.key),
            hex::encode(e.sig),
            yn(e.valid),
            if e.registrable { "yes" } else { "no" },
            yn(e.dalek_strict)
        )
        .unwrap();
    }
    writeln!(
        out,
        "\nAll edge-case signatures are over the message (hex) `{}`.\n",
        hex::encode(&edges[0].msg)
    )
    .unwrap();
}

#[test]
fn protocol_md_examples_match_the_code() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../PROTOCOL.md");
    let doc = std::fs::read_to_string(&path).expect("PROTOCOL.md at the repository root");
    let (Some(a), Some(b)) = (doc.find(START), doc.find(END)) else {
        panic!("PROTOCOL.md lacks the generated-examples markers");
    };
    let generated = render_examples();
    let current = &doc[a + START.len()..b];
    let want = format!("\n{generated}");
    if current != want {
        if std::env::var_os("GOVCHAIN_BLESS").is_some() {
            let updated = format!("{}{START}{want}{}", &doc[..a], &doc[b..]);
            std::fs::write(&path, updated).unwrap();
            return;
        }
        panic!(
            "PROTOCOL.md's examples differ from what the code produces; if the change is intended run\n  \
             GOVCHAIN_BLESS=1 cargo test -p govchain-ledger --test protocol"
        );
    }
}
