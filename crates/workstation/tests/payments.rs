//! Engineering projects from the desktop against the embedded demo node: a
//! project created by its developer (its payroll key made in the keychain),
//! a payment requested by the contractor with a 1,000-line XLSX payroll
//! (committed to by its root, the lines in chunk transactions signed with
//! it), a CSV payroll with three bad rows reported by row and refused, and
//! no payroll key, no import. Real Secret Service: run under
//! `scripts/with-keyring.sh`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

use base64::Engine as _;
use govchain_ledger::identity::cn_rid_check_char;
use govchain_ledger::ErrorCode as _;
use govchain_workstation::demo::{DEMO_CONTRACT, DEMO_PROJECT};
use govchain_workstation::dto::{Party, PayrollProblem, SignRequest};

mod support;
use support::{keyring_available, open_quiet, temp_dir, until_committed};

/// The `n`th test worker's resident ID (valid check character).
fn worker_id(n: u32) -> String {
    let first: String = format!("1101051980010{n:04}");
    let bytes: [u8; 17] = first.as_bytes().try_into().unwrap();
    format!("{first}{}", cn_rid_check_char(&bytes))
}

/// An XLSX payroll of `n` workers at 100.50 + i yuan, as a spreadsheet
/// program writes it (amounts as numbers, IDs as text).
fn xlsx_payroll(n: u32) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in (0u16..).zip(["姓名", "证件号码", "金额"]) {
        sheet.write_string(0, c, h).unwrap();
    }
    for i in 0..n {
        sheet.write_string(i + 1, 0, format!("工人{i}")).unwrap();
        sheet.write_string(i + 1, 1, worker_id(i)).unwrap();
        sheet.write_number(i + 1, 2, 100.5 + f64::from(i)).unwrap();
    }
    book.save_to_buffer().unwrap()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projects_and_payment_requests_with_imported_payrolls() {
    if !keyring_available() {
        return;
    }
    let dir = temp_dir("payments");
    let service = format!("govchain-test-payments-{}", std::process::id());
    let ws = open_quiet(&dir, &service);
    ws.start_network().await.unwrap();
    let key = ws.create_key("王测试").await.unwrap();
    ws.sync().await.unwrap();

    // The contractor imports a 1,000-line XLSX payroll.
    let n = 1000;
    let imported = ws
        .import_payroll(DEMO_CONTRACT, "工资表-2026-11.xlsx", &b64(&xlsx_payroll(n)))
        .unwrap();
    assert_eq!(
        (imported.lines, imported.refused),
        (u64::from(n), 0),
        "{:?}",
        imported.errors
    );
    let total: u64 = (0..u64::from(n)).map(|i| 10_050 + 100 * i).sum();
    assert_eq!(imported.total_fen, total);
    assert_eq!(imported.chunks, 2);

    // The request commits to the payroll; its two chunks are signed with it.
    let request = SignRequest::RequestPayment {
        project_id: DEMO_CONTRACT.into(),
        payment_id: String::new(),
        amount_fen: total + 500_000,
        purpose: "路面修复一期进度款".into(),
        milestone: "M1 基层完成".into(),
        invoices: vec![],
        payroll: Some(imported.import_id.clone()),
    };
    let p = ws.prepare(&request).unwrap();
    assert!(p.would_reject.is_none(), "{p:?}");
    assert_eq!(p.follow_ups, 2);
    let body: serde_json::Value = serde_json::from_str(&p.canonical_json).unwrap();
    assert_eq!(body["payload"]["payroll_lines"], n);
    assert_eq!(body["payload"]["payroll_total"], total);
    let payment_id = body["payload"]["payment_id"].as_str().unwrap().to_owned();
    assert!(payment_id.starts_with("P-20"), "{payment_id}");
    let first = ws.confirm(&p.preview_id).unwrap();
    let queued = ws.outbox().unwrap();
    let chunks: Vec<_> = queued
        .iter()
        .filter(|o| o.kind == "payment.payroll_chunk")
        .collect();
    assert_eq!(chunks.len(), 2);
    assert_eq!(chunks[0].seq, first.seq + 1);
    for item in [first.id.clone(), chunks[0].id.clone(), chunks[1].id.clone()] {
        until_committed(&ws, &item).await;
    }
    let project = ws.project_detail(DEMO_CONTRACT).unwrap();
    let pay = project
        .payments
        .iter()
        .find(|p| p.payment_id == payment_id)
        .unwrap();
    // The project lists the first lines; the rest come in pages.
    assert_eq!(pay.payroll_lines, n);
    assert_eq!(
        pay.payroll.len(),
        govchain_workstation::views::PAYROLL_SHOWN
    );
    assert_eq!(pay.payroll_total, total);
    let mut lines = Vec::new();
    while lines.len() < n as usize {
        let page = ws
            .payroll_page(
                DEMO_CONTRACT,
                &payment_id,
                u32::try_from(lines.len()).unwrap(),
                300,
            )
            .unwrap();
        assert_eq!((page.offset as usize, page.total), (lines.len(), n));
        assert!(!page.lines.is_empty());
        lines.extend(page.lines);
    }
    assert_eq!(lines.len(), n as usize);
    assert_eq!(lines[..pay.payroll.len()], pay.payroll[..]);
    assert_eq!(lines.iter().map(|l| l.amount).sum::<u64>(), total);
    let past = ws.payroll_page(DEMO_CONTRACT, &payment_id, n, 10).unwrap();
    assert!(past.lines.is_empty());
    for limit in [0, 5_001] {
        let e = ws
            .payroll_page(DEMO_CONTRACT, &payment_id, 0, limit)
            .unwrap_err();
        assert_eq!(e.code(), "request.invalid", "{e}");
    }
    let e = ws.payroll_page(DEMO_CONTRACT, "P-NONE", 0, 10).unwrap_err();
    assert_eq!(e.code(), "not_found", "{e}");

    // A small payroll goes inside the request.
    let csv = format!(
        "证件号码,金额\n{},1200\n{},1300.50\n",
        worker_id(1),
        worker_id(2)
    );
    let small = ws
        .import_payroll(DEMO_CONTRACT, "工资表.csv", &b64(csv.as_bytes()))
        .unwrap();
    assert_eq!((small.lines, small.chunks), (2, 0));
    let p = ws
        .prepare(&SignRequest::RequestPayment {
            project_id: DEMO_CONTRACT.into(),
            payment_id: "P-SMALL".into(),
            amount_fen: 250_050,
            purpose: "零星用工".into(),
            milestone: String::new(),
            invoices: vec![],
            payroll: Some(small.import_id.clone()),
        })
        .unwrap();
    assert!(p.would_reject.is_none() && p.follow_ups == 0, "{p:?}");
    assert!(
        p.canonical_json.contains("\"amount\":120000"),
        "{}",
        p.canonical_json
    );
    // Over the payroll total: the ledger's own verdict before signing.
    let p = ws
        .prepare(&SignRequest::RequestPayment {
            project_id: DEMO_CONTRACT.into(),
            payment_id: "P-LOW".into(),
            amount_fen: 1000,
            purpose: "x".into(),
            milestone: String::new(),
            invoices: vec![],
            payroll: Some(small.import_id),
        })
        .unwrap();
    assert_eq!(
        p.would_reject.map(|r| r.code),
        Some("funds.payroll_exceeds_amount".to_owned())
    );

    // Three bad rows, each reported by its row; the import cannot be signed.
    let bad = format!(
        "姓名,证件号码,金额\n甲,{},100\n乙,110105198001010010,100\n丙,{},abc\n丁,{},100\n",
        worker_id(5),
        worker_id(6),
        worker_id(5)
    );
    let refused = ws
        .import_payroll(DEMO_CONTRACT, "bad.csv", &b64(bad.as_bytes()))
        .unwrap();
    let rows: Vec<(u64, PayrollProblem)> =
        refused.errors.iter().map(|e| (e.row, e.problem)).collect();
    assert_eq!(
        rows,
        vec![
            (3, PayrollProblem::BadIdNumber),
            (4, PayrollProblem::BadAmount),
            (5, PayrollProblem::DuplicateWorker)
        ]
    );
    let e = ws
        .prepare(&SignRequest::RequestPayment {
            project_id: DEMO_CONTRACT.into(),
            payment_id: String::new(),
            amount_fen: 100_000,
            purpose: "x".into(),
            milestone: String::new(),
            invoices: vec![],
            payroll: Some(refused.import_id),
        })
        .unwrap_err();
    assert_eq!(e.code(), "request.invalid", "{e}");
    // An import is for its own project only.
    let e = ws
        .prepare(&SignRequest::RequestPayment {
            project_id: DEMO_PROJECT.into(),
            payment_id: String::new(),
            amount_fen: 100_000,
            purpose: "x".into(),
            milestone: String::new(),
            invoices: vec![],
            payroll: Some(imported.import_id),
        })
        .unwrap_err();
    assert!(
        e.code() == "request.invalid" || e.code() == "not_found",
        "{e}"
    );

    // A project this official develops: its payroll key is made here.
    let officials = ws.officials().unwrap();
    let named = |name: &str| {
        officials
            .iter()
            .find(|o| o.name.contains(name))
            .unwrap()
            .official_id
            .clone()
    };
    let me = ws.keys().unwrap()[0].official.clone().unwrap().official_id;
    assert_eq!(
        ws.import_payroll("XA-2026-020", "a.csv", &b64(b"x"))
            .unwrap_err()
            .code(),
        "payroll_key.none"
    );
    let p = ws
        .prepare(&SignRequest::CreateProject {
            project_id: "XA-2026-020".into(),
            name: "北山街片区路灯改造".into(),
            budget_fen: 50_000_000,
            developer: me,
            contractor: named("刘强"),
            supervisor: named("钱峰"),
            operator: named("孙丽"),
            approvers: vec![Party::Developer],
        })
        .unwrap();
    assert!(p.would_reject.is_none(), "{p:?}");
    let item = ws.confirm(&p.preview_id).unwrap();
    until_committed(&ws, &item.id).await;
    let key_id = ws
        .payroll_key_id("XA-2026-020")
        .unwrap()
        .expect("made here");
    let hex = ws.export_payroll_key("XA-2026-020").unwrap();
    assert_eq!(hex.len(), 64);
    assert_eq!(
        govchain_ledger::identity::IdentityKey::from_hex(&hex)
            .unwrap()
            .key_id(),
        key_id
    );
    assert_eq!(ws.project_detail("XA-2026-020").unwrap().budget, 50_000_000);
    ws.delete_key(&key.key_id).unwrap();
}

/// A payment request with a committed payroll signed offline: the request
/// and its chunks wait in the outbox across a restart of the app and the
/// node, then each is delivered and committed once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payroll_signed_offline_survives_a_restart_and_commits_once() {
    if !keyring_available() {
        return;
    }
    let node_dir = temp_dir("payments-offline-node");
    let dir = temp_dir("payments-offline-ws");
    let service = format!("govchain-test-payments-offline-{}", std::process::id());
    let node = govchain_workstation::demo::DemoNode::start(&node_dir)
        .await
        .unwrap();
    let ws = open_quiet(&dir, &service);
    ws.set_nodes(vec![node.url().to_owned()]).await.unwrap();
    let key = ws.create_key("离线承包人").await.unwrap();
    let pk = govchain_node::config::parse_public_key(&key.public_key).unwrap();
    node.register_user(&pk, "离线承包人").unwrap();
    ws.sync().await.unwrap();
    let payroll_key = hex::encode(govchain_workstation::demo::demo_payroll_key().as_bytes());
    ws.import_payroll_key(DEMO_CONTRACT, &payroll_key).unwrap();
    let imported = ws
        .import_payroll(DEMO_CONTRACT, "工资表.xlsx", &b64(&xlsx_payroll(1200)))
        .unwrap();
    assert_eq!(imported.chunks, 3);

    node.stop().await.unwrap();
    let p = ws
        .prepare(&SignRequest::RequestPayment {
            project_id: DEMO_CONTRACT.into(),
            payment_id: "P-OFFLINE".into(),
            amount_fen: imported.total_fen,
            purpose: "离线签署".into(),
            milestone: String::new(),
            invoices: vec![],
            payroll: Some(imported.import_id),
        })
        .unwrap();
    assert!(p.would_reject.is_none(), "{p:?}");
    ws.confirm(&p.preview_id).unwrap();
    assert_eq!(ws.flush_outbox().await.unwrap_err().code(), "sync.offline");
    drop(ws);

    let ws = open_quiet(&dir, &service);
    let queued = ws.outbox().unwrap();
    assert_eq!(queued.len(), 4, "{queued:?}");
    assert!(queued.iter().all(|o| o.status == "queued"));
    let node = govchain_workstation::demo::DemoNode::start(&node_dir)
        .await
        .unwrap();
    ws.set_nodes(vec![node.url().to_owned()]).await.unwrap();
    for o in &queued {
        until_committed(&ws, &o.id).await;
    }
    let after = ws.outbox().unwrap();
    assert_eq!(after.len(), 4);
    assert!(after.iter().all(|o| o.status == "committed"), "{after:?}");
    let pay = ws
        .project_detail(DEMO_CONTRACT)
        .unwrap()
        .payments
        .into_iter()
        .find(|p| p.payment_id == "P-OFFLINE")
        .unwrap();
    assert_eq!(pay.payroll_lines, 1200);
    ws.delete_key(&key.key_id).unwrap();
    node.stop().await.unwrap();
}
