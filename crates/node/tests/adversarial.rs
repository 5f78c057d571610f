//! Adversarial transactions against a running node over HTTP: each attack is
//! refused with its stable code, and the chain does not move (same log size,
//! same signed root). Attacks on the wire and on checkpoints (a tampered
//! block, a checkpoint from an unknown key, split views) are the
//! workstation's to catch: `crates/workstation/tests/adversarial.rs`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::too_many_lines,
    clippy::similar_names
)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use govchain_ledger::crypto::SecretKey;
use govchain_ledger::state::fixtures::renovation_template;
use govchain_ledger::tx::{Envelope, TxBody};
use govchain_ledger::types::{ChainId, Hash32, Timestamp};
use govchain_node::{Clock, Core, Limits};
use serde_json::{json, Value};

mod support;
use support::{genesis, key, serve};

const T0: i64 = 1_795_000_000_000;
const DEPTS: [&str; 7] = [
    "city-management",
    "fire",
    "construction",
    "developer",
    "contractor",
    "supervision",
    "bank",
];

struct Net {
    url: String,
    http: reqwest::Client,
    chain: ChainId,
    clock: Arc<AtomicI64>,
    seqs: BTreeMap<String, u64>,
    keys: BTreeMap<String, SecretKey>,
}

impl Net {
    fn key(&mut self, who: &str) -> &SecretKey {
        self.keys.entry(who.to_owned()).or_insert_with(|| key(who))
    }

    fn body(&mut self, who: &str, seq: u64, kind: &str, payload: Value) -> TxBody {
        let chain_id = self.chain.clone();
        let created_at = Timestamp::from_unix_millis(self.clock.load(Ordering::SeqCst)).unwrap();
        TxBody {
            chain_id,
            signer: self.key(who).key_id(),
            seq,
            kind: kind.into(),
            payload,
            created_at,
        }
    }

    /// The next transaction of `who` (its sequence number counted here).
    fn sign(&mut self, who: &str, kind: &str, payload: Value) -> Envelope {
        let seq = self.seqs.get(who).copied().unwrap_or(0) + 1;
        let body = self.body(who, seq, kind, payload);
        Envelope::sign(self.key(who), body).unwrap()
    }

    async fn post(&self, env: &Envelope) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}/v1/tx", self.url))
            .json(env)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    async fn get(&self, path: &str) -> Value {
        self.http
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Submits and waits until committed; counts the sequence number.
    async fn ok(&mut self, who: &str, kind: &str, payload: Value) {
        let env = self.sign(who, kind, payload);
        let (status, v) = self.post(&env).await;
        assert_eq!(status, 200, "{who} {kind}: {v}");
        let id = env.id().unwrap();
        for _ in 0..200 {
            let s = self.get(&format!("/v1/tx/{id}")).await;
            match s["status"].as_str() {
                Some("committed") => {
                    *self.seqs.entry(who.to_owned()).or_insert(0) += 1;
                    return;
                }
                Some("rejected") => panic!("{who} {kind}: {s}"),
                _ => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
        panic!("{who} {kind}: not committed");
    }

    /// The chain's log size and signed root once the node is idle.
    async fn chain_state(&self) -> (u64, String) {
        tokio::time::sleep(Duration::from_millis(60)).await;
        let h = self.get("/healthz").await;
        let note = self
            .http
            .get(format!("{}/v1/checkpoint", self.url))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let root = note.lines().nth(2).unwrap_or_default().to_owned();
        (h["log_size"].as_u64().unwrap(), root)
    }

    /// Submits `env` and expects it refused with `code` (at admission or in
    /// its block), the chain unchanged.
    async fn refused(&mut self, attack: &str, env: &Envelope, code: &str) {
        let before = self.chain_state().await;
        let (status, v) = self.post(env).await;
        let got = if status == 200 {
            // Admitted (e.g. depends on state at apply time): its block drops it.
            let id = env.id().unwrap();
            let mut s = Value::Null;
            for _ in 0..200 {
                s = self.get(&format!("/v1/tx/{id}")).await;
                if s["status"] != "pending" {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            assert_eq!(s["status"], "rejected", "{attack}: {s}");
            s["code"].as_str().unwrap_or_default().to_owned()
        } else {
            assert!((400..500).contains(&status), "{attack}: {status} {v}");
            v["code"].as_str().unwrap_or_default().to_owned()
        };
        assert_eq!(got, code, "{attack}");
        assert_eq!(
            self.chain_state().await,
            before,
            "{attack}: the chain moved"
        );
        println!("refused  {attack:<52} {code}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_attack_is_refused_with_its_code_and_the_chain_does_not_move() {
    let dir = std::env::temp_dir().join(format!("govchain-adversarial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let chain: ChainId = "adversarial".parse().unwrap();
    let mut core = Core::open(
        &dir.join("chain.sqlite"),
        key("node-city-management"),
        "node.city.example",
        Some(&genesis(&chain, "govchain.example/adversarial", &DEPTS, T0)),
        Limits::default(),
    )
    .unwrap();
    let clock = Arc::new(AtomicI64::new(T0 + 1000));
    core.set_clock(Clock::Manual(clock.clone()));
    let node = serve(core, 10).await;
    let url = node.url.clone();
    let mut n = Net {
        url,
        http: reqwest::Client::new(),
        chain,
        clock: clock.clone(),
        seqs: BTreeMap::from([("city-management-admin".to_owned(), 1)]),
        keys: BTreeMap::new(),
    };

    // --- the world: officials, roles, a case, a project, a certificate ---
    for (who, dept, role, scope) in [
        ("zhang", "city-management", Some("approver"), "hz"),
        ("li", "fire", Some("fire-inspector"), "hz"),
        ("wang", "construction", Some("approver"), "hz"),
        ("dev", "developer", Some("certificate-issuer"), "*"),
        ("con", "contractor", None, ""),
        ("sup", "supervision", None, ""),
        ("op", "bank", None, ""),
        ("checker", "bank", None, ""),
        ("gone", "city-management", None, ""),
        ("rot", "city-management", None, ""),
    ] {
        let admin = format!("{dept}-admin");
        let pk = n.key(who).public_key();
        n.ok(
            &admin,
            "official.register",
            json!({"department": dept, "name": who, "public_key": pk}),
        )
        .await;
        if let Some(role) = role {
            let id = n.key(who).key_id();
            n.ok(
                &admin,
                "role.grant",
                json!({"official": id, "department": dept, "role": role, "scope": scope}),
            )
            .await;
        }
    }
    let template = serde_json::to_value(renovation_template()).unwrap();
    n.ok("city-management-admin", "workflow.define", template)
        .await;
    n.ok(
        "zhang",
        "case.open",
        json!({"case_id": "HZ-1", "template": "old-city-renovation", "version": 1,
                                      "scope": "hz", "title": "t", "documents": []}),
    )
    .await;
    let parties = json!({"developer": n.key("dev").key_id(), "contractor": n.key("con").key_id(),
                         "supervisor": n.key("sup").key_id(), "operator": n.key("op").key_id()});
    n.ok(
        "dev",
        "project.create",
        json!({"project_id": "XA-1", "name": "p", "budget": 1000,
                                         "parties": parties, "approvers": ["developer"]}),
    )
    .await;
    let citizen = "citizen";
    let commitment = Hash32::sha256(b"salt|document");
    let holder = n.key(citizen).public_key();
    n.ok("dev", "certificate.issue", json!({"cert_id": "C-1", "cert_type": "housing-fund-deposit",
                                            "commitment": commitment, "subject": Hash32::ZERO, "holder_key": holder}))
        .await;
    let until = Timestamp::from_unix_millis(clock.load(Ordering::SeqCst) + 3_600_000).unwrap();
    n.ok(
        citizen,
        "consent.grant",
        json!({"consent_id": "K-1", "cert_id": "C-1", "grantee": "bank",
                                          "until": until, "purpose": "loan"}),
    )
    .await;

    // --- the attacks ---
    let read = |clock: &AtomicI64| {
        let at = Timestamp::from_unix_millis(clock.load(Ordering::SeqCst)).unwrap();
        json!({"entries": [{"dataset": "d", "operation": "read", "purpose": "p", "at": at}]})
    };
    let step = |stage: u32| json!({"case_id": "HZ-1", "stage": stage, "decision": "approve", "comment": "ok", "attachments": []});

    let mut forged = n.sign("zhang", "case.sign_step", step(0));
    let mut sig = *forged.sig.as_bytes();
    sig[5] ^= 1;
    forged.sig = govchain_ledger::crypto::Signature::from_bytes(sig);
    n.refused("forged signature", &forged, "tx.bad_signature")
        .await;

    // A signature over the same body for another chain (another domain tag).
    let seq = n.seqs["zhang"] + 1;
    let mut body = n.body("zhang", seq, "case.sign_step", step(0));
    body.chain_id = "other-chain".parse().unwrap();
    let other = Envelope::sign(n.key("zhang"), body.clone()).unwrap();
    body.chain_id = n.chain.clone();
    let cross = Envelope {
        body,
        sig: other.sig,
    };
    n.refused(
        "signature over another chain's domain tag",
        &cross,
        "tx.bad_signature",
    )
    .await;

    let seq = n.seqs["zhang"];
    let body = n.body("zhang", seq, "access.record", read(&clock));
    let replay = Envelope::sign(n.key("zhang"), body).unwrap();
    n.refused("replayed sequence number", &replay, "tx.replayed")
        .await;

    let env = n.sign("li", "case.sign_step", step(1));
    n.refused("stage signed out of order", &env, "workflow.out_of_order")
        .await;

    let env = n.sign("li", "case.sign_step", step(0));
    n.refused("stage signed by the wrong role", &env, "auth.role_missing")
        .await;

    let env = n.sign("wang", "case.sign_step", step(0));
    n.refused(
        "approver of the wrong department",
        &env,
        "auth.role_missing",
    )
    .await;

    // A template belongs to the department that defined it: another
    // department's admin cannot publish a version of it; its owner can.
    let mut v2 = serde_json::to_value(renovation_template()).unwrap();
    v2["version"] = json!(2);
    v2["name"] = json!("hijacked");
    let env = n.sign("construction-admin", "workflow.define", v2.clone());
    n.refused(
        "another department publishes a version of a template",
        &env,
        "workflow.not_owner",
    )
    .await;
    v2["name"] = json!("renovation v2");
    n.ok("city-management-admin", "workflow.define", v2).await;
    let case = n.get("/v1/cases/HZ-1").await;
    assert_eq!(case["template"]["version"], 1, "{case}");

    let gone = n.key("gone").key_id();
    n.ok(
        "city-management-admin",
        "official.revoke",
        json!({"official": gone}),
    )
    .await;
    let env = n.sign("gone", "access.record", read(&clock));
    n.refused("revoked official signs", &env, "auth.key_revoked")
        .await;

    let height = n.get("/healthz").await["height"].as_u64().unwrap();
    let new_key = key("rot-2").public_key();
    n.ok(
        "rot",
        "key.rotate",
        json!({"new_public_key": new_key, "effective_height": height + 2}),
    )
    .await;
    n.ok("zhang", "access.record", read(&clock)).await; // one more block
    let env = n.sign("rot", "access.record", read(&clock));
    n.refused(
        "rotated key used after the rotation height",
        &env,
        "auth.key_rotated",
    )
    .await;

    let request = |id: &str, amount: u64, wage: u64| {
        json!({"project_id": "XA-1", "payment_id": id, "amount": amount, "purpose": "p", "milestone": "m",
               "invoices": [], "payroll": [{"worker": Hash32::sha256(b"w"), "amount": wage}]})
    };
    let env = n.sign("con", "payment.request", request("P-1", 2000, 100));
    n.refused("payment over the budget", &env, "funds.over_budget")
        .await;
    let env = n.sign("con", "payment.request", request("P-2", 500, 600));
    n.refused(
        "payroll above the payment",
        &env,
        "funds.payroll_exceeds_amount",
    )
    .await;
    let env = n.sign("sup", "payment.request", request("P-3", 500, 100));
    n.refused(
        "payment requested by the wrong party",
        &env,
        "funds.wrong_party",
    )
    .await;

    clock.fetch_add(2 * 3_600_000, Ordering::SeqCst);
    let env = n.sign(
        "checker",
        "certificate.verify",
        json!({"cert_id": "C-1", "consent_id": "K-1", "commitment": commitment}),
    );
    n.refused(
        "certificate verified after consent expired",
        &env,
        "sharing.consent_invalid",
    )
    .await;

    node.stop().await;
}
