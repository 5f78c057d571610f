//! Department administration on the verified state (pure, no I/O): the
//! administration screen's model, the payloads of admin actions, reading a
//! registration request, the designer's template form, and BPMN import and
//! export through `govchain-bpmn`.

use std::collections::{BTreeMap, BTreeSet};

use govchain_bpmn::{Assignment, BpmnError, GroupMap};
use govchain_ledger::block::Block;
use govchain_ledger::crypto::{KeyId, PublicKey};
use govchain_ledger::registration::RegistrationRequest;
use govchain_ledger::state::kinds::{DefineWorkflow, DeptId, OnReject, RefId, Role, StageSpec};
use govchain_ledger::state::sharing::{BLACKLIST_ROLE, ISSUER_ROLE};
use govchain_ledger::state::workflow::Template;
use govchain_ledger::state::{action_digest, Grant, Proposal, State};
use govchain_ledger::types::{Hash32, Timestamp};
use serde_json::{json, Value};

use crate::dto::{
    AdminView, BpmnGroup, BpmnImport, BpmnProblem, DepartmentView, GrantView, OfficialRow,
    ProposalScope, ProposalView, RegistrationCheck, RejectAction, SignRequest, StageDraft,
    TemplateHistory, TemplateVersionView, TxKind, WorkflowDraft,
};
use crate::error::WsError;
use crate::views::official_ref;

/// Roles every chain knows by their rules.
const KNOWN_ROLES: [&str; 4] = ["admin", "auditor", BLACKLIST_ROLE, ISSUER_ROLE];

fn time_of(s: &State) -> Timestamp {
    s.time.unwrap_or(Timestamp::UNIX_EPOCH)
}

/// `(kind, payload)` of an admin request (not [`SignRequest::CoSign`],
/// whose payload is the proposal's).
pub fn payload(req: &SignRequest) -> Result<(&'static str, Value), WsError> {
    Ok(match req {
        SignRequest::RegisterOfficial {
            department,
            name,
            public_key,
        } => (
            "official.register",
            json!({"department": department, "name": name.trim(), "public_key": public_key}),
        ),
        SignRequest::RevokeOfficial { official, reason } => {
            let mut p = json!({"official": official});
            if !reason.trim().is_empty() {
                p["reason"] = json!(reason.trim());
            }
            ("official.revoke", p)
        }
        SignRequest::GrantRole {
            official,
            department,
            role,
            scope,
            valid_from,
            expires_at,
        } => {
            let mut p = json!({"official": official, "department": department, "role": role, "scope": scope});
            if let Some(t) = valid_from {
                p["valid_from"] = json!(t);
            }
            if let Some(t) = expires_at {
                p["expires_at"] = json!(t);
            }
            ("role.grant", p)
        }
        SignRequest::RevokeRole { grant } => ("role.revoke", json!({"grant": grant})),
        SignRequest::AddDepartment {
            id,
            name,
            parent,
            node_key,
            admin_threshold,
            admins,
        } => {
            let mut p = json!({"id": id.trim(), "name": name.trim(), "node_key": node_key.trim(),
                               "admin_threshold": admin_threshold,
                               "admins": admins.iter().map(|a| json!({"name": a.name.trim(), "public_key": a.public_key.trim()})).collect::<Vec<_>>()});
            if let Some(parent) = parent.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
                p["parent"] = json!(parent);
            }
            ("department.add", p)
        }
        SignRequest::DefineWorkflow { template } => (
            "workflow.define",
            serde_json::to_value(to_workflow(template)?).map_err(bad)?,
        ),
        _ => {
            return Err(WsError::BadRequest(
                "not an admin action with a payload of its own".into(),
            ))
        }
    })
}

fn bad(e: impl std::fmt::Display) -> WsError {
    WsError::BadRequest(e.to_string())
}

/// The designer's form of a published template.
pub fn draft_of(t: &Template) -> WorkflowDraft {
    draft_from(&t.id, t.version, &t.name, &t.stages)
}

fn draft_from(id: &RefId, version: u32, name: &str, stages: &[StageSpec]) -> WorkflowDraft {
    WorkflowDraft {
        id: id.to_string(),
        version,
        name: name.to_owned(),
        stages: stages
            .iter()
            .map(|s| StageDraft {
                name: s.name.clone(),
                department: s.department.to_string(),
                role: s.role.to_string(),
                threshold: s.threshold,
                group: s.group.clone(),
                deadline_secs: s.deadline_secs,
                on_reject: match s.on_reject {
                    OnReject::End => RejectAction::End,
                    OnReject::Return => RejectAction::Return,
                },
                return_to: s.return_to.and_then(|r| u32::try_from(r).ok()),
            })
            .collect(),
    }
}

/// The ledger's form of a designer's template (ids checked; the rules
/// judge the rest in the preview).
pub fn to_workflow(d: &WorkflowDraft) -> Result<DefineWorkflow, WsError> {
    let stages = d
        .stages
        .iter()
        .map(|s| {
            Ok(StageSpec {
                name: s.name.trim().to_owned(),
                department: DeptId::try_from(s.department.clone())?,
                role: Role::try_from(s.role.clone())?,
                threshold: s.threshold,
                group: s.group.clone().filter(|g| !g.trim().is_empty()),
                deadline_secs: s.deadline_secs.filter(|d| *d > 0),
                on_reject: match s.on_reject {
                    RejectAction::End => OnReject::End,
                    RejectAction::Return => OnReject::Return,
                },
                return_to: match s.on_reject {
                    RejectAction::End => None,
                    RejectAction::Return => s.return_to.map(|r| r as usize),
                },
            })
        })
        .collect::<Result<Vec<_>, WsError>>()?;
    Ok(DefineWorkflow {
        id: RefId::try_from(d.id.trim().to_owned())?,
        version: d.version,
        name: d.name.trim().to_owned(),
        stages,
    })
}

fn grant_view(s: &State, g: &Grant) -> GrantView {
    GrantView {
        id: g.id.to_hex(),
        department: g.department.to_string(),
        role: g.role.to_string(),
        scope: g.scope.to_string(),
        granted_at: g.granted_at,
        valid_from: g.valid_from.map(|t| t.to_string()),
        expires_at: g.expires_at.map(|t| t.to_string()),
        active: g.counts_at(time_of(s)),
        later: g.valid_from.is_some_and(|f| time_of(s) < f),
    }
}

/// The departments `me` administers now.
fn administered(s: &State, me: Option<&KeyId>) -> BTreeSet<DeptId> {
    let Some(me) = me else {
        return BTreeSet::new();
    };
    s.departments
        .keys()
        .filter(|d| s.is_admin(me, d, time_of(s)))
        .cloned()
        .collect()
}

/// Department ids from the root down (a parent before its children).
fn tree_order(s: &State) -> Vec<DeptId> {
    let path = |d: &DeptId| {
        let mut parts = vec![d.to_string()];
        let mut at = s.departments.get(d).and_then(|x| x.parent.clone());
        while let Some(p) = at.filter(|_| parts.len() < 64) {
            parts.push(p.to_string());
            at = s.departments.get(&p).and_then(|x| x.parent.clone());
        }
        parts.reverse();
        parts.join("/")
    };
    let mut ids: Vec<(String, DeptId)> =
        s.departments.keys().map(|d| (path(d), d.clone())).collect();
    ids.sort();
    ids.into_iter().map(|(_, d)| d).collect()
}

/// The department whose admins decide `kind` with `payload`.
fn deciding_department(s: &State, kind: &str, payload: &Value) -> Option<String> {
    let text = |k: &str| payload[k].as_str().map(str::to_owned);
    match kind {
        "official.register" | "role.grant" => text("department"),
        "official.revoke" => text("official")
            .and_then(|o| KeyId::from_hex(&o).ok())
            .and_then(|o| s.officials.get(&o).map(|o| o.department.to_string())),
        "role.revoke" => text("grant")
            .and_then(|g| Hash32::from_hex(&g).ok())
            .and_then(|g| s.grants.get(&g).map(|g| g.department.to_string())),
        _ => None,
    }
}

/// The model of a pending action; `action` is its `(kind, payload)` if
/// the proposing transaction was found.
fn proposal_view(
    s: &State,
    me: Option<&KeyId>,
    digest: &Hash32,
    p: &Proposal,
    action: Option<&(String, Value)>,
) -> ProposalView {
    let consortium = matches!(p.kind.as_str(), "department.add" | "department.retire_node");
    let home = |o: &KeyId| s.officials.get(o).map(|o| o.department.clone());
    let department = action.and_then(|(k, v)| deciding_department(s, k, v));
    let counted = if consortium {
        p.approvals
            .iter()
            .filter_map(home)
            .collect::<BTreeSet<_>>()
            .len()
    } else {
        p.approvals.len()
    };
    let signed_by_me = me.is_some_and(|m| p.approvals.contains(m));
    let may_sign = me.is_some_and(|m| {
        let t = time_of(s);
        !signed_by_me
            && if consortium {
                home(m).is_some_and(|d| {
                    s.is_admin(m, &d, t)
                        && !p.approvals.iter().any(|o| home(o).as_ref() == Some(&d))
                })
            } else {
                department
                    .as_ref()
                    .and_then(|d| DeptId::try_from(d.clone()).ok())
                    .is_some_and(|d| s.is_admin(m, &d, t))
            }
    });
    ProposalView {
        digest: digest.to_hex(),
        // A proposal's kind is one the ledger applied, so always known.
        kind: TxKind::parse(&p.kind).unwrap_or(TxKind::DepartmentAdd),
        scope: if consortium {
            ProposalScope::Consortium
        } else {
            ProposalScope::Department
        },
        department,
        payload: action.and_then(|(_, v)| {
            govchain_ledger::jcs::canonicalize(v)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
        }),
        approvals: p.approvals.iter().map(|o| official_ref(s, o)).collect(),
        counted: u32::try_from(counted).unwrap_or(u32::MAX),
        needed: u32::try_from(p.needed).unwrap_or(u32::MAX),
        first_height: p.first_height,
        signed_by_me,
        may_sign,
    }
}

/// The administration screen's model for `me` on `s`. `action_of` finds a
/// proposal's `(kind, payload)` (in the block of its first signature).
pub fn view(
    s: &State,
    me: Option<&KeyId>,
    action_of: impl Fn(&Hash32, &Proposal) -> Option<(String, Value)>,
) -> AdminView {
    let mine = administered(s, me);
    let t = time_of(s);
    let departments = tree_order(s)
        .into_iter()
        .filter_map(|id| s.departments.get(&id))
        .map(|d| DepartmentView {
            id: d.id.to_string(),
            name: d.name.clone(),
            parent: d.parent.as_ref().map(ToString::to_string),
            admin_threshold: d.admin_threshold,
            admins: s
                .officials
                .values()
                .filter(|o| o.department == d.id && o.revoked_at.is_none())
                .filter(|o| s.is_admin(&o.id, &d.id, t))
                .map(|o| official_ref(s, &o.id))
                .collect(),
            administered: mine.contains(&d.id),
        })
        .collect();
    let grants_of = |o: &KeyId| -> Vec<GrantView> {
        s.grants_by_official
            .get(o)
            .into_iter()
            .flatten()
            .filter_map(|g| s.grants.get(g))
            .map(|g| grant_view(s, g))
            .collect()
    };
    // Officials of the administered departments, and others holding a
    // role in one of them (a grant the admin may revoke).
    let holds_here = |o: &KeyId| {
        s.grants_by_official
            .get(o)
            .into_iter()
            .flatten()
            .filter_map(|g| s.grants.get(g))
            .any(|g| mine.contains(&g.department))
    };
    let mut officials: Vec<OfficialRow> = s
        .officials
        .values()
        .filter(|o| mine.contains(&o.department) || holds_here(&o.id))
        .map(|o| OfficialRow {
            official: official_ref(s, &o.id),
            public_key: o.keys.last().map(|k| k.key.to_hex()).unwrap_or_default(),
            key_count: u32::try_from(o.keys.len()).unwrap_or(u32::MAX),
            registered_at: o.registered_at,
            revoked_at: o.revoked_at,
            grants: grants_of(&o.id),
        })
        .collect();
    officials.sort_by(|a, b| {
        (
            a.revoked_at.is_some(),
            &a.official.department,
            &a.official.name,
        )
            .cmp(&(
                b.revoked_at.is_some(),
                &b.official.department,
                &b.official.name,
            ))
    });
    let proposals = s
        .proposals
        .iter()
        .map(|(d, p)| proposal_view(s, me, d, p, action_of(d, p).as_ref()))
        .collect();
    let templates = templates(s, &mine);
    let mut roles: BTreeSet<String> = KNOWN_ROLES.iter().map(|r| (*r).to_owned()).collect();
    let mut scopes: BTreeSet<String> = BTreeSet::from(["*".to_owned()]);
    for g in s.grants.values() {
        roles.insert(g.role.to_string());
        scopes.insert(g.scope.to_string());
    }
    for tpl in s.templates.values() {
        roles.extend(tpl.stages.iter().map(|st| st.role.to_string()));
    }
    AdminView {
        departments,
        officials,
        proposals,
        templates,
        roles: roles.into_iter().collect(),
        scopes: scopes.into_iter().collect(),
        consortium_threshold: s.consortium_threshold,
        height: s.next_height.saturating_sub(1),
    }
}

/// Every template with its versions, newest first.
fn templates(s: &State, mine: &BTreeSet<DeptId>) -> Vec<TemplateHistory> {
    let mut cases: BTreeMap<String, u32> = BTreeMap::new();
    for c in s.cases.resident().values() {
        *cases
            .entry(Template::key(&c.template, c.version))
            .or_default() += 1;
    }
    let mut histories: BTreeMap<String, Vec<&Template>> = BTreeMap::new();
    for tpl in s.templates.values() {
        histories.entry(tpl.id.to_string()).or_default().push(tpl);
    }
    histories
        .into_iter()
        .map(|(id, mut versions)| {
            versions.sort_by_key(|v| std::cmp::Reverse(v.version));
            let owner = versions
                .last()
                .and_then(|first| s.officials.get(&first.defined_by))
                .map(|o| o.department.clone());
            TemplateHistory {
                id,
                owner: owner.as_ref().map(ToString::to_string).unwrap_or_default(),
                owner_name: owner
                    .as_ref()
                    .and_then(|d| s.departments.get(d))
                    .map(|d| d.name.clone())
                    .unwrap_or_default(),
                mine: owner.as_ref().is_some_and(|d| mine.contains(d)),
                versions: versions
                    .iter()
                    .map(|v| TemplateVersionView {
                        draft: draft_of(v),
                        defined_by: official_ref(s, &v.defined_by),
                        defined_at: v.defined_at,
                        cases: cases
                            .get(&Template::key(&v.id, v.version))
                            .copied()
                            .unwrap_or(0),
                    })
                    .collect(),
            }
        })
        .collect()
}

/// The `(kind, payload)` in `block` whose action digest is `digest`.
pub fn action_in(block: &Block, digest: &Hash32) -> Option<(String, Value)> {
    block
        .txs
        .iter()
        .find(|tx| action_digest(&tx.body.kind, &tx.body.payload).ok().as_ref() == Some(digest))
        .map(|tx| (tx.body.kind.clone(), tx.body.payload.clone()))
}

/// Reads a registration request and checks it against `s` for `me`.
pub fn check_registration(
    s: &State,
    me: Option<&KeyId>,
    text: &str,
) -> Result<RegistrationCheck, WsError> {
    let r = RegistrationRequest::from_text(text)?;
    let key: &PublicKey = &r.official.public_key;
    let dept = &r.official.department;
    Ok(RegistrationCheck {
        name: r.official.name.clone(),
        department: dept.to_string(),
        department_name: s
            .departments
            .get(dept)
            .map(|d| d.name.clone())
            .unwrap_or_default(),
        public_key: key.to_hex(),
        fingerprint: key.key_id().fingerprint(),
        key_storage: r
            .key_storage
            .describe()
            .unwrap_or_else(|| "not stated".to_owned()),
        registered_as: s.key_index.get(&key.key_id()).map(|o| official_ref(s, o)),
        may_register: me.is_some_and(|m| s.is_admin(m, dept, time_of(s))),
    })
}

fn problem(p: &govchain_bpmn::Problem) -> BpmnProblem {
    BpmnProblem {
        code: p.code.to_owned(),
        element_id: p.element_id.clone(),
        element_type: p.element_type.clone(),
        message: p.message.clone(),
    }
}

fn problems_of(e: &BpmnError) -> Vec<BpmnProblem> {
    use govchain_ledger::ErrorCode as _;
    if e.problems().is_empty() {
        vec![BpmnProblem {
            code: e.code().to_owned(),
            element_id: None,
            element_type: "definitions".into(),
            message: e.to_string(),
        }]
    } else {
        e.problems().iter().map(problem).collect()
    }
}

/// Imports a BPMN 2.0 process with the admin's group mapping; the
/// template's id and version default to what the document says (and to
/// the next version of an existing template).
pub fn import_bpmn(s: &State, xml: &str, mapping: &[BpmnGroup], id: Option<&str>) -> BpmnImport {
    let mut groups = GroupMap::default();
    for g in mapping {
        if let (Ok(department), Ok(role)) = (
            DeptId::try_from(g.department.clone()),
            Role::try_from(g.role.clone()),
        ) {
            groups
                .0
                .insert(g.group.clone(), Assignment { department, role });
        }
    }
    let names = match govchain_bpmn::candidate_groups(xml) {
        Ok(n) => n,
        Err(e) => {
            return BpmnImport {
                groups: Vec::new(),
                template: None,
                problems: problems_of(&e),
            }
        }
    };
    let listed = names
        .iter()
        .map(|n| {
            let a = groups.resolve(n);
            BpmnGroup {
                group: n.clone(),
                department: a
                    .as_ref()
                    .map(|a| a.department.to_string())
                    .unwrap_or_default(),
                role: a.map(|a| a.role.to_string()).unwrap_or_default(),
            }
        })
        .collect();
    let id = id
        .map(str::trim)
        .filter(|i| !i.is_empty())
        .map(|i| RefId::try_from(i.to_owned()));
    let result = match id.transpose() {
        Err(e) => Err(BpmnError::TemplateId(e.to_string())),
        Ok(id) => govchain_bpmn::import(xml, &groups).and_then(|imp| {
            let next = |id: &RefId| {
                s.templates
                    .values()
                    .filter(|t| t.id == *id)
                    .map(|t| t.version + 1)
                    .max()
            };
            let version = id.as_ref().or(imp.id.as_ref()).and_then(next);
            imp.into_workflow(id, version)
        }),
    };
    match result {
        Ok(w) => BpmnImport {
            groups: listed,
            template: Some(draft_from(&w.id, w.version, &w.name, &w.stages)),
            problems: Vec::new(),
        },
        Err(e) => BpmnImport {
            groups: listed,
            template: None,
            problems: problems_of(&e),
        },
    }
}

/// A published template version as BPMN 2.0 (opens in Flowable, Activiti
/// and Camunda modelers; re-imports to the same template).
pub fn export_bpmn(s: &State, id: &str, version: u32) -> Result<String, WsError> {
    let rid = RefId::try_from(id.to_owned())?;
    let t = s
        .templates
        .get(&Template::key(&rid, version))
        .ok_or_else(|| WsError::NotFound(format!("template {id} version {version}")))?;
    Ok(govchain_bpmn::export(&DefineWorkflow {
        id: t.id.clone(),
        version: t.version,
        name: t.name.clone(),
        stages: t.stages.clone(),
    }))
}
