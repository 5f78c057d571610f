//! The node in-process on a random port: submit → committed → inclusion proof
//! verified against the signed checkpoint; bad input gets a 4xx with a code;
//! a restart re-verifies the stored chain; a tampered database is refused.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::too_many_lines,
    clippy::many_single_char_names
)]

use std::path::PathBuf;
use std::time::Duration;

use govchain_ledger::block::{Block, BlockDraft};
use govchain_ledger::merkle::{self, Frontier};
use govchain_ledger::note::{self, NoteKey, ALG_ED25519};
use govchain_ledger::state::{SigCheck, State};
use govchain_ledger::tx::{Envelope, TxBody};
use govchain_ledger::types::{ChainId, Hash32, Timestamp};
use govchain_node::{Core, Limits};
use serde_json::{json, Value};
mod support;
use support::{key, serve, Running};

fn chain() -> ChainId {
    "node-test".parse().unwrap()
}

fn signed(who: &str, seq: u64, kind: &str, payload: Value) -> Envelope {
    let k = key(who);
    Envelope::sign(
        &k,
        TxBody {
            chain_id: chain(),
            signer: k.key_id(),
            seq,
            kind: kind.into(),
            payload,
            created_at: Timestamp::from_unix_millis(1_795_000_000_000).unwrap(),
        },
    )
    .unwrap()
}

fn genesis_block() -> Block {
    let g = signed(
        "admin",
        1,
        "consortium.genesis",
        json!({"origin": "govchain.example/node-test", "consortium_threshold": 1, "departments": [
            {"id": "city-management", "name": "城市管理局", "node_key": key("node").public_key(),
             "admins": [{"name": "admin", "public_key": key("admin").public_key()}], "admin_threshold": 1}]}),
    );
    let draft = |digest| BlockDraft {
        chain_id: chain(),
        height: 0,
        prev_hash: Hash32::ZERO,
        time: Timestamp::from_unix_millis(1_795_000_000_000).unwrap(),
        txs: vec![g.clone()],
        state_root: digest,
    };
    let probe = Block::seal(&key("node"), draft(Hash32::ZERO), &mut Frontier::default()).unwrap();
    let state = State::new().apply_block(&probe, SigCheck::Verify).unwrap();
    Block::seal(
        &key("node"),
        draft(state.digest().unwrap()),
        &mut Frontier::default(),
    )
    .unwrap()
}

fn temp_db(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("govchain-node-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("chain.sqlite")
}

async fn start(db: &std::path::Path, genesis: Option<&Block>) -> Running {
    let core = Core::open(
        db,
        key("node"),
        "node.city.example",
        genesis,
        Limits::default(),
    )
    .unwrap();
    serve(core, 20).await
}

async fn post(client: &reqwest::Client, url: &str, body: Vec<u8>) -> (u16, Value) {
    let r = client.post(url).body(body).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn metrics_text(client: &reqwest::Client, base: &str) -> String {
    client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn wait_committed(client: &reqwest::Client, base: &str, id: &str) -> Value {
    for _ in 0..200 {
        let v: Value = client
            .get(format!("{base}/v1/tx/{id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if v["status"] != "pending" {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{id} never left pending");
}

#[tokio::test]
async fn submit_commit_prove_restart_and_refuse_tampering() {
    let db = temp_db("main");
    let genesis = genesis_block();
    let node = start(&db, Some(&genesis)).await;
    let client = reqwest::Client::new();
    let base = node.url.clone();

    // Live events: subscribe before submitting.
    let mut events = client
        .get(format!("{base}/v1/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(events.status().as_u16(), 200);

    // Submit a registration; it commits; submitting it again is idempotent.
    let tx = signed(
        "admin",
        2,
        "official.register",
        json!({"department": "city-management", "name": "张三", "public_key": key("zhang").public_key()}),
    );
    let id = tx.id().unwrap().to_hex();
    let (code, v) = post(
        &client,
        &format!("{base}/v1/tx"),
        serde_json::to_vec(&tx).unwrap(),
    )
    .await;
    assert_eq!((code, v["status"].as_str()), (200, Some("pending")), "{v}");
    let done = wait_committed(&client, &base, &id).await;
    assert_eq!(done["status"], "committed", "{done}");
    assert_eq!(done["tx"]["body"]["kind"], "official.register");
    let (_, again) = post(
        &client,
        &format!("{base}/v1/tx"),
        serde_json::to_vec(&tx).unwrap(),
    )
    .await;
    assert_eq!(again["status"], "committed");

    let mut seen = String::new();
    while !seen.contains("event: checkpoint") {
        let chunk = tokio::time::timeout(Duration::from_secs(5), events.chunk())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(
        seen.contains("event: block") && seen.contains("\"height\":1"),
        "{seen}"
    );

    // State queries.
    let zhang = key("zhang").key_id().to_hex();
    let get = |path: String| {
        let client = client.clone();
        async move {
            let r = client.get(path).send().await.unwrap();
            (
                r.status().as_u16(),
                r.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let (s, o) = get(format!("{base}/v1/officials/{zhang}")).await;
    assert_eq!(
        (s, o["official"]["name"].as_str()),
        (200, Some("张三")),
        "{o}"
    );
    assert_eq!(
        get(format!("{base}/v1/inbox/{zhang}")).await,
        (200, json!([]))
    );
    // Sensitive queries answer only signed reads (tests/signed_reads.rs).
    for path in [
        "/v1/access".to_owned(),
        format!("/v1/blacklist/{}", Hash32::ZERO),
        "/v1/certificates/NOPE".to_owned(),
    ] {
        let (s, v) = get(format!("{base}{path}")).await;
        assert_eq!(
            (s, v["code"].as_str()),
            (401, Some("read.unsigned")),
            "{path}"
        );
    }
    for (path, status, code) in [
        ("/v1/cases/NOPE".to_owned(), 404, "node.not_found"),
        ("/v1/projects/NOPE/trace".to_owned(), 404, "node.not_found"),
        ("/v1/officials/zz".to_owned(), 400, "crypto.encoding"),
        ("/v1/cases/has%20space".to_owned(), 400, "node.bad_id"),
        ("/v1/templates/NOPE".to_owned(), 404, "node.not_found"),
        ("/v1/templates/has%20space".to_owned(), 400, "node.bad_id"),
        // Extractor failures are JSON errors too, and page sizes are bounded.
        ("/v1/blocks/-1".to_owned(), 400, "node.bad_path"),
        ("/v1/blocks?from=false".to_owned(), 400, "node.bad_query"),
        ("/v1/blocks?limit=101".to_owned(), 400, "node.bad_query"),
        ("/v1/blocks?limit=0".to_owned(), 400, "node.bad_query"),
        (
            "/v1/proof/consistency?size1=1".to_owned(),
            400,
            "node.bad_query",
        ),
    ] {
        let (s, v) = get(format!("{base}{path}")).await;
        assert_eq!(
            (s, v["code"].as_str().unwrap_or("")),
            (status, code),
            "{path}: {v}"
        );
    }
    let metrics = metrics_text(&client, &base).await;
    assert!(
        metrics.contains("govchain_committed_tx_total 1"),
        "{metrics}"
    );
    assert!(metrics.contains("govchain_block_height 1"), "{metrics}");
    // The start-up check of the stored cases reports when it has passed.
    let mut checked = metrics;
    for _ in 0..500 {
        if checked.contains("govchain_stored_cases_check_done 1\n") {
            break;
        }
        assert!(
            checked.contains("govchain_stored_cases_check_done 0\n"),
            "{checked}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        checked = metrics_text(&client, &base).await;
    }
    assert!(
        checked.contains("govchain_stored_cases_check_done 1\n"),
        "{checked}"
    );

    // The inclusion proof verifies against the node's signed checkpoint.
    let note_text = client
        .get(format!("{base}/v1/checkpoint"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let log_key = NoteKey::new("node.city.example", ALG_ED25519, key("node").public_key()).unwrap();
    let cp = note::verify_checkpoint(&note_text, "govchain.example/node-test", &log_key, &[], 0)
        .unwrap();
    let p: Value = client
        .get(format!(
            "{base}/v1/proof/inclusion/{id}?tree_size={}",
            cp.checkpoint.size
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let proof =
        merkle::InclusionProof::from_json(&serde_json::to_vec(&p["proof"]).unwrap()).unwrap();
    let leaf = merkle::leaf_hash(&tx.leaf_bytes().unwrap());
    merkle::verify_inclusion(
        proof.leaf_index,
        proof.tree_size,
        &leaf.0,
        &proof.path,
        &cp.checkpoint.root.0,
    )
    .unwrap();

    // Bad input: a 4xx with a code, never a 5xx.
    let cases: Vec<(Vec<u8>, u16, &str)> = vec![
        (b"{not json".to_vec(), 400, "jcs.syntax"),
        (
            b"{\"body\":1,\"body\":2}".to_vec(),
            400,
            "jcs.duplicate_key",
        ),
        (b"[]".to_vec(), 400, "tx.shape"),
        (vec![b' '; 9 * 1024 * 1024], 413, "node.body_too_large"),
    ];
    for (body, status, code) in cases {
        let (s, v) = post(&client, &format!("{base}/v1/tx"), body).await;
        assert_eq!((s, v["code"].as_str().unwrap_or("")), (status, code), "{v}");
    }
    // The cosignature endpoint answers an oversized body as JSON too.
    let (s, v) = post(
        &client,
        &format!("{base}/v1/checkpoint/cosignatures"),
        vec![b' '; 9 * 1024 * 1024],
    )
    .await;
    assert_eq!(
        (s, v["code"].as_str().unwrap_or("")),
        (413, "node.body_too_large"),
        "{v}"
    );
    let mut forged = signed(
        "admin",
        3,
        "official.register",
        json!({"department": "city-management", "name": "x", "public_key": key("x").public_key()}),
    );
    let mut sig = *forged.sig.as_bytes();
    sig[0] ^= 1;
    forged.sig = govchain_ledger::crypto::Signature::from_bytes(sig);
    let rejections = vec![
        (forged, "tx.bad_signature"),
        (
            signed(
                "admin",
                2,
                "official.register",
                json!({"department": "city-management", "name": "y", "public_key": key("y").public_key()}),
            ),
            "tx.replayed",
        ),
        (
            signed("admin", 3, "case.teleport", json!({})),
            "tx.unknown_kind",
        ),
        (
            signed(
                "nobody",
                1,
                "case.withdraw",
                json!({"case_id": "c", "reason": "r"}),
            ),
            "auth.unknown_signer",
        ),
    ];
    for (env, code) in rejections {
        let (s, v) = post(
            &client,
            &format!("{base}/v1/tx"),
            serde_json::to_vec(&env).unwrap(),
        )
        .await;
        assert_eq!((s, v["code"].as_str().unwrap_or("")), (422, code), "{v}");
    }
    // A batch: each item answered in place.
    let good = signed(
        "admin",
        3,
        "official.register",
        json!({"department": "city-management", "name": "李四", "public_key": key("li").public_key()}),
    );
    let mut bad = signed(
        "admin",
        4,
        "official.register",
        json!({"department": "city-management", "name": "x", "public_key": key("x").public_key()}),
    );
    let mut sig = *bad.sig.as_bytes();
    sig[5] ^= 1;
    bad.sig = govchain_ledger::crypto::Signature::from_bytes(sig);
    let batch = json!([good, bad, {"body": 1}]);
    let (s, v) = post(
        &client,
        &format!("{base}/v1/txs"),
        serde_json::to_vec(&batch).unwrap(),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let codes: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().or(r["status"].as_str()).unwrap())
        .collect();
    assert_eq!(codes, ["pending", "tx.bad_signature", "tx.shape"], "{v}");
    let (s, v) = post(&client, &format!("{base}/v1/txs"), b"{}".to_vec()).await;
    assert_eq!((s, v["code"].as_str()), (400, Some("tx.shape")));
    wait_committed(&client, &base, &good.id().unwrap().to_hex()).await;

    let r = client
        .get(format!("{base}/v1/tx/nothex"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let r = client
        .get(format!("{base}/v1/blocks/999"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let blocks: Value = client
        .get(format!("{base}/v1/blocks?from=0&limit=100"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(blocks["blocks"].as_array().unwrap().len(), 3);
    // Served from the read pool as stored: still a verifiable chain.
    let mut cursor = govchain_ledger::block::ChainCursor::genesis(chain());
    for b in blocks["blocks"].as_array().unwrap() {
        let b = Block::from_json(b.to_string().as_bytes()).unwrap();
        cursor
            .verify_next(&b, |_| Some(key("node").public_key()))
            .unwrap();
    }
    let one = client
        .get(format!("{base}/v1/blocks/1"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(Block::from_json(&one).unwrap().header.height, 1);

    // Restart from the database alone: the same chain, from its stored state.
    let before: Value = client
        .get(format!("{base}/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    node.stop().await;
    let node = start(&db, None).await;
    let after: Value = client
        .get(format!("{}/healthz", node.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (before["height"].clone(), before["log_size"].clone()),
        (after["height"].clone(), after["log_size"].clone())
    );
    node.stop().await;

    // Tamper with a past block: the node starts from its stored state
    // without replaying, and `verify-chain`'s full replay finds it.
    let conn = rusqlite_conn(&db);
    conn.execute(
        "UPDATE blocks SET block = replace(block, '张三', '李四') WHERE height = 1",
        [],
    )
    .unwrap();
    support::assert_chain_corrupt(&db);
    // Tamper with the head block's transactions: refused at start (the
    // head block is checked against the stored log).
    support::tamper_head_block(&conn);
    drop(conn);
    let err = Core::open(
        &db,
        key("node"),
        "node.city.example",
        None,
        Limits::default(),
    )
    .unwrap_err();
    assert_eq!(
        govchain_ledger::ErrorCode::code(&err),
        "node.corrupt",
        "{err}"
    );
}

fn rusqlite_conn(db: &std::path::Path) -> rusqlite::Connection {
    rusqlite::Connection::open(db).unwrap()
}

/// Every route the router serves is in the OpenAPI document.
#[tokio::test]
async fn openapi_documents_every_route() {
    let db = temp_db("openapi");
    let node = start(&db, Some(&genesis_block())).await;
    let doc: Value = reqwest::get(format!("{}/v1/openapi.json", node.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{doc}");
    // The routes are declared in the API module's files.
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/api");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let src: String = files
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    let routes: Vec<String> = src
        .split(".route(\"")
        .skip(1)
        .filter_map(|r| r.split('"').next())
        .filter(|r| *r != "/v1/openapi.json")
        .map(|r| r.replace("{*", "{"))
        .collect();
    assert!(routes.len() >= 19, "{routes:?}");
    for r in routes {
        assert!(
            doc["paths"].get(&r).is_some(),
            "{r} is not in the OpenAPI document"
        );
    }
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    node.stop().await;
}

/// Whether `schema` says nothing about its shape: `{}`, or an object with
/// neither properties nor a reference nor alternatives; an array whose
/// items say nothing. References are followed into `components`.
fn schema_is_bare(doc: &Value, schema: &Value) -> bool {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.trim_start_matches("#/components/schemas/");
        let target = &doc["components"]["schemas"][name];
        return target.is_null() || schema_is_bare(doc, target);
    }
    let Some(obj) = schema.as_object() else {
        return true;
    };
    if obj.is_empty() {
        return true;
    }
    if ["oneOf", "anyOf", "allOf"]
        .iter()
        .any(|k| obj.contains_key(*k))
    {
        return false;
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if types.contains(&"array") {
        return schema_is_bare(doc, &schema["items"]);
    }
    if types.contains(&"object") || types.is_empty() {
        return schema["properties"]
            .as_object()
            .is_none_or(serde_json::Map::is_empty)
            && schema["additionalProperties"].is_null();
    }
    false
}

/// Every success response in the served OpenAPI document has a schema that
/// says what it holds: no missing content schema, no bare `{}` or
/// property-less object at the top of a response.
#[tokio::test]
async fn every_success_response_has_a_typed_schema() {
    let db = temp_db("openapi-schemas");
    let node = start(&db, Some(&genesis_block())).await;
    let doc: Value = reqwest::get(format!("{}/v1/openapi.json", node.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut checked = 0;
    let mut bare = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for (status, response) in op["responses"].as_object().unwrap() {
                if !status.starts_with('2') {
                    continue;
                }
                let content = response["content"].as_object();
                let Some(content) = content.filter(|c| !c.is_empty()) else {
                    bare.push(format!("{method} {path} {status}: no content"));
                    continue;
                };
                for (media, body) in content {
                    checked += 1;
                    if schema_is_bare(&doc, &body["schema"]) {
                        bare.push(format!(
                            "{method} {path} {status} {media}: {}",
                            body["schema"]
                        ));
                    }
                }
            }
        }
    }
    assert!(checked >= 21, "only {checked} success responses");
    assert!(bare.is_empty(), "untyped success responses: {bare:#?}");
    // The check itself catches what it should.
    assert!(schema_is_bare(&doc, &json!({})));
    assert!(schema_is_bare(&doc, &json!({"type": "object"})));
    assert!(schema_is_bare(&doc, &json!({"type": "array", "items": {}})));
    assert!(!schema_is_bare(
        &doc,
        &json!({"$ref": "#/components/schemas/ErrorBody"})
    ));
    // And what the node sends is what the schemas say.
    let zeros = "0".repeat(64);
    for (template, path) in [
        ("/healthz", "/healthz".to_owned()),
        ("/v1/blocks", "/v1/blocks".to_owned()),
        ("/v1/blocks/{height}", "/v1/blocks/0".to_owned()),
        ("/v1/tx/{id}", format!("/v1/tx/{zeros}")),
        ("/v1/state/{key}", "/v1/state/meta".to_owned()),
        ("/v1/state/{key}", "/v1/state/case/RC-404".to_owned()),
    ] {
        let v: Value = reqwest::get(format!("{}{path}", node.url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let schema = support::success_schema(&doc, "get", template);
        support::conforms(&doc, schema, &v).unwrap_or_else(|e| panic!("{path}: {e}"));
    }
    let wrong = json!({"status": "ok"});
    let health = support::success_schema(&doc, "get", "/healthz");
    assert!(support::conforms(&doc, health, &wrong).is_err());
    node.stop().await;
}

/// One client over its request rate gets 429 `node.rate_limited`; the
/// node keeps serving (and the limit can be turned off: `requests_per_sec` 0).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_over_its_rate_is_told_to_slow_down() {
    let db = temp_db("rate");
    let limits = Limits {
        requests_per_sec: 5,
        ..Limits::default()
    };
    let core = Core::open(
        &db,
        key("node"),
        "node.city.example",
        Some(&genesis_block()),
        limits,
    )
    .unwrap();
    let node = serve(core, 20).await;
    let url = node.url.clone();
    let client = reqwest::Client::new();
    let mut codes = Vec::new();
    for _ in 0..30 {
        let r = client.get(format!("{url}/healthz")).send().await.unwrap();
        let status = r.status().as_u16();
        let v: Value = r.json().await.unwrap();
        codes.push((status, v["code"].as_str().unwrap_or("").to_owned()));
    }
    let ok = codes.iter().filter(|(s, _)| *s == 200).count();
    assert!(
        (10..=12).contains(&ok),
        "a burst of twice the rate: {codes:?}"
    );
    assert!(codes
        .iter()
        .all(|(s, c)| *s == 200 || (*s == 429 && c == "node.rate_limited")));
    tokio::time::sleep(Duration::from_millis(400)).await;
    let r = client.get(format!("{url}/healthz")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200, "tokens come back with time");
    node.stop().await;
}
