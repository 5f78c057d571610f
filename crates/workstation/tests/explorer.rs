//! The auditor's explorer on the embedded demo chain: blocks newest first,
//! decoded transactions whose signatures verify again, and an inclusion proof
//! checked step by step against the verified checkpoint — and refused when the
//! node's proof is altered. Needs no keychain.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

use std::sync::Arc;

use govchain_workstation::demo::DemoNode;
use govchain_workstation::Workstation;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_transactions_and_inclusion_proofs() {
    let base = std::env::temp_dir().join(format!("govchain-explorer-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let node = DemoNode::start(&base.join("node")).await.unwrap();
    let ws = Workstation::open(&base.join("ws"), "govchain-test-unused", Arc::new(|_| {})).unwrap();
    ws.set_nodes(vec![node.url().to_owned()]).await.unwrap();
    let status = ws.sync().await.unwrap();
    let top = status.height.unwrap();

    let blocks = ws.explorer_blocks(None, 50).unwrap();
    assert_eq!(blocks.len() as u64, top + 1);
    assert_eq!(blocks[0].height, top);
    assert!(blocks.windows(2).all(|w| w[0].height > w[1].height));
    assert!(blocks.iter().all(|b| b.checkpointed));
    assert_eq!(blocks[0].proposer, "杭州市城市管理局");
    assert_eq!(ws.explorer_blocks(Some(2), 50).unwrap().len(), 2);

    // Block 1 registers the demo officials.
    let b1 = ws.block_detail(1).unwrap();
    assert!(b1.txs.iter().all(|t| t.kind == "official.register"));
    let tx = ws.tx_detail(1, 0).unwrap();
    assert!(tx.signature_valid, "{tx:?}");
    assert_eq!(tx.id, b1.txs[0].id);
    assert!(tx.payload.contains("public_key"));
    assert!(tx.canonical_json.starts_with("{\"chain_id\":\"gov-demo\""));
    assert_eq!(
        govchain_ledger::ErrorCode::code(&ws.tx_detail(1, 999).unwrap_err()),
        "not_found"
    );

    // The proof checks out, every step.
    let report = ws.verify_inclusion(1, 0).await.unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(
        report
            .steps
            .iter()
            .map(|s| s.step.as_str())
            .collect::<Vec<_>>(),
        ["leaf", "path", "checkpoint", "root"]
    );

    // An altered proof from the node is refused at the root step.
    let block = govchain_workstation::explorer::parse(
        &reqwest::get(format!("{}/v1/blocks/1", node.url()))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    )
    .unwrap();
    let id = &b1.txs[0].id;
    let cp_note = reqwest::get(format!("{}/v1/checkpoint", node.url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let size = status.checkpoint_size.unwrap();
    let mut answer: serde_json::Value = reqwest::get(format!(
        "{}/v1/proof/inclusion/{id}?tree_size={size}",
        node.url()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let state_ok = ws
        .with_state(|s| {
            govchain_workstation::explorer::check_inclusion(s, &block, 0, &answer, &cp_note)
        })
        .unwrap()
        .unwrap();
    assert!(state_ok.ok, "{state_ok:?}");
    let first = answer["proof"]["path"][0].as_str().unwrap().to_owned();
    let flipped = format!(
        "{}{}",
        if first.starts_with('0') { "1" } else { "0" },
        &first[1..]
    );
    answer["proof"]["path"][0] = serde_json::Value::String(flipped);
    let bad = ws
        .with_state(|s| {
            govchain_workstation::explorer::check_inclusion(s, &block, 0, &answer, &cp_note)
        })
        .unwrap()
        .unwrap();
    assert!(!bad.ok);
    assert!(
        !bad.steps.last().unwrap().ok && bad.steps.last().unwrap().step == "root",
        "{bad:?}"
    );
    // A checkpoint signed by a stranger is refused.
    let stranger = govchain_ledger::crypto::SecretKey::generate(&mut rand_core::OsRng);
    let cp = govchain_ledger::note::Checkpoint::parse_body(
        &govchain_ledger::note::SignedNote::parse(&cp_note)
            .unwrap()
            .text,
    )
    .unwrap();
    let forged = cp
        .sign("demo.govchain.local", &stranger)
        .unwrap()
        .to_string();
    let bad = ws
        .with_state(|s| {
            govchain_workstation::explorer::check_inclusion(s, &block, 0, &answer, &forged)
        })
        .unwrap()
        .unwrap();
    assert!(
        bad.steps.iter().any(|s| s.step == "checkpoint" && !s.ok),
        "{bad:?}"
    );
    node.stop().await.unwrap();
}
