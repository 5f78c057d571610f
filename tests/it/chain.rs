//! End to end over the protocol core: officials sign transactions, a node
//! seals blocks, a client verifies the hash chain, a checkpoint is signed by
//! the log and cosigned by two witnesses, and a transaction's inclusion is
//! proved against that checkpoint — then every tamper is caught.

use govchain_ledger::block::{Block, BlockDraft, ChainCursor};
use govchain_ledger::crypto::{PublicKey, SecretKey};
use govchain_ledger::merkle::{self, Frontier, MerkleTree};
use govchain_ledger::note::{self, Checkpoint, NoteKey, ALG_COSIGNATURE_V1, ALG_ED25519};
use govchain_ledger::tx::{self, Envelope, TxBody};
use govchain_ledger::types::{ChainId, Hash32, Timestamp};
use serde_json::json;
use zeroize::Zeroizing;

fn key(n: u8) -> SecretKey {
    SecretKey::from_seed(&Zeroizing::new([n; 32]))
}

fn time(sec: i64) -> Timestamp {
    Timestamp::from_unix_millis(1_795_000_000_000 + sec * 1000).unwrap()
}

struct Demo {
    chain: ChainId,
    node: SecretKey,
    blocks: Vec<Block>,
    log: MerkleTree,
}

fn build_chain() -> Demo {
    let chain: ChainId = "renovation-demo".parse().unwrap();
    let node = key(1);
    let officials = [key(10), key(11), key(12)];
    let mut frontier = Frontier::default();
    let mut log = MerkleTree::new();
    let mut blocks: Vec<Block> = Vec::new();
    let mut prev = Hash32::ZERO;
    for height in 0..4u64 {
        let txs: Vec<Envelope> = officials
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let body = TxBody {
                    chain_id: chain.clone(),
                    signer: k.key_id(),
                    seq: height + 1,
                    kind: "case.sign_step".into(),
                    payload: json!({"case": format!("case-{i}"), "decision": "approve", "amount_fen": 1_000 * height}),
                    created_at: time(i64::try_from(height).unwrap()),
                };
                Envelope::sign(k, body).unwrap()
            })
            .collect();
        for t in &txs {
            log.push_leaf(&t.leaf_bytes().unwrap());
        }
        let draft = BlockDraft {
            chain_id: chain.clone(),
            height,
            prev_hash: prev,
            time: time(i64::try_from(height).unwrap() * 10),
            txs,
            state_root: Hash32::sha256(&height.to_be_bytes()),
        };
        let block = Block::seal(&node, draft, &mut frontier).unwrap();
        prev = block.header.hash().unwrap();
        blocks.push(block);
    }
    Demo {
        chain,
        node,
        blocks,
        log,
    }
}

fn verify_all(
    demo: &Demo,
    blocks: &[Block],
) -> Result<ChainCursor, govchain_ledger::block::BlockError> {
    let node_pk = demo.node.public_key();
    let mut cursor = ChainCursor::genesis(demo.chain.clone());
    for b in blocks {
        cursor.verify_next(b, |id| (*id == node_pk.key_id()).then_some(node_pk))?;
    }
    Ok(cursor)
}

#[test]
fn chain_verifies_and_tx_signatures_batch_verify() {
    let demo = build_chain();
    let cursor = verify_all(&demo, &demo.blocks).unwrap();
    assert_eq!(cursor.log.size, 12);
    assert_eq!(cursor.log.root(), demo.log.root());
    let officials = [key(10), key(11), key(12)];
    for b in &demo.blocks {
        let keys: Vec<PublicKey> = officials.iter().map(SecretKey::public_key).collect();
        tx::verify_envelopes(&b.txs, &keys).unwrap();
    }
}

#[test]
fn any_tamper_breaks_the_chain() {
    let demo = build_chain();
    let mut bad = demo.blocks.clone();
    bad[2].txs[1].body.payload["decision"] = json!("reject");
    assert_eq!(
        verify_all(&demo, &bad).unwrap_err().to_string(),
        "block 2: tx_root does not match the transactions"
    );

    let mut bad = demo.blocks.clone();
    bad[1].header.state_root = Hash32::ZERO;
    assert!(matches!(
        verify_all(&demo, &bad).unwrap_err(),
        govchain_ledger::block::BlockError::Signature { height: 1, .. }
    ));

    let mut bad = demo.blocks.clone();
    bad.swap(1, 2);
    assert!(verify_all(&demo, &bad).is_err());

    let mut bad = demo.blocks.clone();
    bad[3].txs.pop();
    assert!(verify_all(&demo, &bad).is_err());

    // A block signed by a key that is not a known node.
    let mut bad = demo.blocks.clone();
    let mut f = Frontier::default();
    for b in &bad[..3] {
        for leaf in govchain_ledger::block::tx_leaf_hashes(&b.txs).unwrap() {
            f.push_hash(leaf);
        }
    }
    let draft = BlockDraft {
        chain_id: demo.chain.clone(),
        height: 3,
        prev_hash: bad[2].header.hash().unwrap(),
        time: bad[3].header.time,
        txs: bad[3].txs.clone(),
        state_root: bad[3].header.state_root,
    };
    bad[3] = Block::seal(&key(66), draft, &mut f).unwrap();
    assert_eq!(
        verify_all(&demo, &bad).unwrap_err().to_string(),
        format!(
            "block 3: proposer {} is not a known node key",
            key(66).key_id()
        )
    );
}

#[test]
fn inclusion_proof_against_a_cosigned_checkpoint() {
    let demo = build_chain();
    let cursor = verify_all(&demo, &demo.blocks).unwrap();
    let origin = "govchain.example/renovation-demo";
    let log_name = "node.city-management.example";
    let checkpoint = Checkpoint {
        origin: origin.into(),
        size: cursor.log.size,
        root: cursor.log.root(),
        extensions: vec![],
    };
    let mut signed = checkpoint.sign(log_name, &demo.node).unwrap();
    let witnesses: Vec<(String, SecretKey)> = vec![
        ("witness.fire.example".into(), key(2)),
        ("witness.construction.example".into(), key(3)),
    ];
    for (name, k) in &witnesses {
        signed
            .signatures
            .push(note::cosign_note(&signed.text, name, k, 1_795_000_100).unwrap());
    }
    let text = signed.to_string();

    let log_key = NoteKey::new(log_name, ALG_ED25519, demo.node.public_key()).unwrap();
    let witness_keys: Vec<NoteKey> = witnesses
        .iter()
        .map(|(n, k)| NoteKey::new(n, ALG_COSIGNATURE_V1, k.public_key()).unwrap())
        .collect();
    let verified = note::verify_checkpoint(&text, origin, &log_key, &witness_keys, 2).unwrap();
    assert_eq!(verified.cosigners.len(), 2);

    // Transaction 7 (block 2, second tx) is in the checkpointed log.
    let tx = &demo.blocks[2].txs[1];
    let leaf = merkle::leaf_hash(&tx.leaf_bytes().unwrap());
    let proof = demo
        .log
        .inclusion_proof(7, verified.checkpoint.size)
        .unwrap();
    merkle::verify_inclusion(
        7,
        proof.tree_size,
        &leaf.0,
        &proof.path,
        &verified.checkpoint.root.0,
    )
    .unwrap();
    // The same proof fails for any other transaction.
    let other = merkle::leaf_hash(&demo.blocks[2].txs[0].leaf_bytes().unwrap());
    assert!(merkle::verify_inclusion(
        7,
        proof.tree_size,
        &other.0,
        &proof.path,
        &verified.checkpoint.root.0
    )
    .is_err());

    // A split view: same size, different root, validly signed by the log — a
    // client holding both notes has proof of misbehaviour; witnesses that never
    // cosigned the second one leave it short of quorum.
    let forked = Checkpoint {
        root: Hash32::sha256(b"other history"),
        ..checkpoint
    };
    let forked_note = forked.sign(log_name, &demo.node).unwrap().to_string();
    assert_eq!(
        note::verify_checkpoint(&forked_note, origin, &log_key, &witness_keys, 1)
            .unwrap_err()
            .to_string(),
        "0 of 1 required witness cosignatures"
    );
}

#[test]
fn blocks_parse_from_the_wire_and_name_bad_transactions() {
    use govchain_ledger::ErrorCode;
    let demo = build_chain();
    let b = &demo.blocks[1];
    let bytes = serde_json::to_vec(b).unwrap();
    assert_eq!(Block::from_json(&bytes).unwrap(), *b);

    let mut v = serde_json::to_value(b).unwrap();
    v["txs"][2]["body"]["kind"] = json!("Bad Kind");
    let err = Block::from_json(&serde_json::to_vec(&v).unwrap()).unwrap_err();
    assert_eq!(err.code(), "block.tx");
    assert!(
        err.to_string().starts_with("block 1: transaction 2:"),
        "{err}"
    );

    for (field, value) in [("height", json!(1.0)), ("extra", json!(true))] {
        let mut v = serde_json::to_value(b).unwrap();
        v["header"][field] = value;
        let err = Block::from_json(&serde_json::to_vec(&v).unwrap()).unwrap_err();
        assert_eq!(err.code(), "block.shape", "{field}");
    }
    let mut v = serde_json::to_value(b).unwrap();
    v.as_object_mut().unwrap().remove("txs");
    assert_eq!(
        Block::from_json(&serde_json::to_vec(&v).unwrap())
            .unwrap_err()
            .code(),
        "block.shape"
    );
}

#[test]
fn a_block_cannot_carry_another_chains_transaction() {
    use govchain_ledger::ErrorCode;
    let demo = build_chain();
    let other: ChainId = "other-chain".parse().unwrap();
    let k = key(10);
    let foreign = Envelope::sign(
        &k,
        TxBody {
            chain_id: other,
            signer: k.key_id(),
            seq: 99,
            kind: "case.sign_step".into(),
            payload: json!({}),
            created_at: time(0),
        },
    )
    .unwrap();
    let mut f = Frontier::default();
    let block = Block::seal(
        &demo.node,
        BlockDraft {
            chain_id: demo.chain.clone(),
            height: 0,
            prev_hash: Hash32::ZERO,
            time: time(0),
            txs: vec![foreign],
            state_root: Hash32::ZERO,
        },
        &mut f,
    )
    .unwrap();
    let err = verify_all(&demo, &[block]).unwrap_err();
    assert_eq!(err.code(), "block.tx");
}
