//! A large payroll over HTTP (PROTOCOL.md §12.5): a payment commits to a
//! 5,000-line payroll (workers hashed as §12.9 says), its lines arrive in
//! `payment.payroll_chunk` transactions, each under the 64 KiB envelope
//! limit; the payment cannot be confirmed before the last chunk, then is
//! confirmed, approved, executed and committed, and the fund trace shows the
//! 5,000 workers' lines summing to the payroll total.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::too_many_lines,
    clippy::cast_possible_truncation
)]

use std::time::Duration;

use govchain_ledger::identity::{self, DocumentType, IdentityKey};
use govchain_ledger::state::funds::{self, PAYROLL_CHUNK_LINES};
use govchain_ledger::state::kinds::{PayrollLine, RefId};
use govchain_ledger::tx::{Envelope, MAX_TX_BYTES};
use govchain_ledger::types::{ChainId, Fen};
use govchain_node::{Core, Limits};
use serde_json::{json, Value};
mod support;
use support::{genesis, key, serve, tx};

const T0: i64 = 1_795_000_000_000;
const LINES: u64 = 5_000;
const DEPTS: [&str; 4] = ["developer", "contractor", "supervision", "bank"];

/// A valid 18-character resident ID for worker `i` (GB 11643 check character).
fn resident_id(i: u64) -> String {
    let first17 = format!("13062919{:02}{:07}", 80 + i % 20, i);
    let b: [u8; 17] = first17.as_bytes().try_into().unwrap();
    format!("{first17}{}", identity::cn_rid_check_char(&b))
}

struct Net {
    http: reqwest::Client,
    url: String,
    chain: ChainId,
    seqs: std::collections::BTreeMap<String, u64>,
}

impl Net {
    fn sign(&mut self, who: &str, kind: &str, payload: Value) -> Envelope {
        let seq = self.seqs.entry(who.to_owned()).or_insert(0);
        *seq += 1;
        tx(&self.chain, &key(who), *seq, kind, payload, T0 + 1000)
    }

    async fn post(&self, env: &Envelope) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}/v1/tx", self.url))
            .json(env)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    /// Submits and expects admission.
    async fn submit(&mut self, who: &str, kind: &str, payload: Value) -> Envelope {
        let env = self.sign(who, kind, payload);
        let (status, v) = self.post(&env).await;
        assert_eq!(status, 200, "{who} {kind}: {v}");
        env
    }

    /// Submits and expects a 422 with `code`; the sequence number is reused.
    async fn refused(&mut self, code: &str, who: &str, kind: &str, payload: Value) {
        let env = self.sign(who, kind, payload);
        let (status, v) = self.post(&env).await;
        assert_eq!((status, v["code"].as_str()), (422, Some(code)), "{v}");
        *self.seqs.get_mut(who).unwrap() -= 1;
    }

    async fn committed(&self, env: &Envelope) {
        let id = env.id().unwrap().to_hex();
        for _ in 0..1000 {
            let v: Value = self
                .http
                .get(format!("{}/v1/tx/{id}", self.url))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if v["status"] != "pending" {
                assert_eq!(v["status"], "committed", "{v}");
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{id} never committed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_5000_line_payroll_in_chunks_is_paid_and_traced() {
    let dir = std::env::temp_dir().join(format!("govchain-payroll-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let chain: ChainId = "payroll-test".parse().unwrap();
    let core = Core::open(
        &dir.join("chain.sqlite"),
        key("node-developer"),
        "node.developer.example",
        Some(&genesis(&chain, "govchain.example/payroll", &DEPTS, T0)),
        Limits::default(),
    )
    .unwrap();
    let node = serve(core, 20).await;
    let mut n = Net {
        http: reqwest::Client::new(),
        url: node.url.clone(),
        chain,
        seqs: DEPTS.iter().map(|d| (format!("{d}-admin"), 1)).collect(),
    };

    // The four parties, then the project.
    let mut last = None;
    for (who, dept) in [
        ("dev", "developer"),
        ("con", "contractor"),
        ("sup", "supervision"),
        ("op", "bank"),
    ] {
        last = Some(
            n.submit(
                &format!("{dept}-admin"),
                "official.register",
                json!({"department": dept, "name": who, "public_key": key(who).public_key()}),
            )
            .await,
        );
    }
    n.committed(&last.unwrap()).await;
    let parties = json!({"developer": key("dev").key_id(), "contractor": key("con").key_id(),
                         "supervisor": key("sup").key_id(), "operator": key("op").key_id()});
    let p = n
        .submit(
            "dev",
            "project.create",
            json!({"project_id": "XA-2026-07", "name": "雄安新区安置房", "budget": 10_000_000_000u64,
               "parties": parties, "approvers": ["developer"]}),
        )
        .await;
    n.committed(&p).await;

    // The payroll: 5,000 workers, hashed with the project's payroll key.
    let payroll_key = IdentityKey::from_bytes(*b"xiongan payroll key, test only!!");
    let lines: Vec<PayrollLine> = (0..LINES)
        .map(|i| PayrollLine {
            worker: identity::identity_hash(
                &payroll_key,
                DocumentType::CnResidentId,
                &resident_id(i),
            )
            .unwrap(),
            amount: Fen::new(1_200_000 + (i % 7) * 10_000).unwrap(),
        })
        .collect();
    let total: u64 = lines.iter().map(|l| l.amount.get()).sum();
    let amount = total + 50_000_000;
    let request = n
        .submit(
            "con",
            "payment.request",
            json!({"project_id": "XA-2026-07", "payment_id": "wages-2026-11", "amount": amount,
               "purpose": "11月工资", "milestone": "主体结构", "invoices": [], "payroll": [],
               "payroll_root": funds::payroll_root(&lines), "payroll_total": total,
               "payroll_lines": LINES}),
        )
        .await;
    n.committed(&request).await;
    n.refused(
        "funds.payroll_incomplete",
        "sup",
        "payment.confirm",
        json!({"project_id": "XA-2026-07", "payment_id": "wages-2026-11", "verdict": "accept", "comment": ""}),
    )
    .await;

    // The chunks, pipelined: each is admitted against the open block.
    let project: RefId = "XA-2026-07".to_owned().try_into().unwrap();
    let payment: RefId = "wages-2026-11".to_owned().try_into().unwrap();
    let chunks = funds::payroll_chunks(&project, &payment, &lines);
    assert_eq!(chunks.len(), (LINES as usize).div_ceil(PAYROLL_CHUNK_LINES));
    let mut last = None;
    for (i, c) in chunks.iter().enumerate() {
        let env = n
            .submit(
                "con",
                "payment.payroll_chunk",
                serde_json::to_value(c).unwrap(),
            )
            .await;
        let bytes = serde_json::to_vec(&env).unwrap().len();
        assert!(bytes < MAX_TX_BYTES, "chunk {i} is {bytes} bytes");
        if i == 0 {
            // Out of order: the offset must be the lines received so far.
            n.refused(
                "funds.payroll_offset",
                "con",
                "payment.payroll_chunk",
                serde_json::to_value(&chunks[2]).unwrap(),
            )
            .await;
        }
        last = Some(env);
    }
    n.committed(&last.unwrap()).await;

    // Complete: confirm, approve, execute.
    for (who, kind, payload) in [
        (
            "sup",
            "payment.confirm",
            json!({"verdict": "accept", "comment": "工资表核对无误"}),
        ),
        (
            "dev",
            "payment.approve",
            json!({"verdict": "accept", "comment": ""}),
        ),
        (
            "op",
            "payment.execute",
            json!({"transfer_ref": "ICBC-XA-20261130-001"}),
        ),
    ] {
        let mut payload = payload;
        payload["project_id"] = json!("XA-2026-07");
        payload["payment_id"] = json!("wages-2026-11");
        let env = n.submit(who, kind, payload).await;
        n.committed(&env).await;
    }

    // The fund trace: 5,000 paid worker edges summing to the payroll total,
    // the rest of the amount to the contractor.
    let flows: Vec<Value> = n
        .http
        .get(format!("{}/v1/projects/XA-2026-07/trace", n.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let workers: Vec<&Value> = flows
        .iter()
        .filter(|f| f["target"].as_str().unwrap().starts_with("worker:"))
        .collect();
    assert_eq!(workers.len(), LINES as usize);
    assert!(workers
        .iter()
        .all(|f| f["status"] == "paid" && f["source"] == "payment:wages-2026-11"));
    let paid: u64 = workers.iter().map(|f| f["amount"].as_u64().unwrap()).sum();
    assert_eq!(paid, total);
    assert!(flows.iter().any(|f| f["target"] == "party:contractor"
        && f["amount"].as_u64() == Some(50_000_000)
        && f["status"] == "paid"));
    let expected: std::collections::BTreeSet<String> = lines
        .iter()
        .map(|l| format!("worker:{}", &l.worker.to_hex()[..12]))
        .collect();
    let seen: std::collections::BTreeSet<String> = workers
        .iter()
        .map(|f| f["target"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(seen, expected);
    node.stop().await;

    // A restart re-verifies the stored blocks, state digests included
    // (§12.7: the committed lines through their frontier), and serves the
    // same trace.
    let core = Core::open(
        &dir.join("chain.sqlite"),
        key("node-developer"),
        "node.developer.example",
        None,
        Limits::default(),
    )
    .unwrap();
    let node = serve(core, 20).await;
    let again: Vec<Value> = n
        .http
        .get(format!("{}/v1/projects/XA-2026-07/trace", node.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again, flows);
    node.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
