//! Signed reads over HTTP (PROTOCOL.md §13): the access log, certificates and
//! the blacklist answer a request signed by an entitled official, and each
//! answered read is on the ledger as the `access.record` it carried.
//! Unsigned, stale, altered, replayed-elsewhere and unentitled reads are
//! refused with their codes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use govchain_ledger::crypto::KeyId;
use govchain_ledger::note::{NoteKey, ALG_ED25519};
use govchain_ledger::read::ReadRequest;
use govchain_ledger::state_proof::{CheckpointTrust, StateProofs};
use govchain_ledger::tx::{Envelope, TxBody};
use govchain_ledger::types::{ChainId, Hash32, Timestamp};
use govchain_ledger::ErrorCode as _;
use govchain_node::{Clock, Core, Limits};
use serde_json::{json, Value};

mod support;
use support::{genesis, key, serve};

const T0: i64 = 1_795_000_000_000;

struct Node {
    url: String,
    authority: String,
    http: reqwest::Client,
    chain: ChainId,
    clock: Arc<AtomicI64>,
    seqs: BTreeMap<String, u64>,
}

impl Node {
    fn now(&self) -> Timestamp {
        Timestamp::from_unix_millis(self.clock.load(Ordering::SeqCst)).unwrap()
    }

    fn sign(&mut self, who: &str, kind: &str, payload: Value) -> Envelope {
        let seq = self.seqs.entry(who.to_owned()).or_insert(0);
        *seq += 1;
        let k = key(who);
        Envelope::sign(
            &k,
            TxBody {
                chain_id: self.chain.clone(),
                signer: k.key_id(),
                seq: *seq,
                kind: kind.into(),
                payload,
                created_at: self.now(),
            },
        )
        .unwrap()
    }

    async fn commit(&mut self, who: &str, kind: &str, payload: Value) {
        let env = self.sign(who, kind, payload);
        let r = self
            .http
            .post(format!("{}/v1/tx", self.url))
            .json(&env)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{who} {kind}");
        self.wait(&env.id().unwrap()).await;
    }

    async fn wait(&self, id: &Hash32) -> Value {
        for _ in 0..300 {
            let s: Value = self
                .http
                .get(format!("{}/v1/tx/{id}", self.url))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if s["status"] != "pending" {
                assert_eq!(s["status"], "committed", "{s}");
                return s;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{id} not committed");
    }

    /// `who`'s access record for `dataset` (and `subject`), as the header.
    fn record(&mut self, who: &str, dataset: &str, subject: Option<Hash32>) -> (String, Envelope) {
        let mut entry = json!({"dataset": dataset, "operation": "read", "purpose": "审计抽查", "at": self.now()});
        if let Some(s) = subject {
            entry["subject"] = json!(s);
        }
        let env = self.sign(who, "access.record", json!({"entries": [entry]}));
        let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(serde_json::to_vec(&env).unwrap());
        (header, env)
    }

    /// GET `path_and_query` signed by `who` (created `skew` s from the
    /// node's clock) carrying `record`.
    async fn signed_get(
        &self,
        who: &str,
        path_and_query: &str,
        record: &str,
        skew: i64,
    ) -> (u16, Value, Option<String>) {
        let (path, query) = path_and_query
            .split_once('?')
            .map_or((path_and_query, "?".to_owned()), |(p, q)| {
                (p, format!("?{q}"))
            });
        let req = ReadRequest {
            method: "GET".into(),
            authority: self.authority.clone(),
            path: path.into(),
            query,
            access_record: record.into(),
            created: self.clock.load(Ordering::SeqCst) / 1000 + skew,
            key_id: key(who).key_id(),
        };
        let (input, sig) = req.sign(&key(who), &self.chain).unwrap();
        self.get(
            path_and_query,
            &[
                ("signature-input", &input),
                ("signature", &sig),
                ("govchain-access-record", record),
            ],
        )
        .await
    }

    async fn get(
        &self,
        path_and_query: &str,
        headers: &[(&str, &str)],
    ) -> (u16, Value, Option<String>) {
        let mut r = self.http.get(format!("{}{path_and_query}", self.url));
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        let r = r.send().await.unwrap();
        let tx = r
            .headers()
            .get("govchain-access-tx")
            .map(|v| v.to_str().unwrap().to_owned());
        (r.status().as_u16(), r.json().await.unwrap(), tx)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sensitive_queries_need_an_entitled_signed_read_and_are_recorded() {
    let dir = std::env::temp_dir().join(format!("govchain-reads-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let chain: ChainId = "reads".parse().unwrap();
    let depts = ["city-management", "fire", "bank", "audit"];
    let mut core = Core::open(
        &dir.join("chain.sqlite"),
        key("node-city-management"),
        "node.city.example",
        Some(&genesis(&chain, "govchain.example/reads", &depts, T0)),
        Limits::default(),
    )
    .unwrap();
    let clock = Arc::new(AtomicI64::new(T0 + 1000));
    core.set_clock(Clock::Manual(clock.clone()));
    let node = serve(core, 10).await;
    let mut n = Node {
        url: node.url.clone(),
        authority: node.authority.clone(),
        http: reqwest::Client::new(),
        chain,
        clock: clock.clone(),
        seqs: BTreeMap::from([("city-management-admin".to_owned(), 1)]),
    };
    // An auditor, a fire inspector, a bank checker, a certificate issued by
    // the city with the holder's consent for the bank.
    for (who, dept) in [
        ("auditor", "audit"),
        ("li", "fire"),
        ("checker", "bank"),
        ("issuer", "city-management"),
    ] {
        let pk = key(who).public_key();
        n.commit(
            &format!("{dept}-admin"),
            "official.register",
            json!({"department": dept, "name": who, "public_key": pk}),
        )
        .await;
    }
    let id = |w: &str| key(w).key_id();
    n.commit(
        "audit-admin",
        "role.grant",
        json!({"official": id("auditor"), "department": "audit", "role": "auditor", "scope": "*"}),
    )
    .await;
    n.commit("city-management-admin", "role.grant", json!({"official": id("issuer"), "department": "city-management", "role": "certificate-issuer", "scope": "*"}))
        .await;
    n.commit("issuer", "certificate.issue", json!({"cert_id": "C-1", "cert_type": "housing-fund-deposit",
        "commitment": Hash32::sha256(b"doc"), "subject": Hash32::ZERO, "holder_key": key("citizen").public_key()}))
        .await;
    let until = Timestamp::from_unix_millis(T0 + 86_400_000).unwrap();
    n.commit("citizen", "consent.grant", json!({"consent_id": "K-1", "cert_id": "C-1", "grantee": "bank", "until": until, "purpose": "loan"}))
        .await;

    // Unsigned: refused.
    let (s, v, _) = n.get("/v1/access", &[]).await;
    assert_eq!((s, v["code"].as_str()), (401, Some("read.unsigned")));

    // The auditor reads the access log: answered, and the read is recorded.
    let (rec, env) = n.record("auditor", "govchain/access-log", None);
    let (s, v, tx) = n
        .signed_get("auditor", "/v1/access?limit=10", &rec, 0)
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(tx, Some(env.id().unwrap().to_hex()));
    n.wait(&env.id().unwrap()).await;
    let (rec, env) = n.record("auditor", "govchain/access-log", None);
    let (s, v, _) = n
        .signed_get("auditor", "/v1/access?limit=10", &rec, 0)
        .await;
    assert_eq!(s, 200);
    let doc: Value = n
        .http
        .get(format!("{}/v1/openapi.json", n.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let documented = |path: &str, v: &Value| {
        support::conforms(&doc, support::success_schema(&doc, "get", path), v)
            .unwrap_or_else(|e| panic!("{path}: the answer is not as documented: {e}"));
    };
    documented("/v1/access", &v);
    let logged = v.as_array().unwrap();
    assert!(
        logged
            .iter()
            .any(|r| r["entry"]["dataset"] == "govchain/access-log"),
        "{v}"
    );
    n.wait(&env.id().unwrap()).await;

    // The same signature on another query, another signer's record, a stale
    // request, a record for another dataset: refused.
    let (rec, _) = n.record("auditor", "govchain/access-log", None);
    let req = ReadRequest {
        method: "GET".into(),
        authority: n.authority.clone(),
        path: "/v1/access".into(),
        query: "?limit=10".into(),
        access_record: rec.clone(),
        created: clock.load(Ordering::SeqCst) / 1000,
        key_id: id("auditor"),
    };
    let (input, sig) = req.sign(&key("auditor"), &n.chain).unwrap();
    let (s, v, _) = n
        .get(
            "/v1/access?limit=11",
            &[
                ("signature-input", &input),
                ("signature", &sig),
                ("govchain-access-record", &rec),
            ],
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (401, Some("read.bad_signature")),
        "altered query"
    );
    let (s, v, _) = n.signed_get("auditor", "/v1/access", &rec, -400).await;
    assert_eq!((s, v["code"].as_str()), (401, Some("read.stale")));
    let (others, _) = n.record("li", "govchain/access-log", None);
    let (s, v, _) = n.signed_get("auditor", "/v1/access", &others, 0).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (400, Some("read.bad_access_record"))
    );
    let (wrong, _) = n.record("auditor", "govchain/blacklist", None);
    let (s, v, _) = n.signed_get("auditor", "/v1/access", &wrong, 0).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (400, Some("read.bad_access_record"))
    );
    // Signed by a key that is no official's.
    let (s, v, _) = n.signed_get("stranger", "/v1/access", &rec, 0).await;
    assert_eq!((s, v["code"].as_str()), (401, Some("auth.unknown_signer")));

    // A fire inspector is not an auditor.
    let (rec, _) = n.record("li", "govchain/access-log", None);
    let (s, v, _) = n.signed_get("li", "/v1/access", &rec, 0).await;
    assert_eq!((s, v["code"].as_str()), (403, Some("read.forbidden")));

    // The certificate: the bank (consent) may read it, the fire department not.
    let (rec, env) = n.record("checker", "govchain/certificates/C-1", None);
    let (s, v, _) = n
        .signed_get("checker", "/v1/certificates/C-1", &rec, 0)
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["certificate"]["id"], "C-1");
    documented("/v1/certificates/{id}", &v);
    // The answer proves the certificate and its consent against a signed
    // block and checkpoint: the bank checks them without syncing the chain.
    let proofs: StateProofs = serde_json::from_value(v["proofs"].clone()).unwrap();
    let trust = CheckpointTrust {
        origin: "govchain.example/reads".into(),
        log_key: NoteKey::new(
            "node.city.example",
            ALG_ED25519,
            key("node-city-management").public_key(),
        )
        .unwrap(),
        witnesses: vec![],
        quorum: 0,
    };
    let node_key = |id: &KeyId| {
        let k = key("node-city-management").public_key();
        (k.key_id() == *id).then_some(k)
    };
    let entries = proofs.verify(&n.chain, node_key, &trust).unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].value.as_ref().unwrap(), &v["certificate"]);
    assert_eq!(entries[1].value.as_ref().unwrap(), &v["consents"][0]);
    let mut forged = proofs.clone();
    forged.entries[1].value.as_mut().unwrap()["until"] = json!("2099-01-01T00:00:00.000Z");
    let e = forged.verify(&n.chain, node_key, &trust).unwrap_err();
    assert!(e.code().starts_with("state_proof."), "{e}");
    n.wait(&env.id().unwrap()).await;
    let (rec, _) = n.record("li", "govchain/certificates/C-1", None);
    let (s, v, _) = n.signed_get("li", "/v1/certificates/C-1", &rec, 0).await;
    assert_eq!((s, v["code"].as_str()), (403, Some("read.forbidden")));

    // The blacklist: any official, with a record naming the subject.
    let subject = Hash32::sha256(b"salt|id-1");
    let (rec, env) = n.record("li", "govchain/blacklist", Some(subject));
    let (s, v, _) = n
        .signed_get("li", &format!("/v1/blacklist/{subject}"), &rec, 0)
        .await;
    assert_eq!((s, v), (200, json!([])));
    n.wait(&env.id().unwrap()).await;
    let (rec, _) = n.record("li", "govchain/blacklist", Some(Hash32::ZERO));
    let (s, v, _) = n
        .signed_get("li", &format!("/v1/blacklist/{subject}"), &rec, 0)
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (400, Some("read.bad_access_record")),
        "another subject"
    );

    node.stop().await;
}
