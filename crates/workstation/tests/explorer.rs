//! The auditor's explorer on the embedded demo chain: blocks newest first,
//! decoded transactions whose signatures verify again, and an inclusion proof
//! checked step by step against the verified checkpoint — and refused when the
//! node's proof is altered. Needs no keychain.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::too_many_lines,
    clippy::many_single_char_names
)]

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

    let blocks = ws.explorer_blocks(None, 200).unwrap();
    assert_eq!(blocks.len() as u64, top + 1);
    assert_eq!(blocks[0].height, top);
    assert!(blocks.windows(2).all(|w| w[0].height > w[1].height));
    assert!(blocks.iter().all(|b| b.checkpointed));
    assert_eq!(blocks[0].proposer, "杭州市城市管理局");
    assert_eq!(ws.explorer_blocks(Some(2), 50).unwrap().len(), 2);
    // A cache from before headers were stored apart (schema 2) is migrated:
    // the headers are taken from the stored blocks.
    // (The chain's cache in the chains layout.)
    let cache = govchain_workstation::chains::cache_path(
        &base.join("ws"),
        &ws.active_chain().unwrap().unwrap(),
    );
    drop(ws);
    {
        let db = rusqlite::Connection::open(cache).unwrap();
        // (Schema 2 had neither the headers apart nor schema 4's alarm counts.)
        db.execute_batch(
            "ALTER TABLE blocks DROP COLUMN header; ALTER TABLE alarms DROP COLUMN count;
             ALTER TABLE alarms DROP COLUMN last_at; PRAGMA user_version = 2;",
        )
        .unwrap();
    }
    let ws = Workstation::open(&base.join("ws"), "govchain-test-unused", Arc::new(|_| {})).unwrap();
    ws.set_nodes(vec![node.url().to_owned()]).await.unwrap();
    assert_eq!(ws.explorer_blocks(None, 200).unwrap(), blocks);

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
        ["leaf", "checkpoint", "path", "root"]
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
        .with_chain(|c| {
            govchain_workstation::proofs::check_inclusion(c, &block, 0, &answer, &cp_note)
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
        .with_chain(|c| {
            govchain_workstation::proofs::check_inclusion(c, &block, 0, &answer, &cp_note)
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
        .with_chain(|c| {
            govchain_workstation::proofs::check_inclusion(c, &block, 0, &answer, &forged)
        })
        .unwrap()
        .unwrap();
    assert!(
        bad.steps.iter().any(|s| s.step == "checkpoint" && !s.ok),
        "{bad:?}"
    );
    node.stop().await.unwrap();
}

/// Search, the chain graph, dashboards, consistency between two verified
/// checkpoints, pasted-in proofs and the PDF audit report, on the demo chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_graph_dashboards_consistency_paste_and_report() {
    let base = std::env::temp_dir().join(format!("govchain-audit-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let node = DemoNode::start(&base.join("node")).await.unwrap();
    let ws = Workstation::open(&base.join("ws"), "govchain-test-unused", Arc::new(|_| {})).unwrap();
    ws.set_nodes(vec![node.url().to_owned()]).await.unwrap();
    let first = ws.sync().await.unwrap();
    let note_at = || async {
        reqwest::get(format!("{}/v1/checkpoint", node.url()))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let note1 = note_at().await;
    // More blocks (a user and the demo project), then a second checkpoint.
    let user = govchain_ledger::crypto::SecretKey::generate(&mut rand_core::OsRng);
    assert!(node.register_user(&user.public_key(), "审计员").unwrap());
    let second = ws.sync().await.unwrap();
    let (size1, size2) = (
        first.checkpoint_size.unwrap(),
        second.checkpoint_size.unwrap(),
    );
    assert!(size2 > size1);
    let cps = ws.checkpoints().unwrap();
    assert_eq!(
        cps.iter().map(|c| c.size).collect::<Vec<_>>(),
        [size2, size1]
    );

    // --- search ---
    let case = ws.search("hz-2026-0042").unwrap();
    assert!(
        case.iter()
            .any(|h| h.kind == "case" && h.key == "HZ-2026-0042"),
        "{case:?}"
    );
    let block = ws.search("1").unwrap();
    assert!(block
        .iter()
        .any(|h| h.kind == "block" && h.height == Some(1)));
    let detail = ws.case_detail("HZ-2026-0042").unwrap();
    // The demo case spent about three days at the city stage (ledger time).
    let city = detail.stages[0].duration_ms.unwrap();
    assert!((2 * 86_400_000..4 * 86_400_000).contains(&city), "{city}");
    let event = detail.timeline.last().unwrap();
    for q in [&event.tx_id[..], &event.tx_id[..16], &event.tx_id[..20]] {
        let hits = ws.search(q).unwrap();
        let tx = hits.iter().find(|h| h.kind == "tx").expect("tx found");
        assert_eq!(tx.key, event.tx_id);
        assert_eq!(tx.height, Some(event.height));
        let d = ws.tx_detail(tx.height.unwrap(), tx.index.unwrap()).unwrap();
        assert_eq!(d.id, event.tx_id);
    }
    // A wrong id with the same 8-byte prefix is not a hit.
    let mut other = event.tx_id.clone();
    other.replace_range(63..64, if other.ends_with('0') { "1" } else { "0" });
    assert!(ws.search(&other).unwrap().iter().all(|h| h.kind != "tx"));
    let official = ws.search(&event.official.name).unwrap();
    assert!(official
        .iter()
        .any(|h| h.kind == "official" && h.key == event.official.official_id));
    let fp = ws.search(&event.official.fingerprint[..9]).unwrap();
    assert!(
        fp.iter().any(|h| h.key == event.official.official_id),
        "{fp:?}"
    );
    assert!(ws
        .search("XA-2026-007")
        .unwrap()
        .iter()
        .any(|h| h.kind == "project"));
    assert!(ws.search("no such thing at all").unwrap().is_empty());
    // Both open demo cases and the six of the history.
    assert_eq!(ws.search("HZ-2026-00").unwrap().len(), 8);
    assert!(ws.search(&"x".repeat(500)).is_err());

    // --- graph ---
    let g = ws.graph("case:HZ-2026-0042").unwrap();
    let tx_node = format!(
        "tx:{}:{}",
        event.height,
        ws.search(&event.tx_id).unwrap()[0].index.unwrap()
    );
    assert!(g.nodes.iter().any(|n| n.id == tx_node), "{g:?}");
    assert!(g
        .edges
        .iter()
        .any(|e| e.source == tx_node && e.target == "case:HZ-2026-0042"));
    assert!(g
        .nodes
        .iter()
        .any(|n| n.id == format!("official:{}", event.official.official_id)));
    let ids: std::collections::HashSet<_> = g.nodes.iter().map(|n| n.id.clone()).collect();
    assert!(g
        .edges
        .iter()
        .all(|e| ids.contains(&e.source) && ids.contains(&e.target)));
    let t = ws.graph(&tx_node).unwrap();
    assert!(t
        .edges
        .iter()
        .any(|e| e.target == "case:HZ-2026-0042" && e.label == "acts on"));
    assert!(t
        .edges
        .iter()
        .any(|e| e.source == format!("block:{}", event.height)));
    let b = ws.graph("block:1").unwrap();
    assert!(b.nodes.len() > 2 && b.edges.iter().all(|e| e.label != "signed"));
    let p = ws.graph("project:XA-2026-007").unwrap();
    assert!(p.edges.iter().any(|e| e.label == "supervisor"));
    assert!(ws.graph("case:NOPE").is_err());
    assert!(ws.graph("nonsense").is_err());

    // --- dashboards and spending ---
    let d = ws.dashboard().unwrap();
    assert!(
        d.approvals.iter().map(|w| w.count).sum::<u32>() >= 1,
        "{d:?}"
    );
    assert!(d.approvals.iter().all(|w| w.week.contains("-W")));
    assert!(d.stage_times.iter().any(|s| s.cases >= 1));
    // The demo's history: weeks of approvals, and the fire review is the
    // slow stage (median over a week, in ledger time).
    let weeks: std::collections::BTreeSet<_> = d.approvals.iter().map(|w| &w.week).collect();
    assert!(weeks.len() >= 4, "{weeks:?}");
    let fire = d
        .stage_times
        .iter()
        .find(|s| s.stage.contains("Fire"))
        .unwrap();
    assert!(
        fire.median_ms > 7 * 86_400_000 && fire.cases >= 6,
        "{fire:?}"
    );
    assert!(d.stage_times.iter().all(|s| s.median_ms <= fire.median_ms));
    let xa = d
        .payments
        .iter()
        .find(|p| p.project_id == "XA-2026-007")
        .unwrap();
    assert_eq!(
        (xa.budget, xa.pending, xa.payments),
        (120_000_000, 38_000_000, 1)
    );
    // The history's project: four payments executed (one refused, one
    // waiting for approval), traced over ledger time.
    let past = d
        .payments
        .iter()
        .find(|p| p.project_id == "XA-2026-003")
        .unwrap();
    assert_eq!(
        (past.paid, past.pending, past.refused, past.payments),
        (370_000_000, 80_000_000, 90_000_000, 5)
    );
    let spend = ws.spending("XA-2026-003").unwrap();
    assert!(spend.windows(2).all(|w| w[0].time <= w[1].time));
    assert_eq!(
        spend.last().map(|s| (s.paid, s.pending)),
        Some((370_000_000, 80_000_000))
    );
    assert_eq!(spend.iter().filter(|s| s.step == "execute").count(), 3);
    let spend = ws.spending("XA-2026-007").unwrap();
    assert_eq!(
        spend.last().map(|s| (s.paid, s.pending)),
        Some((0, 38_000_000))
    );
    assert!(ws.spending("NOPE").is_err());

    // --- consistency between the two verified checkpoints ---
    let r = ws.verify_consistency(size1, None).await.unwrap();
    assert!(r.ok, "{r:?}");
    assert_eq!(
        r.steps.iter().map(|s| s.step.as_str()).collect::<Vec<_>>(),
        ["checkpoint", "checkpoint2", "path", "consistency", "local"]
    );
    assert!(ws.verify_consistency(size2, Some(size1)).await.is_err());
    assert!(ws.verify_consistency(size1 + 12345, None).await.is_err());
    // An altered consistency path fails at the consistency step.
    let mut answer: serde_json::Value = serde_json::from_str(&r.proof).unwrap();
    let h = answer["path"][0].as_str().unwrap().to_owned();
    answer["path"][0] = format!("{}{}", if h.starts_with('0') { "1" } else { "0" }, &h[1..]).into();
    let note2 = note_at().await;
    let bad = ws
        .with_chain(|c| govchain_workstation::proofs::check_consistency(c, &note1, &note2, &answer))
        .unwrap()
        .unwrap();
    assert!(!bad.ok);
    let last = bad.steps.last().unwrap();
    assert_eq!(
        (last.step.as_str(), last.ok),
        ("consistency", false),
        "{bad:?}"
    );

    // --- paste-in: the checkpoint and proof an auditor was handed ---
    let (h, i) = (
        event.height,
        ws.search(&event.tx_id).unwrap()[0].index.unwrap(),
    );
    let incl = ws.verify_inclusion(h, i).await.unwrap();
    assert!(incl.ok && !incl.note.is_empty() && !incl.proof.is_empty());
    let pasted = ws.verify_pasted(&incl.note, &incl.proof).unwrap();
    assert!(pasted.ok, "{pasted:?}");
    assert_eq!(pasted.kind, "inclusion");
    assert!(pasted
        .steps
        .iter()
        .any(|s| s.step == "leaf" && s.detail.contains("recomputed")));
    let only_note = ws.verify_pasted(&incl.note, "").unwrap();
    assert!(only_note.ok && only_note.kind == "checkpoint");
    let pasted_consistency = ws.verify_pasted(&incl.note, &r.proof).unwrap();
    assert!(pasted_consistency.ok, "{pasted_consistency:?}");
    assert_eq!(pasted_consistency.kind, "consistency");
    // A wrong leaf hash, a broken note and garbage are each refused.
    let mut wrong: serde_json::Value = serde_json::from_str(&incl.proof).unwrap();
    wrong["leaf_hash"] = "00".repeat(32).into();
    assert!(!ws.verify_pasted(&incl.note, &wrong.to_string()).unwrap().ok);
    let broken = incl.note.replacen('\n', "\nX", 1);
    assert!(!ws.verify_pasted(&broken, &incl.proof).unwrap().ok);
    assert!(!ws.verify_pasted(&incl.note, "not json").unwrap().ok);
    assert!(!ws.verify_pasted("", "").unwrap().ok);

    // --- PDF audit reports ---
    let out = base.join("reports");
    let saved = ws.save_report("case", "HZ-2026-0042", &out).await.unwrap();
    let pdf = std::fs::read(&saved.path).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    assert_eq!(saved.bytes, pdf.len() as u64);
    let text = String::from_utf8_lossy(&pdf);
    assert!(text.contains("HZ-2026-0042"));
    assert!(text.contains(&event.tx_id));
    assert!(text.contains("VERIFIED in the workstation"));
    assert!(!text.contains("NOT VERIFIED"), "every proof verifies");
    let saved = ws
        .save_report("project", "XA-2026-007", &out)
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&std::fs::read(&saved.path).unwrap()).into_owned();
    assert!(text.contains("XA-2026-007") && text.contains("380,000.00"));
    assert!(ws.save_report("case", "NOPE", &out).await.is_err());
    assert!(ws.save_report("../etc", "x", &out).await.is_err());
    node.stop().await.unwrap();
}

/// A pinned chain: a node serving another chain is refused from its first
/// block, nothing is cached and an alarm is raised; the right pin syncs; a
/// pin contradicting the verified chain is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pinned_chain_refuses_any_other() {
    let base = std::env::temp_dir().join(format!("govchain-pin-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let node = DemoNode::start(&base.join("node")).await.unwrap();
    // What the consortium published, read here from an honest copy.
    let honest = Workstation::open(
        &base.join("honest"),
        "govchain-test-unused",
        Arc::new(|_| {}),
    )
    .unwrap();
    honest.set_nodes(vec![node.url().to_owned()]).await.unwrap();
    let status = honest.sync().await.unwrap();
    let (chain, genesis) = (status.chain_id.unwrap(), status.genesis_hash.unwrap());
    assert!(!status.pinned);

    let ws = Workstation::open(&base.join("ws"), "govchain-test-unused", Arc::new(|_| {})).unwrap();
    assert!(ws.pin_chain("Not A Chain", &genesis).is_err());
    assert!(ws.pin_chain(&chain, "zz").is_err());
    ws.pin_chain(&chain, &"00".repeat(32)).unwrap();
    ws.set_nodes(vec![node.url().to_owned()]).await.unwrap();
    let err = ws.sync().await.unwrap_err();
    assert_eq!(
        govchain_ledger::ErrorCode::code(&err),
        "sync.verification_failed",
        "{err}"
    );
    let s = ws.status().unwrap();
    assert_eq!((s.height, s.pinned), (None, true));
    assert!(
        s.alarms.iter().any(|a| a.code == "chain.not_pinned"),
        "{:?}",
        s.alarms
    );

    ws.pin_chain(&chain, &genesis).unwrap();
    let s = ws.sync().await.unwrap();
    assert_eq!(s.genesis_hash.as_deref(), Some(genesis.as_str()));
    assert!(s.height.is_some() && s.pinned);
    // Once verified, another pin is refused; unpinning is allowed.
    assert!(ws.pin_chain("other-chain", &genesis).is_err());
    ws.pin_chain("", "").unwrap();
    assert!(!ws.status().unwrap().pinned);
    node.stop().await.unwrap();
}
