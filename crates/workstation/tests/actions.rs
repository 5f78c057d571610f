//! Officials' actions from the desktop against the embedded demo node: what
//! the chain lets this key do, case intake with documents from the local
//! store and a hashed applicant, the shared blacklist (add, signed lookup
//! recorded on the ledger, remove), the consortium identity key in the
//! keychain — and that no identity number reaches a payload, the cache,
//! the node or the logs. Real Secret Service: run under
//! `scripts/with-keyring.sh`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

use base64::Engine as _;
use govchain_ledger::identity::{identity_hash, DocumentType};
use govchain_ledger::types::Hash32;
use govchain_ledger::ErrorCode as _;
use govchain_workstation::demo::{demo_identity_key, DemoNode};
use govchain_workstation::dto::{Capability, DocumentState, LookupCheck, PersonRef, SignRequest};
use govchain_workstation::Workstation;

mod support;
use support::{capture_logs, keyring_available, open_quiet, temp_dir, until_committed};

/// A resident ID as a clerk might type it: full-width digits, spaces, a
/// lowercase check character.
const TYPED_ID: &str = "１１０１０５ 19491231 002x";
const NORMALIZED_ID: &str = "11010519491231002X";

fn person() -> PersonRef {
    PersonRef::Number {
        doc_type: "cn-rid".into(),
        number: TYPED_ID.into(),
    }
}

fn subject_hash() -> Hash32 {
    identity_hash(&demo_identity_key(), DocumentType::CnResidentId, TYPED_ID).unwrap()
}

/// Adds `bytes` to the store the way the UI does: in base64 chunks.
fn upload(ws: &Workstation, name: &str, bytes: &[u8]) -> String {
    let id = ws.document_begin().unwrap();
    for part in bytes.chunks(1000) {
        let b64 = base64::engine::general_purpose::STANDARD.encode(part);
        ws.document_chunk(&id, &b64).unwrap();
    }
    ws.document_finish(&id, name).unwrap().sha256
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intake_and_blacklist_from_the_desktop_leak_no_identity_number() {
    if !keyring_available() {
        return;
    }
    let logs = capture_logs();
    let dir = temp_dir("actions");
    let service = format!("govchain-test-actions-{}", std::process::id());
    let ws = open_quiet(&dir, &service);
    ws.start_network().await.unwrap();
    let key = ws.create_key("窗口受理员").await.unwrap();
    ws.sync().await.unwrap();

    // What the chain lets this key do, and the demo's identity key.
    let caps = ws.capabilities().unwrap();
    for c in [
        Capability::OpenCase,
        Capability::BlacklistLookup,
        Capability::BlacklistEdit,
    ] {
        assert!(caps.may.contains(&c), "{caps:?}");
    }
    // The demo also makes the user one of the fire department's admins.
    assert!(caps.may.contains(&Capability::Admin), "{caps:?}");
    assert_eq!(caps.department.as_deref(), Some("fire"));
    assert_eq!(caps.identity_key, Some(demo_identity_key().key_id()));
    let templates = ws.templates().unwrap();
    let reno = templates
        .iter()
        .find(|t| t.id == "old-city-renovation" && t.latest)
        .expect("the renovation template");
    assert_eq!(reno.stages.len(), 4);

    // Two documents: chunked like the UI, and from a file on disk.
    let plan: Vec<u8> = (0..5000u32).map(|i| (i % 253) as u8).collect();
    let plan_hash = upload(&ws, "总平面图.pdf", &plan);
    assert_eq!(plan_hash, Hash32::sha256(&plan).to_hex());
    let form = dir.join("申请表.txt");
    std::fs::write(&form, "北山街 12 号 老旧小区改造申请").unwrap();
    let form_hash = ws.documents().add_file(&form).unwrap().sha256;

    // A document the store does not hold is refused before anything is built.
    let absent = Hash32::sha256(b"never added").to_hex();
    let open_req = |documents: Vec<String>, applicant: Option<PersonRef>| SignRequest::OpenCase {
        case_id: String::new(),
        template: reno.id.clone(),
        version: reno.version,
        scope: "hz/xihu".into(),
        title: "北山街12号老旧小区改造".into(),
        applicant,
        documents,
    };
    let e = ws
        .prepare(&open_req(vec![absent], Some(person())))
        .unwrap_err();
    assert_eq!(e.code(), "not_found", "{e}");
    let e = ws
        .prepare(&open_req(
            vec![],
            Some(PersonRef::Number {
                doc_type: "cn-rid".into(),
                number: "110105194912310021".into(),
            }),
        ))
        .unwrap_err();
    assert_eq!(e.code(), "identity.bad_id_number", "{e}");

    // A number typed into the title would go on the ledger for good.
    let mut titled = open_req(vec![], None);
    if let SignRequest::OpenCase { title, .. } = &mut titled {
        *title = format!("申请人 {TYPED_ID} 的改造申请");
    }
    assert_eq!(ws.prepare(&titled).unwrap_err().code(), "request.invalid");

    // Intake: the applicant goes on chain only as its identity hash.
    let p = ws
        .prepare(&open_req(
            vec![plan_hash.clone(), form_hash.clone()],
            Some(person()),
        ))
        .unwrap();
    assert!(p.would_reject.is_none(), "{p:?}");
    assert!(
        p.canonical_json
            .contains(&format!("\"applicant\":\"{}\"", subject_hash().to_hex())),
        "{}",
        p.canonical_json
    );
    let body: serde_json::Value = serde_json::from_str(&p.canonical_json).unwrap();
    let case_id = body["payload"]["case_id"].as_str().unwrap().to_owned();
    assert!(case_id.starts_with("C-20"), "{case_id}");
    let item = ws.confirm(&p.preview_id).unwrap();
    until_committed(&ws, &item.id).await;
    let receipt = ws
        .save_report("receipt", &case_id, &dir.join("reports"))
        .await
        .unwrap();
    let pdf = std::fs::read(&receipt.path).unwrap();
    assert!(pdf.starts_with(b"%PDF-") && receipt.bytes == pdf.len() as u64);
    let case = ws.case_detail(&case_id).unwrap();
    assert_eq!(case.applicant, Some(subject_hash().to_hex()));
    assert_eq!(case.documents, vec![plan_hash.clone(), form_hash.clone()]);
    let checks = ws.check_documents(&case.documents).unwrap();
    assert!(checks.iter().all(|c| c.state == DocumentState::Matches));
    assert_eq!(checks[0].name.as_deref(), Some("总平面图.pdf"));
    // A file changed after the fact no longer matches the ledger's hash.
    std::fs::write(dir.join("documents").join(&form_hash), b"edited").unwrap();
    let checks = ws.check_documents(&case.documents).unwrap();
    assert_eq!(checks[1].state, DocumentState::Altered);

    // The blacklist: add (hashing the typed number), refused twice.
    let add = SignRequest::BlacklistAdd {
        subject: person(),
        reason: "loan-default".into(),
    };
    let p = ws.prepare(&add).unwrap();
    assert!(p.would_reject.is_none(), "{p:?}");
    let item = ws.confirm(&p.preview_id).unwrap();
    until_committed(&ws, &item.id).await;
    let again = ws.prepare(&add).unwrap();
    assert_eq!(
        again.would_reject.map(|r| r.code),
        Some("blacklist.exists".to_owned())
    );
    let listed = ws.blacklist_entries().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].subject, subject_hash().to_hex());

    // A lookup is a signed read the ledger records; its answer matches the
    // verified chain.
    let found = ws
        .blacklist_lookup(person(), "公积金贷款审批前核查")
        .await
        .unwrap();
    assert_eq!(found.check, LookupCheck::Matches, "{found:?}");
    assert_eq!(found.entries.len(), 1);
    assert_eq!(found.entries[0].reason, "loan-default");
    assert_eq!(found.entries[0].department, "fire");
    until_committed(&ws, &found.access_tx).await;
    let reads = ws.access_log(None, Some("govchain/blacklist"), 10).unwrap();
    assert!(
        reads.iter().any(|r| r.tx_id == found.access_tx
            && r.subject.as_deref() == Some(subject_hash().to_hex().as_str())),
        "{reads:?}"
    );
    // A lookup needs a purpose: it is recorded with the read.
    let e = ws.blacklist_lookup(person(), " ").await.unwrap_err();
    assert_eq!(e.code(), "request.invalid", "{e}");

    // Remove by the listed hash; a second lookup finds nothing.
    let p = ws
        .prepare(&SignRequest::BlacklistRemove {
            subject: PersonRef::Hash {
                hash: listed[0].subject.clone(),
            },
            reason: "loan-default".into(),
        })
        .unwrap();
    let item = ws.confirm(&p.preview_id).unwrap();
    until_committed(&ws, &item.id).await;
    let after = ws.blacklist_lookup(person(), "复核").await.unwrap();
    assert!(
        after.entries.is_empty() && after.check == LookupCheck::Matches,
        "{after:?}"
    );
    assert!(ws.blacklist_entries().unwrap().is_empty());

    // No identity number anywhere: logs, caches, the node's database.
    let mut haystack = logs.bytes();
    let mut files = 0;
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().contains(".sqlite") {
                files += 1;
                haystack.extend(std::fs::read(&p).unwrap());
            }
        }
    }
    assert!(files >= 2, "the databases were not found");
    let text = String::from_utf8_lossy(&haystack);
    for needle in [NORMALIZED_ID, "19491231002", "１１０１０５"] {
        assert!(!text.contains(needle), "{needle} found");
    }
    ws.delete_key(&key.key_id).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_identity_key_nothing_is_hashed_until_it_is_imported() {
    if !keyring_available() {
        return;
    }
    let node_dir = temp_dir("actions-node");
    let dir = temp_dir("actions-nokey");
    let service = format!("govchain-test-nokey-{}", std::process::id());
    let node = DemoNode::start(&node_dir).await.unwrap();
    let ws = open_quiet(&dir, &service);
    ws.set_nodes(vec![node.url().to_owned()]).await.unwrap();
    let key = ws.create_key("黑名单管理员").await.unwrap();
    let pk = govchain_node::config::parse_public_key(&key.public_key).unwrap();
    node.register_user(&pk, "黑名单管理员").unwrap();
    ws.sync().await.unwrap();
    assert_eq!(ws.capabilities().unwrap().identity_key, None);

    let add = SignRequest::BlacklistAdd {
        subject: person(),
        reason: "loan-default".into(),
    };
    let e = ws.prepare(&add).unwrap_err();
    assert_eq!(e.code(), "identity_key.none");
    assert!(e.to_string().contains("Settings"), "{e}");
    let e = ws.blacklist_lookup(person(), "核查").await.unwrap_err();
    assert_eq!(e.code(), "identity_key.none");
    // A hash already known needs no key.
    let p = ws
        .prepare(&SignRequest::BlacklistAdd {
            subject: PersonRef::Hash {
                hash: subject_hash().to_hex(),
            },
            reason: "loan-default".into(),
        })
        .unwrap();
    assert!(p.would_reject.is_none(), "{p:?}");

    assert_eq!(
        ws.import_identity_key("not hex").unwrap_err().code(),
        "identity.bad_key"
    );
    let hex_key = hex::encode(demo_identity_key().as_bytes());
    let caps = ws.import_identity_key(&hex_key).unwrap();
    assert_eq!(caps.identity_key, Some(demo_identity_key().key_id()));
    let p = ws.prepare(&add).unwrap();
    assert!(p.canonical_json.contains(&subject_hash().to_hex()));

    // Signed while the node is away: a lookup would overtake it, so it waits.
    node.stop().await.unwrap();
    let queued = ws.confirm(&p.preview_id).unwrap();
    assert_eq!(queued.status, "queued");
    let e = ws.blacklist_lookup(person(), "核查").await.unwrap_err();
    assert_eq!(e.code(), "request.invalid", "{e}");
    assert!(e.to_string().contains("waiting to be sent"), "{e}");
    // Two previews of one sequence number: the second is prepared again.
    let a = ws.prepare(&add).unwrap();
    let b = ws
        .prepare(&SignRequest::BlacklistAdd {
            subject: person(),
            reason: "subsidy-fraud".into(),
        })
        .unwrap();
    assert_eq!(a.seq, b.seq);
    assert_ne!(a.preview_id, b.preview_id);
    ws.confirm(&a.preview_id).unwrap();
    assert_eq!(
        ws.confirm(&b.preview_id).unwrap_err().code(),
        "sign.unknown_preview"
    );
    ws.delete_key(&key.key_id).unwrap();
}
