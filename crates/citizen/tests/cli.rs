//! The citizen signer as a citizen runs it: a key in a real keychain
//! (`scripts/with-keyring.sh`; skipped without one), a request shown and
//! signed, and what it refuses.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output, Stdio};

use govchain_ledger::citizen::{read_answer, ConsentRequest, RequestContext};
use govchain_ledger::crypto::PublicKey;
use govchain_ledger::tx::TxBody;
use govchain_ledger::ErrorCode as _;
use serde_json::json;

fn citizen(service: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_govchain-citizen"))
        .args(args)
        .env("GOVCHAIN_CITIZEN_KEYCHAIN_SERVICE", service)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn request(holder: &PublicKey, kind: &str, payload: serde_json::Value) -> ConsentRequest {
    ConsentRequest {
        body: TxBody {
            chain_id: "gov-hainan".parse().unwrap(),
            signer: holder.key_id(),
            seq: 1,
            kind: kind.into(),
            payload,
            created_at: "2026-12-02T10:00:00.000Z".parse().unwrap(),
        },
        context: RequestContext {
            requested_by: "三亚市住房公积金管理中心".into(),
            cert_type: "housing-fund-deposit".into(),
            issuer: "海口市住房公积金管理中心".into(),
            grantee_name: Some("三亚市住房公积金管理中心".into()),
        },
    }
}

#[test]
fn a_citizen_creates_a_key_reads_a_request_and_signs_only_consents() {
    if std::env::var_os("GOVCHAIN_KEYRING").is_none() {
        eprintln!("skipped: no keychain (run under scripts/with-keyring.sh)");
        return;
    }
    let service = format!("govchain-citizen-test-{}", std::process::id());
    let s = service.as_str();
    // No key yet: said, with what to do.
    let o = citizen(s, &["--lang", "en", "key"]);
    assert!(!o.status.success());
    assert!(text(&o).1.contains("[citizen.no_key]"), "{:?}", text(&o));

    let o = citizen(s, &["init"]);
    assert!(o.status.success(), "{:?}", text(&o));
    let (out, _) = text(&o);
    let hex = out.lines().next().unwrap().rsplit(' ').next().unwrap();
    let holder: PublicKey = PublicKey::from_hex(hex).unwrap();
    assert!(out.contains(&holder.key_id().fingerprint()));
    // A second key would orphan the certificates naming the first.
    let o = citizen(s, &["init"]);
    assert!(!o.status.success());
    assert!(text(&o).1.contains("[citizen.key_exists]"));
    assert!(text(&citizen(s, &["key"])).0.contains(hex));

    let grant = request(
        &holder,
        "consent.grant",
        json!({"consent_id": "CS-1", "cert_id": "CERT-1", "grantee": "hpf-sanya",
               "until": "2027-01-01T00:00:00.000Z", "purpose": "异地购房贷款审核"}),
    );
    let req = grant.to_text().unwrap();
    let (shown, _) = text(&citizen(s, &["--lang", "zh", "show", &req]));
    for want in [
        "授权给",
        "三亚市住房公积金管理中心",
        "hpf-sanya",
        "异地购房贷款审核",
        "CERT-1",
    ] {
        assert!(shown.contains(want), "{want} in {shown}");
    }
    assert!(shown.contains(&grant.body.id().unwrap().to_hex()));

    // Not confirmed, not signed (standard input is no terminal).
    let o = citizen(s, &["sign", &req]);
    assert!(!o.status.success());
    assert!(text(&o).1.contains("[citizen.not_confirmed]"));

    // From a file, into a file.
    let dir = std::env::temp_dir().join(&service);
    std::fs::create_dir_all(&dir).unwrap();
    let (file, out) = (dir.join("request.txt"), dir.join("answer.txt"));
    std::fs::write(&file, &req).unwrap();
    let o = citizen(
        s,
        &[
            "sign",
            file.to_str().unwrap(),
            "--yes",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{:?}", text(&o));
    let env = read_answer(&std::fs::read_to_string(&out).unwrap(), &holder).unwrap();
    assert_eq!(env.body, grant.body);

    // Anything but a consent, or a consent for another key, is refused.
    let other = request(
        &holder,
        "blacklist.add",
        json!({"subject": "00".repeat(32), "reason": "loan-default"}),
    );
    let o = citizen(s, &["sign", &other.to_text().unwrap(), "--yes"]);
    assert!(
        text(&o).1.contains("[citizen.not_consent]"),
        "{:?}",
        text(&o)
    );
    let stranger = PublicKey::from_hex(&"11".repeat(32)).unwrap();
    let theirs = request(&stranger, "consent.revoke", json!({"consent_id": "CS-1"}));
    let o = citizen(s, &["sign", &theirs.to_text().unwrap(), "--yes"]);
    assert!(!o.status.success());
    assert!(text(&o).1.contains("[citizen.other_key]"));
    assert!(text(&o).0.is_empty());

    // A sequence number that would use up the key's numbers is refused.
    let mut greedy = request(&holder, "consent.revoke", json!({"consent_id": "CS-1"}));
    greedy.body.seq = 1 << 50;
    let o = citizen(s, &["sign", &greedy.to_text().unwrap(), "--yes"]);
    assert!(text(&o).1.contains("[citizen.malformed]"), "{:?}", text(&o));

    // A revocation signs too.
    let revoke = request(&holder, "consent.revoke", json!({"consent_id": "CS-1"}));
    let o = citizen(s, &["sign", &revoke.to_text().unwrap(), "--yes"]);
    assert!(o.status.success(), "{:?}", text(&o));
    let env = read_answer(text(&o).0.trim(), &holder).unwrap();
    assert_eq!(env.body.kind, "consent.revoke");
    assert_eq!(
        read_answer("GCA1:AAAA", &holder).unwrap_err().code(),
        "citizen.malformed"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
