//! Declarative approval workflows: versioned templates of ordered stages
//! (department + role + k-of-n threshold, optional parallel groups, deadlines,
//! reject-ends or reject-returns), and the cases that run through them.

use std::collections::BTreeSet;
use std::ops::Range;

use serde::{Deserialize, Serialize};

use super::kinds::{
    Decision, DefineWorkflow, OnReject, OpenCase, RefId, Scope, SignStep, StageSpec, WithdrawCase,
};
use super::{bad_payload, Ctx, Rejection, State};
use crate::crypto::KeyId;
use crate::types::{Hash32, Timestamp};

/// Most stages a template may have.
pub const MAX_STAGES: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Template {
    pub id: RefId,
    pub version: u32,
    pub name: String,
    pub stages: Vec<StageSpec>,
    pub defined_by: KeyId,
    pub defined_at: u64,
}

impl Template {
    pub fn key(id: &RefId, version: u32) -> String {
        format!("{id}@{version}")
    }

    /// The stages signed together with `stage` (its parallel group).
    pub fn group_of(&self, stage: usize) -> Range<usize> {
        group_of(&self.stages, stage)
    }
}

/// The stages signed together with `stage`: its run of consecutive stages
/// sharing a parallel group (just itself when it has none).
fn group_of(stages: &[StageSpec], stage: usize) -> Range<usize> {
    let Some(g) = stages.get(stage).and_then(|s| s.group.as_ref()) else {
        return stage..stage + 1;
    };
    let same = |i: &usize| stages[*i].group.as_ref() == Some(g);
    let start = (0..=stage).rev().take_while(same).last().unwrap_or(stage);
    let end = (stage..stages.len())
        .take_while(same)
        .last()
        .unwrap_or(stage)
        + 1;
    start..end
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    Open,
    Approved,
    Rejected,
    Withdrawn,
}

impl CaseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CaseStatus::Open => "open",
            CaseStatus::Approved => "approved",
            CaseStatus::Rejected => "rejected",
            CaseStatus::Withdrawn => "withdrawn",
        }
    }
}

/// One entry of a case's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseEvent {
    pub height: u64,
    pub time: Timestamp,
    pub tx_id: Hash32,
    pub official: KeyId,
    /// `open`, `approve`, `reject` or `withdraw`.
    pub action: String,
    pub stage: Option<usize>,
    pub comment: String,
    pub attachments: Vec<Hash32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    pub id: RefId,
    pub template: RefId,
    pub version: u32,
    pub scope: Scope,
    pub title: String,
    pub documents: Vec<Hash32>,
    /// The applicant's identity hash (§12.9), if `case.open` named one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applicant: Option<Hash32>,
    pub opener: KeyId,
    pub status: CaseStatus,
    /// First stage of the group now waiting for signatures.
    pub current: usize,
    /// When the current group was reached (deadlines count from here).
    pub reached_at: Timestamp,
    /// Approvals per stage in the current round.
    pub approvals: Vec<Vec<KeyId>>,
    /// Incremented each time a rejection returns the case for rework.
    pub round: u32,
    pub events: Vec<CaseEvent>,
}

impl Case {
    /// The stage of the current group whose deadline has passed at `now`, if any.
    pub fn expired_stage(&self, t: &Template, now: Timestamp) -> Option<usize> {
        if self.status != CaseStatus::Open {
            return None;
        }
        t.group_of(self.current).find(|&i| {
            t.stages[i].deadline_secs.is_some_and(|secs| {
                let limit = self
                    .reached_at
                    .unix_millis()
                    .saturating_add(i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX));
                now.unix_millis() > limit
            })
        })
    }

    /// Stages of the current group that still need approvals.
    pub fn waiting_stages(&self, t: &Template) -> Vec<usize> {
        if self.status != CaseStatus::Open {
            return Vec::new();
        }
        t.group_of(self.current)
            .filter(|&i| self.approvals[i].len() < t.stages[i].threshold as usize)
            .collect()
    }
}

fn check_template(s: &State, w: &DefineWorkflow) -> Result<(), Rejection> {
    let bad = |m: String| Rejection::BadTemplate(m);
    if w.stages.is_empty() || w.stages.len() > MAX_STAGES {
        return Err(bad(format!("a template has 1 to {MAX_STAGES} stages")));
    }
    let mut closed_groups = BTreeSet::new();
    let mut prev_group: Option<&String> = None;
    for (i, st) in w.stages.iter().enumerate() {
        if !s.departments.contains_key(&st.department) {
            return Err(Rejection::UnknownDepartment(st.department.to_string()));
        }
        if st.threshold == 0 || st.threshold > 100 {
            return Err(bad(format!("stage {i}: threshold must be 1 to 100")));
        }
        if st.group.as_ref() != prev_group {
            if let Some(p) = prev_group {
                closed_groups.insert(p.clone());
            }
            if let Some(g) = &st.group {
                if closed_groups.contains(g) {
                    return Err(bad(format!(
                        "stage {i}: the stages of group {g:?} must be consecutive"
                    )));
                }
            }
        }
        prev_group = st.group.as_ref();
        match (st.on_reject, st.return_to) {
            (OnReject::End, None) => {}
            (OnReject::End, Some(_)) => {
                return Err(bad(format!(
                    "stage {i}: return_to only goes with on_reject \"return\""
                )));
            }
            (OnReject::Return, None) => {
                return Err(bad(format!(
                    "stage {i}: on_reject \"return\" needs return_to"
                )));
            }
            (OnReject::Return, Some(r)) => {
                if r > i {
                    return Err(bad(format!(
                        "stage {i}: return_to must not be a later stage"
                    )));
                }
            }
        }
    }
    // Returning into the middle of a parallel group is ambiguous.
    for (i, st) in w.stages.iter().enumerate() {
        if let Some(r) = st.return_to {
            if group_of(&w.stages, r).start != r {
                return Err(bad(format!(
                    "stage {i}: return_to must be the first stage of its group"
                )));
            }
        }
    }
    Ok(())
}

pub(super) fn define(s: &mut State, ctx: &Ctx<'_>, w: &DefineWorkflow) -> Result<(), Rejection> {
    let (official, dept) = s.signer_home_admin(ctx)?;
    let versions = || s.templates.values().filter(|t| t.id == w.id);
    // A template belongs to the department of whoever defined its first
    // version; only that department's admins publish further versions.
    if let Some(owner) = versions()
        .min_by_key(|t| t.version)
        .and_then(|first| s.officials.get(&first.defined_by))
        .map(|o| &o.department)
    {
        if *owner != dept {
            return Err(Rejection::NotOwner {
                template: w.id.to_string(),
                owner: owner.to_string(),
            });
        }
    }
    let latest = versions().map(|t| t.version).max();
    if latest.is_some_and(|v| v >= w.version) {
        return Err(Rejection::TemplateExists(Template::key(&w.id, w.version)));
    }
    check_template(s, w)?;
    s.templates.insert(
        Template::key(&w.id, w.version),
        Template {
            id: w.id.clone(),
            version: w.version,
            name: w.name.clone(),
            stages: w.stages.clone(),
            defined_by: official,
            defined_at: ctx.height,
        },
    );
    Ok(())
}

pub(super) fn open(s: &mut State, ctx: &Ctx<'_>, o: &OpenCase) -> Result<(), Rejection> {
    let official = ctx.official.ok_or(Rejection::UnknownSigner)?;
    let key = Template::key(&o.template, o.version);
    let t = s
        .templates
        .get(&key)
        .ok_or_else(|| Rejection::UnknownTemplate(key.clone()))?;
    if s.has_case(&o.case_id) {
        return Err(Rejection::CaseExists(o.case_id.to_string()));
    }
    if o.documents.len() > 100 {
        return Err(bad_payload(ctx.kind, "at most 100 documents"));
    }
    let stages = t.stages.len();
    s.cases.insert(
        o.case_id.clone(),
        Case {
            id: o.case_id.clone(),
            template: o.template.clone(),
            version: o.version,
            scope: o.scope.clone(),
            title: o.title.clone(),
            documents: o.documents.clone(),
            applicant: o.applicant,
            opener: official,
            status: super::workflow::CaseStatus::Open,
            current: 0,
            reached_at: ctx.time,
            approvals: vec![Vec::new(); stages],
            round: 0,
            events: vec![CaseEvent {
                height: ctx.height,
                time: ctx.time,
                tx_id: ctx.tx_id,
                official,
                action: "open".into(),
                stage: None,
                comment: String::new(),
                attachments: o.documents.clone(),
            }],
        },
    );
    Ok(())
}

fn describe(r: &Range<usize>) -> String {
    if r.len() == 1 {
        r.start.to_string()
    } else {
        format!("{}–{}", r.start, r.end - 1)
    }
}

/// What a valid signature changes: the stage's group, its reject rule and
/// every stage's threshold.
struct SignPlan {
    official: KeyId,
    group: Range<usize>,
    on_reject: (OnReject, Option<usize>),
    thresholds: Vec<usize>,
}

/// Every check of `case.sign_step`, without changing anything.
fn plan_sign(s: &State, ctx: &Ctx<'_>, x: &SignStep) -> Result<SignPlan, Rejection> {
    let official = ctx.official.ok_or(Rejection::UnknownSigner)?;
    let case = s
        .case(&x.case_id)?
        .ok_or_else(|| Rejection::UnknownCase(x.case_id.to_string()))?;
    if case.status != CaseStatus::Open {
        return Err(Rejection::CaseClosed {
            case: x.case_id.to_string(),
            status: case.status.as_str().into(),
        });
    }
    let t = s
        .templates
        .get(&Template::key(&case.template, case.version))
        .ok_or_else(|| Rejection::UnknownTemplate(Template::key(&case.template, case.version)))?;
    if let Some(stage) = case.expired_stage(t, ctx.time) {
        return Err(Rejection::Expired {
            case: x.case_id.to_string(),
            stage,
        });
    }
    let group = t.group_of(case.current);
    let waiting = case.waiting_stages(t);
    if !waiting.contains(&x.stage) {
        return Err(Rejection::OutOfOrder {
            case: x.case_id.to_string(),
            expected: if waiting.is_empty() {
                describe(&group)
            } else {
                waiting
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            found: x.stage,
        });
    }
    let stage = &t.stages[x.stage];
    if !s.has_role(
        &official,
        &stage.department,
        &stage.role,
        &case.scope,
        ctx.time,
    ) {
        return Err(Rejection::RoleMissing {
            role: stage.role.to_string(),
            department: stage.department.to_string(),
            scope: case.scope.to_string(),
        });
    }
    if case.approvals[x.stage].contains(&official) {
        return Err(Rejection::AlreadySigned {
            case: x.case_id.to_string(),
            stage: x.stage,
        });
    }
    if x.decision == Decision::Reject && x.comment.trim().is_empty() {
        return Err(Rejection::CommentRequired);
    }
    if x.attachments.len() > 100 {
        return Err(bad_payload(ctx.kind, "at most 100 attachments"));
    }

    Ok(SignPlan {
        official,
        group,
        on_reject: (stage.on_reject, stage.return_to),
        thresholds: t.stages.iter().map(|st| st.threshold as usize).collect(),
    })
}

pub(super) fn sign_step(s: &mut State, ctx: &Ctx<'_>, x: &SignStep) -> Result<(), Rejection> {
    let SignPlan {
        official,
        group,
        on_reject,
        thresholds,
    } = plan_sign(s, ctx, x)?;
    let Some(case) = s.case_mut(&x.case_id)? else {
        return Err(Rejection::UnknownCase(x.case_id.to_string()));
    };
    let action = match x.decision {
        Decision::Approve => {
            case.approvals[x.stage].push(official);
            if group
                .clone()
                .all(|i| case.approvals[i].len() >= thresholds[i])
            {
                case.current = group.end;
                case.reached_at = ctx.time;
                if case.current == thresholds.len() {
                    case.status = CaseStatus::Approved;
                }
            }
            "approve"
        }
        Decision::Reject => {
            match on_reject {
                (OnReject::Return, Some(to)) => {
                    for a in &mut case.approvals[to..] {
                        a.clear();
                    }
                    case.current = to;
                    case.reached_at = ctx.time;
                    case.round += 1;
                }
                _ => case.status = CaseStatus::Rejected,
            }
            "reject"
        }
    };
    case.events.push(CaseEvent {
        height: ctx.height,
        time: ctx.time,
        tx_id: ctx.tx_id,
        official,
        action: action.into(),
        stage: Some(x.stage),
        comment: x.comment.clone(),
        attachments: x.attachments.clone(),
    });
    Ok(())
}

pub(super) fn withdraw(s: &mut State, ctx: &Ctx<'_>, w: &WithdrawCase) -> Result<(), Rejection> {
    let official = ctx.official.ok_or(Rejection::UnknownSigner)?;
    let case = s
        .case_mut(&w.case_id)?
        .ok_or_else(|| Rejection::UnknownCase(w.case_id.to_string()))?;
    if case.status != CaseStatus::Open {
        return Err(Rejection::CaseClosed {
            case: w.case_id.to_string(),
            status: case.status.as_str().into(),
        });
    }
    if case.opener != official {
        return Err(Rejection::NotOpener(w.case_id.to_string()));
    }
    case.status = CaseStatus::Withdrawn;
    case.events.push(CaseEvent {
        height: ctx.height,
        time: ctx.time,
        tx_id: ctx.tx_id,
        official,
        action: "withdraw".into(),
        stage: None,
        comment: w.reason.clone(),
        attachments: Vec::new(),
    });
    Ok(())
}
