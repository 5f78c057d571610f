//! Hainan's deposit certificates across two centres' workstations on one
//! node: Haikou issues a certificate to a citizen's key (a salted
//! commitment; the salt stays with Haikou and the citizen), Sanya asks the
//! citizen for consent with a request their own signer signs, submits the
//! signed answer, verifies the document, and is refused after the citizen
//! revokes. Real Secret Service: run under `scripts/with-keyring.sh`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

use base64::Engine as _;
use govchain_ledger::citizen::{answer_text, ConsentRequest};
use govchain_ledger::crypto::SecretKey;
use govchain_ledger::tx::Envelope;
use govchain_ledger::ErrorCode as _;
use govchain_workstation::demo::{demo_identity_key, DemoNode};
use govchain_workstation::dto::{Capability, PersonRef, SignRequest};
use govchain_workstation::Workstation;

mod support;
use support::{capture_logs, keyring_available, open_quiet, temp_dir, until_committed};

const ID_NUMBER: &str = "460100198001010014";

fn upload(ws: &Workstation, name: &str, bytes: &[u8]) -> String {
    let id = ws.document_begin().unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
    ws.document_chunk(&id, &b64).unwrap();
    ws.document_finish(&id, name).unwrap().sha256
}

/// The citizen's signer: reads the request, signs it with their key.
fn citizen_signs(key: &SecretKey, request: &str) -> String {
    let r = ConsentRequest::from_text(request).unwrap();
    r.check_key(&key.public_key()).unwrap();
    answer_text(&Envelope::sign(key, r.body).unwrap()).unwrap()
}

/// Signs `req` and waits for it to commit; what the preview said of the
/// presented document.
async fn sign(ws: &Workstation, req: &SignRequest) -> Option<bool> {
    let p = ws.prepare(req).unwrap();
    assert!(p.would_reject.is_none(), "{:?}", p.would_reject);
    let item = ws.confirm(&p.preview_id).unwrap();
    until_committed(ws, &item.id).await;
    p.commitment_matches
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_is_issued_consented_verified_and_refused_after_revocation() {
    if !keyring_available() {
        return;
    }
    let logs = capture_logs();
    let base = temp_dir("certificates");
    let node = DemoNode::start(&base.join("node")).await.unwrap();
    let pid = std::process::id();
    let centre = |name: &str| {
        let ws = open_quiet(
            &base.join(name),
            &format!("govchain-test-cert-{name}-{pid}"),
        );
        ws
    };
    let haikou = centre("haikou");
    let sanya = centre("sanya");
    for (ws, dept, name, roles) in [
        (&haikou, "hpf-haikou", "林海", &["certificate-issuer"][..]),
        (&sanya, "hpf-sanya", "陈岚", &[][..]),
    ] {
        ws.set_nodes(vec![node.url().to_owned()]).await.unwrap();
        let key = ws.create_key(name).await.unwrap();
        let pk = govchain_ledger::crypto::PublicKey::from_hex(&key.public_key).unwrap();
        node.register_official(&pk, dept, name, roles).unwrap();
        ws.sync().await.unwrap();
        ws.import_identity_key(&hex::encode(demo_identity_key().as_bytes()))
            .unwrap();
    }
    haikou.sync().await.unwrap();
    let may = |ws: &Workstation| ws.capabilities().unwrap().may;
    assert!(may(&haikou).contains(&Capability::IssueCertificates));
    assert!(may(&haikou).contains(&Capability::VerifyCertificates));
    // Sanya's official issues nothing, and may ask for consent and verify.
    assert!(may(&sanya).contains(&Capability::VerifyCertificates));
    assert!(!may(&sanya).contains(&Capability::IssueCertificates));

    // Haikou issues the certificate of a deposit statement to the citizen's key.
    let citizen = SecretKey::generate(&mut rand_core::OsRng);
    let statement = "住房公积金缴存证明：2019-01 至 2026-11 连续缴存，余额 86,420.15 元".as_bytes();
    let doc = upload(&haikou, "缴存证明.pdf", statement);
    let issue = |holder: String| SignRequest::IssueCertificate {
        cert_id: String::new(),
        cert_type: "housing-fund-deposit".into(),
        subject: PersonRef::Number {
            doc_type: "cn-rid".into(),
            number: ID_NUMBER.into(),
        },
        holder_key: holder,
        document: doc.clone(),
        expires_at: Some("2027-12-31T00:00:00.000Z".into()),
    };
    // An official's key cannot hold a certificate.
    let sanya_key = sanya.keys().unwrap()[0].public_key.clone();
    let p = haikou.prepare(&issue(sanya_key)).unwrap();
    assert_eq!(p.would_reject.unwrap().code, "identity.key_in_use");
    let p = haikou
        .prepare(&issue(citizen.public_key().to_hex()))
        .unwrap();
    assert!(p.would_reject.is_none(), "{:?}", p.would_reject);
    let body: serde_json::Value = serde_json::from_str(&p.canonical_json).unwrap();
    let cert_id = body["payload"]["cert_id"].as_str().unwrap().to_owned();
    assert!(cert_id.starts_with("CERT-"), "{cert_id}");
    // The commitment is salted: not the document's own hash.
    assert_ne!(body["payload"]["commitment"].as_str().unwrap(), doc);
    assert!(!p.canonical_json.contains(ID_NUMBER));
    let item = haikou.confirm(&p.preview_id).unwrap();
    until_committed(&haikou, &item.id).await;
    let issued = haikou.certificates().unwrap();
    assert_eq!(issued.len(), 1);
    assert!(issued[0].issued_here && issued[0].consents.is_empty());
    assert_eq!(issued[0].holder_fingerprint, citizen.key_id().fingerprint());
    let reports = base.join("reports");
    let pdf = haikou
        .save_report("certificate", &cert_id, &reports)
        .await
        .unwrap();
    assert!(std::fs::read(&pdf.path).unwrap().starts_with(b"%PDF"));
    let code = haikou.certificate_code(&cert_id).unwrap();
    assert!(code.starts_with("govchain:certificate?chain="), "{code}");

    // Sanya sees nothing of it before consent, then asks the citizen.
    sanya.sync().await.unwrap();
    assert!(sanya.certificates().unwrap().is_empty());
    let e = sanya
        .consent_request(&cert_id, "no-such-centre", "异地贷款", 30)
        .unwrap_err();
    assert_eq!(e.code(), "consortium.unknown_department");
    let req = sanya
        .consent_request(&cert_id, "hpf-sanya", "异地购房贷款审核", 30)
        .unwrap();
    assert!(req.text.starts_with("GCR1:"));
    assert!(req.qr_svg.as_deref().unwrap().starts_with("<svg"));
    assert_eq!(req.holder_fingerprint, citizen.key_id().fingerprint());
    // Two requests open at once never share a sequence number.
    let seq_of = |text: &str| ConsentRequest::from_text(text).unwrap().body.seq;
    let second = sanya
        .consent_request(&cert_id, "hpf-sanya", "公积金贷款复核", 7)
        .unwrap();
    assert!(seq_of(&second.text) > seq_of(&req.text));
    // An answer signed by another key than the holder's is refused.
    let stranger = SecretKey::generate(&mut rand_core::OsRng);
    let r = ConsentRequest::from_text(&req.text).unwrap();
    let mut forged = Envelope::sign(&citizen, r.body.clone()).unwrap();
    forged.sig = Envelope::sign(
        &stranger,
        govchain_ledger::tx::TxBody {
            signer: stranger.key_id(),
            ..r.body.clone()
        },
    )
    .unwrap()
    .sig;
    let e = sanya
        .submit_consent(&answer_text(&forged).unwrap())
        .unwrap_err();
    assert_eq!(e.code(), "citizen.bad_signature");
    let answer = citizen_signs(&citizen, &req.text);
    let item = sanya.submit_consent(&answer).unwrap();
    assert_eq!(item.id, req.tx_id);
    // The same answer twice is queued once.
    assert_eq!(sanya.submit_consent(&answer).unwrap().id, item.id);
    // Queued, not yet delivered: it survives closing the app, and is
    // delivered once after.
    drop(sanya);
    let sanya = centre("sanya");
    sanya.set_nodes(vec![node.url().to_owned()]).await.unwrap();
    let waiting: Vec<_> = sanya
        .outbox()
        .unwrap()
        .into_iter()
        .filter(|o| o.id == item.id)
        .collect();
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].status, "queued");
    until_committed(&sanya, &item.id).await;
    assert_eq!(sanya.submit_consent(&answer).unwrap().status, "committed");
    let shared = sanya.certificates().unwrap();
    assert_eq!(shared.len(), 1);
    assert!(!shared[0].issued_here);
    let consent = shared[0].consents[0].clone();
    assert!(consent.active && consent.grantee == "hpf-sanya");

    // The citizen shows the statement and the certificate's code.
    let presented = upload(&sanya, "缴存证明.pdf", statement);
    let verify = |document: &str, salt: &str| SignRequest::VerifyCertificate {
        cert_id: cert_id.clone(),
        consent_id: consent.id.clone(),
        document: document.to_owned(),
        salt: salt.to_owned(),
    };
    assert_eq!(sign(&sanya, &verify(&presented, &code)).await, Some(true));
    // An altered statement is recorded as not matching.
    let altered = upload(&sanya, "缴存证明-改.pdf", "余额 986,420.15 元".as_bytes());
    assert_eq!(sign(&sanya, &verify(&altered, &code)).await, Some(false));
    let v = &sanya.certificates().unwrap()[0].verifications;
    assert_eq!(v.len(), 2);
    assert!(!v[0].matches && v[1].matches, "{v:?}");
    assert_eq!(v[1].official.department, "hpf-sanya");
    // Another certificate's code is refused before anything is built.
    let other = code.replace(&cert_id, "CERT-OTHER");
    assert_eq!(
        sanya
            .prepare(&verify(&presented, &other))
            .unwrap_err()
            .code(),
        "request.invalid"
    );

    // The citizen revokes; Sanya is refused from then on.
    let req = sanya.revoke_request(&consent.id).unwrap();
    let item = sanya
        .submit_consent(&citizen_signs(&citizen, &req.text))
        .unwrap();
    until_committed(&sanya, &item.id).await;
    assert!(!sanya.certificates().unwrap()[0].consents[0].active);
    let p = sanya.prepare(&verify(&presented, &code)).unwrap();
    assert_eq!(p.would_reject.unwrap().code, "sharing.consent_invalid");
    assert_eq!(
        sanya.revoke_request(&consent.id).unwrap_err().code(),
        "request.invalid"
    );

    // The identity number went nowhere: not the logs, not either data
    // directory, not the node. The statement stays in the document stores.
    let logged = String::from_utf8_lossy(&logs.bytes()).into_owned();
    assert!(!logged.contains(ID_NUMBER));
    let holds = |bytes: &[u8], needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    for dir in ["haikou", "sanya", "node"] {
        for e in walk(&base.join(dir)) {
            let bytes = std::fs::read(&e).unwrap();
            assert!(!holds(&bytes, ID_NUMBER.as_bytes()), "{}", e.display());
            let stored = e.parent().is_some_and(|p| p.ends_with("documents"));
            assert!(stored || !holds(&bytes, statement), "{}", e.display());
        }
    }
    assert!(!holds(&logs.bytes(), statement));
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().filter_map(Result::ok) {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
