//! Engineering funds: projects with a budget and four parties, and payments
//! that go request (contractor) → confirm (supervisor) → approve (the
//! project's approvers, in order) → execute (operator). Invariants:
//! paid + pending ≤ budget, payroll ≤ amount, no step skipped.
//!
//! A payroll is either inline in `payment.request` (small payrolls) or
//! committed to there — Merkle root, total and line count — and sent in
//! order in `payment.payroll_chunk` transactions, each under the 64 KiB
//! envelope limit; the payment cannot be confirmed until the lines received
//! match the commitment (PROTOCOL.md §12.5); that part is
//! [`super::payroll`], re-exported here.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::kinds::{
    CreateProject, ExecutePayment, Parties, Party, PayrollLine, RefId, RequestPayment,
    ReviewPayment, Verdict,
};
use super::{bad_payload, Ctx, Rejection, State};
use crate::crypto::KeyId;
use crate::merkle::Frontier;
use crate::types::{Fen, Hash32, Timestamp};

pub(super) use super::payroll::payroll_chunk;
pub use super::payroll::{
    payroll_chunks, payroll_leaf_hash, payroll_line_jcs, payroll_root, PayrollCommitment,
    MAX_INLINE_PAYROLL_LINES, MAX_PAYROLL_LINES, PAYROLL_CHUNK_LINES, PAYROLL_LEAF_PREFIX,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    Requested,
    Confirmed,
    Approved,
    Executed,
    Refused,
}

impl PaymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Requested => "requested",
            PaymentStatus::Confirmed => "confirmed",
            PaymentStatus::Approved => "approved",
            PaymentStatus::Executed => "executed",
            PaymentStatus::Refused => "refused",
        }
    }

    /// Still counted against the budget as pending.
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            PaymentStatus::Requested | PaymentStatus::Confirmed | PaymentStatus::Approved
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentEvent {
    pub height: u64,
    pub time: Timestamp,
    pub tx_id: Hash32,
    pub official: KeyId,
    /// `request`, `confirm`, `approve`, `refuse` or `execute`.
    pub step: String,
    pub comment: String,
}

/// A payment. Its JSON (the HTTP API's) lists every payroll line; in the
/// state entry (PROTOCOL.md §12.7) a committed payroll's lines are
/// left out — `payroll_commitment.received`, the frontier over their leaf
/// hashes, commits to them — so a large payroll does not make every later
/// change to the payment re-hash it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Payment {
    pub id: RefId,
    pub amount: Fen,
    pub purpose: String,
    pub milestone: String,
    pub invoices: Vec<Hash32>,
    /// The payroll lines: inline, or those received so far in chunks.
    #[serde(default)]
    pub payroll: Vec<PayrollLine>,
    /// A committed payroll (absent for an inline one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payroll_commitment: Option<PayrollCommitment>,
    pub status: PaymentStatus,
    /// How many of the project's approvers have approved.
    pub approvals_done: usize,
    pub transfer_ref: Option<String>,
    pub events: Vec<PaymentEvent>,
}

thread_local! {
    /// Set while a payment is serialized as its state entry ([`State::entry`]).
    static DIGEST_FORM: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// While alive, payments serialize in their state entry's form.
pub(crate) struct DigestForm(bool);

impl DigestForm {
    pub(crate) fn enter() -> Self {
        Self(DIGEST_FORM.with(|f| f.replace(true)))
    }
}

impl Drop for DigestForm {
    fn drop(&mut self) {
        DIGEST_FORM.with(|f| f.set(self.0));
    }
}

impl Serialize for Payment {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Repr<'a> {
            id: &'a RefId,
            amount: Fen,
            purpose: &'a str,
            milestone: &'a str,
            invoices: &'a [Hash32],
            #[serde(skip_serializing_if = "Option::is_none")]
            payroll: Option<&'a [PayrollLine]>,
            #[serde(skip_serializing_if = "Option::is_none")]
            payroll_commitment: Option<&'a PayrollCommitment>,
            status: PaymentStatus,
            approvals_done: usize,
            transfer_ref: &'a Option<String>,
            events: &'a [PaymentEvent],
        }
        let digest_form = DIGEST_FORM.with(std::cell::Cell::get);
        Repr {
            id: &self.id,
            amount: self.amount,
            purpose: &self.purpose,
            milestone: &self.milestone,
            invoices: &self.invoices,
            payroll: (!digest_form || self.payroll_commitment.is_none())
                .then_some(self.payroll.as_slice()),
            payroll_commitment: self.payroll_commitment.as_ref(),
            status: self.status,
            approvals_done: self.approvals_done,
            transfer_ref: &self.transfer_ref,
            events: &self.events,
        }
        .serialize(serializer)
    }
}

impl Payment {
    /// Whether every payroll line is on chain (always, for an inline payroll).
    pub fn payroll_complete(&self) -> bool {
        self.payroll_commitment
            .as_ref()
            .is_none_or(PayrollCommitment::is_complete)
    }

    /// The sum of the payroll lines on chain.
    pub fn payroll_total(&self) -> Fen {
        self.payroll.iter().fold(Fen::ZERO, |acc, l| {
            acc.checked_add(l.amount).unwrap_or(Fen::MAX)
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project {
    pub id: RefId,
    pub name: String,
    pub budget: Fen,
    pub parties: Parties,
    pub approvers: Vec<Party>,
    pub created_at: u64,
    pub paid: Fen,
    pub pending: Fen,
    /// Shared maps of shared payments: changing one payment (after the
    /// copy-on-write of a scratch state) copies that payment, not the
    /// project's others.
    pub payments: imbl::OrdMap<RefId, Arc<Payment>>,
}

impl Project {
    /// The payment `id` to change (copied first if a scratch state shares it).
    pub fn payment_mut(&mut self, id: &RefId) -> Option<&mut Payment> {
        self.payments.get_mut(id).map(Arc::make_mut)
    }

    /// What the next step of `p` is and who must sign it.
    pub fn next_step(&self, p: &Payment) -> Option<(&'static str, Party)> {
        match p.status {
            PaymentStatus::Requested => Some(("payment.confirm", Party::Supervisor)),
            PaymentStatus::Confirmed => self
                .approvers
                .get(p.approvals_done)
                .map(|party| ("payment.approve", *party)),
            PaymentStatus::Approved => Some(("payment.execute", Party::Operator)),
            PaymentStatus::Executed | PaymentStatus::Refused => None,
        }
    }
}

pub(super) fn overflow(e: &crate::types::TypeError) -> Rejection {
    Rejection::AmountOverflow(e.to_string())
}

pub(super) fn create_project(
    s: &mut State,
    ctx: &Ctx<'_>,
    c: &CreateProject,
) -> Result<(), Rejection> {
    let official = ctx.official.ok_or(Rejection::UnknownSigner)?;
    if s.projects.contains_key(&c.project_id) {
        return Err(Rejection::ProjectExists(c.project_id.to_string()));
    }
    if official != c.parties.developer {
        return Err(Rejection::WrongParty {
            project: c.project_id.to_string(),
            party: "developer".into(),
        });
    }
    for party in [
        Party::Developer,
        Party::Contractor,
        Party::Supervisor,
        Party::Operator,
    ] {
        let id = c.parties.get(party);
        let o = s
            .officials
            .get(&id)
            .ok_or_else(|| Rejection::UnknownOfficial(id.to_string()))?;
        if o.revoked_at.is_some() {
            return Err(Rejection::OfficialRevoked(id.to_string()));
        }
    }
    if c.budget == Fen::ZERO {
        return Err(bad_payload(ctx.kind, "budget must be positive"));
    }
    let mut seen = std::collections::BTreeSet::new();
    if c.approvers.is_empty()
        || c.approvers.len() > 2
        || c.approvers
            .iter()
            .any(|p| !matches!(p, Party::Developer | Party::Operator) || !seen.insert(*p))
    {
        return Err(bad_payload(
            ctx.kind,
            "approvers must be developer and/or operator, each at most once",
        ));
    }
    s.projects.insert(
        c.project_id.clone(),
        Project {
            id: c.project_id.clone(),
            name: c.name.clone(),
            budget: c.budget,
            parties: c.parties.clone(),
            approvers: c.approvers.clone(),
            created_at: ctx.height,
            paid: Fen::ZERO,
            pending: Fen::ZERO,
            payments: imbl::OrdMap::new(),
        },
    );
    Ok(())
}

pub(super) fn project<'a>(s: &'a State, id: &RefId) -> Result<&'a Project, Rejection> {
    s.projects
        .get(id)
        .ok_or_else(|| Rejection::UnknownProject(id.to_string()))
}

pub(super) fn require_party(p: &Project, official: KeyId, party: Party) -> Result<(), Rejection> {
    if p.parties.get(party) == official {
        Ok(())
    } else {
        Err(Rejection::WrongParty {
            project: p.id.to_string(),
            party: party.as_str().into(),
        })
    }
}

pub(super) fn request(s: &mut State, ctx: &Ctx<'_>, r: &RequestPayment) -> Result<(), Rejection> {
    let official = ctx.official.ok_or(Rejection::UnknownSigner)?;
    let p = project(s, &r.project_id)?;
    require_party(p, official, Party::Contractor)?;
    if p.payments.contains_key(&r.payment_id) {
        return Err(Rejection::PaymentExists(r.payment_id.to_string()));
    }
    if r.amount == Fen::ZERO {
        return Err(bad_payload(ctx.kind, "amount must be positive"));
    }
    if r.invoices.len() > 100 || r.payroll.len() > MAX_INLINE_PAYROLL_LINES {
        return Err(bad_payload(
            ctx.kind,
            "at most 100 invoices and 1000 inline payroll lines (commit to a larger payroll with payroll_root)",
        ));
    }
    let commitment = match (r.payroll_root, r.payroll_total, r.payroll_lines) {
        (None, None, None) => None,
        (Some(root), Some(total), Some(lines)) => {
            if !r.payroll.is_empty() {
                return Err(bad_payload(
                    ctx.kind,
                    "payroll must be empty when payroll_root commits to the lines",
                ));
            }
            if lines == 0 || lines > MAX_PAYROLL_LINES {
                return Err(bad_payload(ctx.kind, "payroll_lines must be 1 to 100000"));
            }
            Some(PayrollCommitment {
                root,
                total,
                lines,
                received_total: Fen::ZERO,
                received: Frontier::default(),
            })
        }
        _ => {
            return Err(bad_payload(
                ctx.kind,
                "payroll_root, payroll_total and payroll_lines go together",
            ))
        }
    };
    let payroll = match &commitment {
        Some(c) => c.total,
        None => r
            .payroll
            .iter()
            .try_fold(Fen::ZERO, |acc, l| acc.checked_add(l.amount))
            .map_err(|e| overflow(&e))?,
    };
    if payroll > r.amount {
        return Err(Rejection::PayrollExceedsAmount {
            payroll,
            amount: r.amount,
        });
    }
    let committed = p.paid.checked_add(p.pending).map_err(|e| overflow(&e))?;
    let available = p.budget.checked_sub(committed).unwrap_or(Fen::ZERO);
    if r.amount > available {
        return Err(Rejection::OverBudget {
            requested: r.amount,
            available,
            budget: p.budget,
            paid: p.paid,
            pending: p.pending,
        });
    }
    let pending = p.pending.checked_add(r.amount).map_err(|e| overflow(&e))?;
    let Some(p) = s.projects.get_mut(&r.project_id) else {
        return Err(Rejection::UnknownProject(r.project_id.to_string()));
    };
    p.pending = pending;
    p.payments.insert(
        r.payment_id.clone(),
        Arc::new(Payment {
            id: r.payment_id.clone(),
            amount: r.amount,
            purpose: r.purpose.clone(),
            milestone: r.milestone.clone(),
            invoices: r.invoices.clone(),
            payroll: r.payroll.clone(),
            payroll_commitment: commitment,
            status: PaymentStatus::Requested,
            approvals_done: 0,
            transfer_ref: None,
            events: vec![PaymentEvent {
                height: ctx.height,
                time: ctx.time,
                tx_id: ctx.tx_id,
                official,
                step: "request".into(),
                comment: String::new(),
            }],
        }),
    );
    s.payment_changes
        .push((r.project_id.clone(), r.payment_id.clone()));
    Ok(())
}

/// Checks that `payment` is at step `kind` and that the signer is the party
/// that must sign it; returns that party. Then [`project_mut`] changes the
/// project in place: a step never copies the project's other payments.
fn at_step(
    s: &State,
    ctx: &Ctx<'_>,
    project_id: &RefId,
    payment_id: &RefId,
) -> Result<Party, Rejection> {
    let official = ctx.official.ok_or(Rejection::UnknownSigner)?;
    let p = project(s, project_id)?;
    let pay = p
        .payments
        .get(payment_id)
        .ok_or_else(|| Rejection::UnknownPayment(payment_id.to_string()))?;
    let out_of_order = |next: String| Rejection::PaymentOutOfOrder {
        payment: payment_id.to_string(),
        status: pay.status.as_str().into(),
        next,
    };
    let (step, party) = p
        .next_step(pay)
        .ok_or_else(|| out_of_order("none (the payment is closed)".into()))?;
    if step != ctx.kind {
        return Err(out_of_order(format!("{step} by the {}", party.as_str())));
    }
    require_party(p, official, party)?;
    Ok(party)
}

fn project_mut<'a>(s: &'a mut State, id: &RefId) -> Result<&'a mut Project, Rejection> {
    s.projects
        .get_mut(id)
        .ok_or_else(|| Rejection::UnknownProject(id.to_string()))
}

fn record(p: &mut Project, payment_id: &RefId, ctx: &Ctx<'_>, step: &str, comment: &str) {
    if let (Some(pay), Some(official)) = (p.payment_mut(payment_id), ctx.official) {
        pay.events.push(PaymentEvent {
            height: ctx.height,
            time: ctx.time,
            tx_id: ctx.tx_id,
            official,
            step: step.into(),
            comment: comment.into(),
        });
    }
}

/// Refuses the payment; changes nothing when it fails.
fn refuse(p: &mut Project, payment_id: &RefId, comment: &str) -> Result<(), Rejection> {
    if comment.trim().is_empty() {
        return Err(Rejection::CommentRequired);
    }
    let amount = p.payments.get(payment_id).map_or(Fen::ZERO, |x| x.amount);
    p.pending = p.pending.checked_sub(amount).map_err(|e| overflow(&e))?;
    if let Some(pay) = p.payment_mut(payment_id) {
        pay.status = PaymentStatus::Refused;
    }
    Ok(())
}

/// `payment.confirm` and `payment.approve`: a refusal (with a comment)
/// releases the amount; an acceptance moves the payment on via `accept`.
fn review(
    s: &mut State,
    ctx: &Ctx<'_>,
    r: &ReviewPayment,
    step: &str,
    accept: impl FnOnce(&mut Payment, usize),
) -> Result<(), Rejection> {
    at_step(s, ctx, &r.project_id, &r.payment_id)?;
    let p = project_mut(s, &r.project_id)?;
    let n = p.approvers.len();
    let step = match r.verdict {
        Verdict::Accept => {
            if let Some(pay) = p.payment_mut(&r.payment_id) {
                accept(pay, n);
            }
            step
        }
        Verdict::Refuse => {
            refuse(p, &r.payment_id, &r.comment)?;
            "refuse"
        }
    };
    record(p, &r.payment_id, ctx, step, &r.comment);
    s.payment_changes
        .push((r.project_id.clone(), r.payment_id.clone()));
    Ok(())
}

pub(super) fn confirm(s: &mut State, ctx: &Ctx<'_>, r: &ReviewPayment) -> Result<(), Rejection> {
    if r.verdict == Verdict::Accept {
        let commit = s
            .projects
            .get(&r.project_id)
            .and_then(|p| p.payments.get(&r.payment_id))
            .filter(|pay| pay.status == PaymentStatus::Requested)
            .and_then(|pay| pay.payroll_commitment.as_ref());
        if let Some(c) = commit.filter(|c| !c.is_complete()) {
            // Who may confirm is checked first, so a stranger learns nothing new.
            at_step(s, ctx, &r.project_id, &r.payment_id)?;
            return Err(Rejection::PayrollIncomplete {
                payment: r.payment_id.to_string(),
                received: c.received_lines(),
                lines: c.lines,
            });
        }
    }
    review(s, ctx, r, "confirm", |pay, _| {
        pay.status = PaymentStatus::Confirmed;
    })
}

pub(super) fn approve(s: &mut State, ctx: &Ctx<'_>, r: &ReviewPayment) -> Result<(), Rejection> {
    review(s, ctx, r, "approve", |pay, approvers| {
        pay.approvals_done += 1;
        if pay.approvals_done == approvers {
            pay.status = PaymentStatus::Approved;
        }
    })
}

pub(super) fn execute(s: &mut State, ctx: &Ctx<'_>, e: &ExecutePayment) -> Result<(), Rejection> {
    at_step(s, ctx, &e.project_id, &e.payment_id)?;
    if e.transfer_ref.trim().is_empty() {
        return Err(bad_payload(ctx.kind, "transfer_ref is required"));
    }
    let p = project_mut(s, &e.project_id)?;
    let amount = p
        .payments
        .get(&e.payment_id)
        .map_or(Fen::ZERO, |x| x.amount);
    let pending = p.pending.checked_sub(amount).map_err(|x| overflow(&x))?;
    let paid = p.paid.checked_add(amount).map_err(|x| overflow(&x))?;
    (p.pending, p.paid) = (pending, paid);
    if let Some(pay) = p.payment_mut(&e.payment_id) {
        pay.status = PaymentStatus::Executed;
        pay.transfer_ref = Some(e.transfer_ref.clone());
    }
    record(p, &e.payment_id, ctx, "execute", &e.transfer_ref);
    s.payment_changes
        .push((e.project_id.clone(), e.payment_id.clone()));
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn line(i: u64) -> PayrollLine {
        PayrollLine {
            worker: Hash32::sha256(&i.to_be_bytes()),
            amount: Fen::new(1_000_000 + i).unwrap(),
        }
    }

    #[test]
    fn the_digest_form_leaves_out_committed_lines_only() {
        let mut pay = Payment {
            id: RefId::try_from("p".to_owned()).unwrap(),
            amount: Fen::new(10_000_000).unwrap(),
            purpose: String::new(),
            milestone: String::new(),
            invoices: vec![],
            payroll: (0..3).map(line).collect(),
            payroll_commitment: None,
            status: PaymentStatus::Requested,
            approvals_done: 0,
            transfer_ref: None,
            events: vec![],
        };
        let api = |p: &Payment| serde_json::to_value(p).unwrap();
        let digest = |p: &Payment| {
            let _f = DigestForm::enter();
            serde_json::to_value(p).unwrap()
        };
        assert_eq!(api(&pay), digest(&pay), "inline: one form");
        assert_eq!(api(&pay)["payroll"].as_array().unwrap().len(), 3);
        let mut received = Frontier::default();
        for l in &pay.payroll {
            received.push_hash(payroll_leaf_hash(l));
        }
        pay.payroll_commitment = Some(PayrollCommitment {
            root: received.root(),
            total: pay.payroll_total(),
            lines: 3,
            received_total: pay.payroll_total(),
            received,
        });
        assert_eq!(api(&pay)["payroll"].as_array().unwrap().len(), 3);
        assert!(digest(&pay).get("payroll").is_none());
        assert!(digest(&pay).get("payroll_commitment").is_some());
        // The flag does not outlive the digest.
        assert!(api(&pay).get("payroll").is_some());
        let back: Payment = serde_json::from_value(api(&pay)).unwrap();
        assert_eq!(back, pay);
    }
}
