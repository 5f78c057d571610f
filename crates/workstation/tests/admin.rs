//! Department administration from the workstation, against the demo node:
//! a fire admin reads a new official's registration request, registers
//! them, grants a role that counts only from a future date, publishes a
//! template with a parallel stage group (from the designer's form and from
//! a Flowable BPMN document), co-signs the consortium action another
//! department's admin proposed, and revokes. Real Secret Service: run
//! under `scripts/with-keyring.sh`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

use govchain_ledger::ErrorCode as _;
use govchain_workstation::demo::DemoNode;
use govchain_workstation::dto::{
    BpmnGroup, Capability, DepartmentAdmin, ProposalScope, RejectAction, SignRequest, StageDraft,
    WorkflowDraft,
};
use govchain_workstation::Workstation;

mod support;
use support::{keyring_available, open_quiet, temp_dir, until_committed};

async fn sign(ws: &Workstation, req: &SignRequest) -> u64 {
    let p = ws.prepare(req).unwrap();
    assert!(p.would_reject.is_none(), "{:?}", p.would_reject);
    let item = ws.confirm(&p.preview_id).unwrap();
    until_committed(ws, &item.id).await
}

fn refusal(ws: &Workstation, req: &SignRequest) -> String {
    ws.prepare(req)
        .unwrap()
        .would_reject
        .expect("the ledger would refuse it")
        .code
}

fn stage(name: &str, role: &str, group: Option<&str>) -> StageDraft {
    StageDraft {
        name: name.into(),
        department: "fire".into(),
        role: role.into(),
        threshold: 1,
        group: group.map(str::to_owned),
        deadline_secs: Some(7 * 86_400),
        on_reject: RejectAction::End,
        return_to: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_registers_grants_publishes_and_cosigns_from_the_workstation() {
    if !keyring_available() {
        return;
    }
    let base = temp_dir("admin");
    let node = DemoNode::start(&base.join("node")).await.unwrap();
    let pid = std::process::id();
    let admin = open_quiet(&base.join("admin"), &format!("govchain-test-admin-a-{pid}"));
    let newcomer = open_quiet(&base.join("new"), &format!("govchain-test-admin-n-{pid}"));
    for ws in [&admin, &newcomer] {
        ws.set_nodes(vec![node.url().to_owned()]).await.unwrap();
    }
    let key = admin.create_key("消防管理员").await.unwrap();
    let pk = govchain_ledger::crypto::PublicKey::from_hex(&key.public_key).unwrap();
    node.register_official(&pk, "fire", "消防管理员", &["admin"])
        .unwrap();
    admin.sync().await.unwrap();
    assert!(admin
        .capabilities()
        .unwrap()
        .may
        .contains(&Capability::Admin));
    let view = admin.admin_view().unwrap();
    let fire = view.departments.iter().find(|d| d.id == "fire").unwrap();
    assert!(fire.administered);
    assert!(fire.admins.iter().any(|a| a.official_id == key.key_id));
    assert!(view
        .departments
        .iter()
        .filter(|d| d.id != "fire")
        .all(|d| !d.administered));

    // 1. The newcomer's registration request, read and checked by the admin.
    newcomer.create_key("韩梅").await.unwrap();
    let request = newcomer.registration_request("韩梅", "fire").unwrap();
    let check = admin.check_registration(&request.text).unwrap();
    assert_eq!(check.fingerprint, request.fingerprint);
    assert_eq!(check.key_storage, "OS keychain");
    assert_eq!(check.department_name, "杭州市消防救援支队");
    assert!(check.may_register && check.registered_as.is_none());
    assert_eq!(
        admin
            .check_registration("{\"kind\":\"case.open\"}")
            .unwrap_err()
            .code(),
        "registration.malformed"
    );
    // Another department's official is not this admin's to register.
    let elsewhere = SignRequest::RegisterOfficial {
        department: "construction".into(),
        name: check.name.clone(),
        public_key: check.public_key.clone(),
    };
    assert_eq!(refusal(&admin, &elsewhere), "auth.not_admin");
    sign(
        &admin,
        &SignRequest::RegisterOfficial {
            department: check.department.clone(),
            name: check.name.clone(),
            public_key: check.public_key.clone(),
        },
    )
    .await;
    let again = admin.check_registration(&request.text).unwrap();
    assert_eq!(again.registered_as.unwrap().name, "韩梅");
    let official = newcomer.keys().unwrap()[0].key_id.clone();

    // 2. A scoped role granted in advance counts only from its date.
    let grant = |valid_from: Option<&str>| SignRequest::GrantRole {
        official: official.clone(),
        department: "fire".into(),
        role: "fire-inspector".into(),
        scope: "hz/xihu".into(),
        valid_from: valid_from.map(str::to_owned),
        expires_at: Some("2099-01-01T00:00:00.000Z".into()),
    };
    assert_eq!(
        refusal(
            &admin,
            &SignRequest::GrantRole {
                official: official.clone(),
                department: "fire".into(),
                role: "fire-inspector".into(),
                scope: "hz".into(),
                valid_from: Some("2099-02-01T00:00:00.000Z".into()),
                expires_at: Some("2099-01-01T00:00:00.000Z".into()),
            }
        ),
        "tx.bad_payload"
    );
    sign(&admin, &grant(Some("2098-06-01T00:00:00.000Z"))).await;
    let row = |ws: &Workstation| {
        ws.admin_view()
            .unwrap()
            .officials
            .into_iter()
            .find(|o| o.official.official_id == official)
            .unwrap()
    };
    let g = row(&admin).grants.into_iter().next().unwrap();
    assert_eq!(g.scope, "hz/xihu");
    assert_eq!(g.valid_from.as_deref(), Some("2098-06-01T00:00:00.000Z"));
    assert!(!g.active, "a grant made in advance does not count yet");
    sign(&admin, &grant(None)).await;
    assert!(row(&admin).grants.iter().any(|g| g.active));

    // 3. A template from the designer: four stages, three in a parallel group.
    let mut draft = WorkflowDraft {
        id: "fire-acceptance".into(),
        version: 1,
        name: "消防验收".into(),
        stages: vec![
            stage("受理", "fire-inspector", None),
            stage("现场检查", "fire-inspector", Some("check")),
            stage("图纸复核", "fire-inspector", Some("check")),
            stage("设备检测", "fire-inspector", Some("check")),
            stage("签发意见", "admin", None),
        ],
    };
    draft.stages[4].on_reject = RejectAction::Return;
    draft.stages[4].return_to = Some(1);
    let mut broken = draft.clone();
    broken.stages[0].threshold = 0;
    assert_eq!(
        refusal(&admin, &SignRequest::DefineWorkflow { template: broken }),
        "workflow.bad_template"
    );
    sign(
        &admin,
        &SignRequest::DefineWorkflow {
            template: draft.clone(),
        },
    )
    .await;
    draft.version = 2;
    draft.stages[1].deadline_secs = Some(3 * 86_400);
    sign(
        &admin,
        &SignRequest::DefineWorkflow {
            template: draft.clone(),
        },
    )
    .await;
    let view = admin.admin_view().unwrap();
    let t = view
        .templates
        .iter()
        .find(|t| t.id == "fire-acceptance")
        .unwrap();
    assert!(t.mine);
    assert_eq!(t.owner, "fire");
    assert_eq!(
        t.versions
            .iter()
            .map(|v| v.draft.version)
            .collect::<Vec<_>>(),
        vec![2, 1]
    );
    assert_eq!(t.versions[0].draft, draft);
    // The city's template is not the fire department's to change.
    let city = view.templates.iter().find(|t| !t.mine).unwrap();
    let mut theirs = city.versions[0].draft.clone();
    theirs.version += 1;
    assert_eq!(
        refusal(&admin, &SignRequest::DefineWorkflow { template: theirs }),
        "workflow.not_owner"
    );

    // A case opened on a designed template runs to approval: a parallel
    // pair, then a 2-of-n stage signed by the admin and the newcomer.
    sign(
        &admin,
        &SignRequest::GrantRole {
            official: key.key_id.clone(),
            department: "fire".into(),
            role: "fire-inspector".into(),
            scope: "hz".into(),
            valid_from: None,
            expires_at: None,
        },
    )
    .await;
    let mut joint = WorkflowDraft {
        id: "fire-joint".into(),
        version: 1,
        name: "联合验收".into(),
        stages: vec![
            stage("受理", "fire-inspector", None),
            stage("现场检查", "fire-inspector", Some("p")),
            stage("图纸复核", "fire-inspector", Some("p")),
            stage("联合签认", "fire-inspector", None),
        ],
    };
    joint.stages[3].threshold = 2;
    sign(&admin, &SignRequest::DefineWorkflow { template: joint }).await;
    let opened = admin
        .prepare(&SignRequest::OpenCase {
            case_id: "FJ-1".into(),
            template: "fire-joint".into(),
            version: 1,
            scope: "hz/xihu".into(),
            title: "西湖区某小区消防联合验收".into(),
            applicant: None,
            documents: vec![],
        })
        .unwrap();
    assert!(opened.would_reject.is_none(), "{:?}", opened.would_reject);
    let item = admin.confirm(&opened.preview_id).unwrap();
    until_committed(&admin, &item.id).await;
    newcomer.sync().await.unwrap();
    let step = |stage: u32| SignRequest::SignStep {
        case_id: "FJ-1".into(),
        stage,
        decision: govchain_workstation::dto::StepDecision::Approve,
        comment: String::new(),
        attachments: vec![],
    };
    sign(&admin, &step(0)).await;
    newcomer.sync().await.unwrap();
    sign(&newcomer, &step(2)).await;
    admin.sync().await.unwrap();
    sign(&admin, &step(1)).await;
    sign(&admin, &step(3)).await;
    assert_eq!(admin.case_detail("FJ-1").unwrap().status.as_str(), "open");
    newcomer.sync().await.unwrap();
    sign(&newcomer, &step(3)).await;
    admin.sync().await.unwrap();
    assert_eq!(
        admin.case_detail("FJ-1").unwrap().status.as_str(),
        "approved"
    );

    // 4. BPMN: groups listed, mapped by the admin, imported, exported, re-imported.
    let xml = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../bpmn/tests/fixtures/flowable-renovation.bpmn20.xml"),
    )
    .unwrap();
    let first = admin
        .import_bpmn(&xml, &[], Some("fire-renovation"))
        .unwrap();
    assert!(first.template.is_none());
    assert_eq!(first.groups.len(), 4);
    assert_eq!(first.problems[0].code, "bpmn.unmapped_group");
    assert!(first.groups.iter().all(|g| g.department.is_empty()));
    let mapping: Vec<BpmnGroup> = first
        .groups
        .iter()
        .map(|g| BpmnGroup {
            group: g.group.clone(),
            department: "fire".into(),
            role: "fire-inspector".into(),
        })
        .collect();
    let imported = admin
        .import_bpmn(&xml, &mapping, Some("fire-renovation"))
        .unwrap();
    assert!(imported.problems.is_empty(), "{:?}", imported.problems);
    let template = imported.template.unwrap();
    assert_eq!(
        (template.id.as_str(), template.version),
        ("fire-renovation", 1)
    );
    sign(
        &admin,
        &SignRequest::DefineWorkflow {
            template: template.clone(),
        },
    )
    .await;
    let exported = admin.export_bpmn("fire-renovation", 1).unwrap();
    let back = admin.import_bpmn(&exported, &[], None).unwrap();
    let mut next = template.clone();
    next.version = 2;
    assert_eq!(back.template, Some(next), "{:?}", back.problems);
    let refused = admin.import_bpmn("<definitions/>", &[], Some("x")).unwrap();
    assert_eq!(refused.problems[0].code, "bpmn.process");

    // 5. The consortium action the city's admin proposed: co-signed here.
    let view = admin.admin_view().unwrap();
    let p = view
        .proposals
        .iter()
        .find(|p| p.kind.as_str() == "department.add")
        .expect("the demo's pending department.add");
    assert_eq!(p.scope, ProposalScope::Consortium);
    assert_eq!((p.counted, p.needed), (1, 2));
    assert!(p.may_sign && !p.signed_by_me);
    assert!(p.payload.as_deref().unwrap().contains("civil-affairs"));
    sign(
        &admin,
        &SignRequest::CoSign {
            digest: p.digest.clone(),
        },
    )
    .await;
    let view = admin.admin_view().unwrap();
    assert!(view.proposals.iter().all(|q| q.digest != p.digest));
    assert!(view
        .departments
        .iter()
        .any(|d| d.id == "civil-affairs" && d.parent.as_deref() == Some("city-management")));
    let gone = admin
        .prepare(&SignRequest::CoSign {
            digest: p.digest.clone(),
        })
        .unwrap_err();
    assert_eq!(gone.code(), "not_found");
    // Proposing one: it waits for another department's admin.
    let key = |n: u8| {
        govchain_ledger::crypto::SecretKey::from_seed(&zeroize::Zeroizing::new([n; 32]))
            .public_key()
            .to_hex()
    };
    sign(
        &admin,
        &SignRequest::AddDepartment {
            id: "water".into(),
            name: "杭州市水务局".into(),
            parent: Some("city-management".into()),
            node_key: key(41),
            admin_threshold: 1,
            admins: vec![DepartmentAdmin {
                name: "水务管理员".into(),
                public_key: key(42),
            }],
        },
    )
    .await;
    let view = admin.admin_view().unwrap();
    let mine = view
        .proposals
        .iter()
        .find(|p| {
            p.payload
                .as_deref()
                .is_some_and(|x| x.contains("\"water\""))
        })
        .unwrap();
    assert!(mine.signed_by_me && !mine.may_sign);
    assert_eq!((mine.counted, mine.needed), (1, 2));
    assert!(view.departments.iter().all(|d| d.id != "water"));

    // 6. Revocations.
    let first_grant = row(&admin).grants[0].id.clone();
    sign(&admin, &SignRequest::RevokeRole { grant: first_grant }).await;
    assert_eq!(row(&admin).grants.len(), 1);
    sign(
        &admin,
        &SignRequest::RevokeOfficial {
            official: official.clone(),
            reason: "调离消防支队".into(),
        },
    )
    .await;
    assert!(row(&admin).revoked_at.is_some());
    newcomer.sync().await.unwrap();
    assert!(newcomer.capabilities().unwrap().may.is_empty());

    node.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(&base);
}
