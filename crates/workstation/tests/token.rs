//! An official whose key lives on a hardware token (SoftHSM2 over PKCS#11,
//! a real module): the key is made on the token, registered, and signs a
//! case step that the ledger commits; a wrong PIN, a locked token and a
//! pulled token (its module finalised) sign nothing and queue nothing; an
//! idle token locks itself; and the PIN is nowhere — not in a log, a cache
//! or anything the core hands the UI.
//!
//! One test: finalising the module ends it for the whole process.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

use govchain_ledger::ErrorCode as _;
use govchain_token::softhsm::SoftHsm;
use govchain_token::Module;
use govchain_workstation::demo::DEMO_CASE;
use govchain_workstation::dto::{SignRequest, StepDecision};
use govchain_workstation::Workstation;
use zeroize::Zeroizing;

mod support;
use support::{capture_logs, files_below, open_quiet, temp_dir, until_committed};

/// Not hex, so that no digest in a database can contain it by chance.
const PIN: &str = "Qz7-wKp9";
const TOKEN: &str = "GovKey-Fire";

fn pin(p: &str) -> Zeroizing<String> {
    Zeroizing::new(p.to_owned())
}

fn approve(comment: &str) -> SignRequest {
    SignRequest::SignStep {
        case_id: DEMO_CASE.into(),
        stage: 1,
        decision: StepDecision::Approve,
        comment: comment.into(),
        attachments: vec![],
    }
}

fn outbox_len(ws: &Workstation) -> usize {
    ws.outbox().unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_official_signs_with_a_key_on_a_hardware_token() {
    let logs = capture_logs();
    let dir = temp_dir("token");
    let hsm = SoftHsm::in_dir(&dir.join("hsm")).unwrap();
    hsm.init_token(TOKEN, PIN).unwrap();
    let module = hsm.module.display().to_string();
    let service = format!("govchain-test-token-{}", std::process::id());
    let ws = open_quiet(&dir.join("ws"), &service);
    ws.start_network().await.unwrap();
    // Everything the core hands the UI, serialized as it crosses IPC.
    let mut ipc: Vec<String> = Vec::new();
    let mut seen = |v: &dyn erased::Json| ipc.push(v.json());

    let overview = ws.token_overview(Some(&module)).unwrap();
    seen(&overview);
    assert!(overview.installed.contains(&module), "{overview:?}");
    assert_eq!(overview.tokens.len(), 1);
    let token = &overview.tokens[0];
    assert_eq!(token.label, TOKEN);
    assert!(token.keys.is_empty() && !token.unlocked);

    // A wrong PIN makes no key.
    let e = ws
        .token_create_key(&module, TOKEN, pin("000000"), "消防审批员")
        .await
        .unwrap_err();
    assert_eq!(e.code(), "token.pin_incorrect");
    assert!(ws.keys().unwrap().is_empty());

    // The key is made on the token and registered by the demo consortium.
    let key = ws
        .token_create_key(&module, &token.serial, pin(PIN), "消防审批员")
        .await
        .unwrap();
    seen(&key);
    assert!(key.active && !key.in_keychain, "{key:?}");
    let on = key.token.clone().expect("a token key");
    assert_eq!(
        (on.token_label.as_str(), on.module.as_str()),
        (TOKEN, module.as_str())
    );
    assert_eq!(
        ws.export_backup("a long enough passphrase")
            .unwrap_err()
            .code(),
        "key.on_token"
    );
    ws.sync().await.unwrap();
    let keys = ws.keys().unwrap();
    seen(&keys);
    let official = keys[0].official.clone().expect("registered on the chain");
    assert_eq!(official.department, "fire");
    let request = ws.registration_request("消防审批员", "fire").unwrap();
    let text: serde_json::Value = serde_json::from_str(&request.text).unwrap();
    assert_eq!(text["key_storage"]["kind"], "pkcs11");
    assert_eq!(text["key_storage"]["token_label"], TOKEN);
    let e = ws.token_overview(Some("libsofthsm2.so")).unwrap_err();
    assert_eq!(e.code(), "token.module");
    let listed = ws.token_overview(None).unwrap();
    seen(&listed);
    assert_eq!(listed.module.as_deref(), Some(module.as_str()));
    assert!(listed.tokens[0].unlocked);
    assert_eq!(listed.tokens[0].keys.len(), 1);
    assert!(listed.tokens[0].keys[0].added);

    // Locked: the preview says so, and confirming signs and queues nothing.
    ws.token_lock().unwrap();
    let p = ws
        .prepare(&approve("消防通道符合规范（UKey 签署）"))
        .unwrap();
    seen(&p);
    assert!(p.would_reject.is_none(), "{p:?}");
    let signing = p.token.clone().expect("a token signature");
    assert!(!signing.unlocked);
    assert_eq!(signing.token_label, TOKEN);
    let queued = outbox_len(&ws);
    assert_eq!(
        ws.confirm(&p.preview_id).unwrap_err().code(),
        "token.pin_required"
    );
    assert_eq!(outbox_len(&ws), queued);

    // A wrong PIN: refused with a clear code, nothing queued.
    let e = ws.token_unlock(&pin("123456")).unwrap_err();
    assert_eq!(e.code(), "token.pin_incorrect");
    assert!(e.to_string().contains("PIN"), "{e}");
    assert_eq!(
        ws.confirm(&p.preview_id).unwrap_err().code(),
        "token.pin_required"
    );
    assert_eq!(outbox_len(&ws), queued);

    // The PIN: the same preview signs, and the ledger commits it (the node
    // checked the token's signature with the registered key).
    ws.token_unlock(&pin(PIN)).unwrap();
    let item = ws.confirm(&p.preview_id).unwrap();
    seen(&item);
    let height = until_committed(&ws, &item.id).await;
    assert!(height > 0);
    let case = ws.case_detail(DEMO_CASE).unwrap();
    seen(&case);
    assert!(
        case.timeline.iter().any(
            |e| e.comment == "消防通道符合规范（UKey 签署）" && e.official.name == "消防审批员"
        ),
        "{case:?}"
    );

    // Pulled out mid-session: the module is finalised under the session.
    let p = ws
        .prepare(&SignRequest::RecordAccess {
            dataset: "housing-fund/accounts".into(),
            operation: "read".into(),
            subject: None,
            purpose: "复核公积金提取".into(),
        })
        .unwrap();
    assert!(p.token.as_ref().is_some_and(|t| t.unlocked));
    let queued = outbox_len(&ws);
    Module::load(&hsm.module).unwrap().finalize().unwrap();
    let e = ws.confirm(&p.preview_id).unwrap_err();
    assert_eq!(e.code(), "token.removed");
    assert!(e.to_string().contains("nothing was signed"), "{e}");
    assert_eq!(outbox_len(&ws), queued);
    let overview = ws.token_overview(None).unwrap();
    assert!(!overview.tokens[0].unlocked);
    // Plugged back in: the PIN again, and the same preview signs.
    ws.token_unlock(&pin(PIN)).unwrap();
    let item = ws.confirm(&p.preview_id).unwrap();
    until_committed(&ws, &item.id).await;

    // A second workstation adds the same token key without the PIN, and
    // its unlocked token locks itself after the idle time.
    std::env::set_var("GOVCHAIN_TOKEN_IDLE_SECS", "1");
    let spare = open_quiet(&dir.join("spare"), &format!("{service}-spare"));
    std::env::remove_var("GOVCHAIN_TOKEN_IDLE_SECS");
    let added = spare
        .token_add_key(&module, TOKEN, &key.key_id, "备用工作站")
        .await
        .unwrap();
    seen(&added);
    assert_eq!(added.key_id, key.key_id);
    assert!(added.active && added.token.is_some());
    assert_eq!(
        spare
            .token_add_key(&module, TOKEN, &"ab".repeat(32), "x")
            .await
            .unwrap_err()
            .code(),
        "token.key_not_found"
    );
    spare.token_unlock(&pin(PIN)).unwrap();
    let o = spare.token_overview(None).unwrap();
    assert!(o.tokens[0].unlocked);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let o = spare.token_overview(None).unwrap();
    assert!(!o.tokens[0].unlocked, "idle for longer than the lock time");

    // The PIN is nowhere: logs, every database, what crossed IPC.
    let mut haystack = logs.bytes();
    // Everything the workstations wrote (the token's own files aside).
    let (written, files) = files_below(&dir, &[dir.join("hsm")]);
    haystack.extend(written);
    assert!(files >= 2, "the databases were not found");
    haystack.extend(ipc.concat().into_bytes());
    assert!(!ipc.is_empty());
    let text = String::from_utf8_lossy(&haystack);
    assert!(!text.contains(PIN), "the PIN was found");
    assert!(text.contains(&key.key_id), "the search saw the key id");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Serializes whatever the core returns, as IPC does.
mod erased {
    pub trait Json {
        fn json(&self) -> String;
    }
    impl<T: serde::Serialize> Json for T {
        fn json(&self) -> String {
            serde_json::to_string(self).unwrap()
        }
    }
}
