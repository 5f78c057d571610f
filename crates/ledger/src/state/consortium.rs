//! Consortium, identity and role rules: genesis, adding a department,
//! registering, revoking and rotating officials' keys, granting and revoking
//! roles — with k-of-n admin approval for every admin action.

use std::collections::BTreeSet;

use imbl::OrdSet;

use super::kinds::{
    DepartmentSpec, DeptId, GrantRole, RegisterOfficial, RetireNode, RevokeOfficial, RevokeRole,
    RotateKey,
};
use super::{
    admin_role, bad_payload, star, Ctx, Department, Grant, KeyEpoch, Official, Proposal, Rejection,
    State,
};
use crate::crypto::{KeyId, PublicKey};
use crate::tx::Envelope;
use crate::types::Hash32;

fn registrable(key: &PublicKey) -> Result<(), Rejection> {
    PublicKey::parse_registrable(*key.as_bytes())
        .map(|_| ())
        .map_err(|e| Rejection::WeakKey(e.to_string()))
}

fn check_department_spec(kind: &str, d: &DepartmentSpec) -> Result<(), Rejection> {
    registrable(&d.node_key)?;
    if d.admins.is_empty() {
        return Err(bad_payload(
            kind,
            &format!("department {} needs at least one admin", d.id),
        ));
    }
    let n = u32::try_from(d.admins.len()).unwrap_or(u32::MAX);
    if d.admin_threshold == 0 || d.admin_threshold > n {
        return Err(bad_payload(
            kind,
            &format!("admin_threshold of {} must be between 1 and {n}", d.id),
        ));
    }
    for a in &d.admins {
        registrable(&a.public_key)?;
    }
    Ok(())
}

/// Inserts a department and registers its admins with the `admin` role.
fn install_department(s: &mut State, d: &DepartmentSpec, height: u64, tx_id: Hash32) {
    s.departments.insert(
        d.id.clone(),
        Department {
            id: d.id.clone(),
            name: d.name.clone(),
            parent: d.parent.clone(),
            node_key: d.node_key,
            admin_threshold: d.admin_threshold,
            node_retired_at: None,
        },
    );
    for a in &d.admins {
        let id = a.public_key.key_id();
        s.officials.insert(
            id,
            Official {
                id,
                name: a.name.clone(),
                department: d.id.clone(),
                keys: vec![KeyEpoch {
                    key: a.public_key,
                    from_height: height,
                    until_height: None,
                }],
                revoked_at: None,
                registered_at: height,
            },
        );
        s.key_index.insert(id, id);
        let grant_id = Hash32::sha256(&[tx_id.0.as_slice(), id.as_bytes()].concat());
        s.add_grant(Grant {
            id: grant_id,
            official: id,
            department: d.id.clone(),
            role: admin_role(),
            scope: star(),
            granted_at: height,
            expires_at: None,
            valid_from: None,
        });
    }
}

/// Every key that would be registered by these department specs, checked for
/// duplicates among themselves and against the state.
fn check_new_keys<'a>(
    s: &State,
    keys: impl Iterator<Item = &'a PublicKey>,
) -> Result<(), Rejection> {
    let mut seen = BTreeSet::new();
    for k in keys {
        let id = k.key_id();
        if let Some(owner) = s.key_index.get(&id) {
            return Err(Rejection::KeyInUse(owner.to_string()));
        }
        if s.holders.contains_key(&id) {
            return Err(Rejection::KeyInUse(id.to_string()));
        }
        if !seen.insert(id) {
            return Err(Rejection::KeyInUse(id.to_string()));
        }
    }
    Ok(())
}

pub(super) fn genesis(
    s: &mut State,
    env: &Envelope,
    g: &super::kinds::Genesis,
    height: u64,
    tx_id: Hash32,
) -> Result<(), Rejection> {
    let kind = "consortium.genesis";
    if s.chain_id.is_some() {
        return Err(Rejection::GenesisExists);
    }
    if height != 0 {
        return Err(bad_payload(kind, "genesis must be in block 0"));
    }
    if g.departments.is_empty() {
        return Err(bad_payload(kind, "at least one department is required"));
    }
    let mut ids = BTreeSet::new();
    for d in &g.departments {
        if !ids.insert(d.id.clone()) {
            return Err(Rejection::DepartmentExists(d.id.to_string()));
        }
        check_department_spec(kind, d)?;
    }
    for d in &g.departments {
        if let Some(p) = &d.parent {
            if !ids.contains(p) {
                return Err(Rejection::UnknownDepartment(p.to_string()));
            }
        }
    }
    let n = u32::try_from(g.departments.len()).unwrap_or(u32::MAX);
    if g.consortium_threshold == 0 || g.consortium_threshold > n {
        return Err(bad_payload(
            kind,
            &format!("consortium_threshold must be between 1 and {n}"),
        ));
    }
    check_new_keys(
        s,
        g.departments
            .iter()
            .flat_map(|d| d.admins.iter().map(|a| &a.public_key)),
    )?;
    // The genesis is signed by one of the founding admins.
    let signer_key = g
        .departments
        .iter()
        .flat_map(|d| d.admins.iter())
        .find(|a| a.public_key.key_id() == env.body.signer)
        .map(|a| a.public_key)
        .ok_or(Rejection::UnknownSigner)?;
    env.verify(&signer_key)
        .map_err(|_| Rejection::BadSignature)?;
    if env.body.seq == 0 {
        return Err(Rejection::Replayed { seq: 0, last: 0 });
    }

    s.chain_id = Some(env.body.chain_id.clone());
    s.origin = Some(g.origin.clone());
    s.consortium_threshold = g.consortium_threshold;
    for d in &g.departments {
        install_department(s, d, height, tx_id);
    }
    s.seqs.insert(env.body.signer, env.body.seq);
    s.tx_count += 1;
    Ok(())
}

/// Records the signer's approval of an admin action. Returns `true` when the
/// action has enough approvals and must be executed now (the proposal is then
/// removed), `false` when it stays pending. `count` maps the set of approving
/// officials to the number that counts (distinct admins or departments).
fn approve(
    s: &mut State,
    ctx: &Ctx<'_>,
    needed: usize,
    count: impl Fn(&State, &OrdSet<KeyId>) -> usize,
) -> Result<bool, Rejection> {
    let official = ctx.official.ok_or(Rejection::UnknownSigner)?;
    let digest = ctx.action_digest;
    let mut proposal = s
        .proposals
        .get(&digest)
        .cloned()
        .unwrap_or_else(|| Proposal {
            kind: ctx.kind.to_owned(),
            approvals: OrdSet::new(),
            needed,
            first_height: ctx.height,
        });
    // An approval that adds nothing (the same admin again, or another admin
    // of a department that already approved) is refused, not recorded.
    let before = count(s, &proposal.approvals);
    proposal.approvals.insert(official);
    let after = count(s, &proposal.approvals);
    if after == before {
        return Err(Rejection::AlreadyApproved {
            missing: needed.saturating_sub(before),
        });
    }
    if after >= needed {
        s.proposals.remove(&digest);
        Ok(true)
    } else {
        s.proposals.insert(digest, proposal);
        Ok(false)
    }
}

fn distinct_admins(_: &State, set: &OrdSet<KeyId>) -> usize {
    set.len()
}

/// Approval by the admins of `dept`; `true` when the action executes now.
fn department_approval(s: &mut State, ctx: &Ctx<'_>, dept: &DeptId) -> Result<bool, Rejection> {
    let official = ctx.official.ok_or(Rejection::UnknownSigner)?;
    let d = s
        .departments
        .get(dept)
        .ok_or_else(|| Rejection::UnknownDepartment(dept.to_string()))?;
    let needed = d.admin_threshold as usize;
    if !s.is_admin(&official, dept, ctx.time) {
        return Err(Rejection::NotAdmin(dept.to_string()));
    }
    approve(s, ctx, needed, distinct_admins)
}

pub(super) fn add_department(
    s: &mut State,
    ctx: &Ctx<'_>,
    d: &DepartmentSpec,
) -> Result<(), Rejection> {
    if s.departments.contains_key(&d.id) {
        return Err(Rejection::DepartmentExists(d.id.to_string()));
    }
    if let Some(p) = &d.parent {
        if !s.departments.contains_key(p) {
            return Err(Rejection::UnknownDepartment(p.to_string()));
        }
    }
    check_department_spec(ctx.kind, d)?;
    check_new_keys(s, d.admins.iter().map(|a| &a.public_key))?;
    if consortium_approval(s, ctx)? {
        install_department(s, d, ctx.height, ctx.tx_id);
    }
    Ok(())
}

/// Counts the signer's approval of a consortium admin action: admins of
/// `consortium_threshold` distinct departments. True when the action runs.
fn consortium_approval(s: &mut State, ctx: &Ctx<'_>) -> Result<bool, Rejection> {
    s.signer_home_admin(ctx)?;
    let needed = s.consortium_threshold as usize;
    let departments = |st: &State, set: &OrdSet<KeyId>| -> usize {
        set.iter()
            .filter_map(|o| st.officials.get(o).map(|x| x.department.clone()))
            .collect::<BTreeSet<_>>()
            .len()
    };
    approve(s, ctx, needed, departments)
}

/// `department.retire_node`: a consortium admin action (the threshold of
/// `department.add`); from the next block the department's node key
/// proposes nothing and its checkpoint signatures do not count.
pub(super) fn retire_node(s: &mut State, ctx: &Ctx<'_>, r: &RetireNode) -> Result<(), Rejection> {
    let d = s
        .departments
        .get(&r.department)
        .ok_or_else(|| Rejection::UnknownDepartment(r.department.to_string()))?;
    if !d.node_active() {
        return Err(Rejection::NodeRetired(r.department.to_string()));
    }
    if s.departments.values().filter(|d| d.node_active()).count() <= 1 {
        return Err(Rejection::LastNode(r.department.to_string()));
    }
    if consortium_approval(s, ctx)? {
        if let Some(d) = s.departments.get_mut(&r.department) {
            d.node_retired_at = Some(ctx.height);
        }
    }
    Ok(())
}

pub(super) fn register_official(
    s: &mut State,
    ctx: &Ctx<'_>,
    r: &RegisterOfficial,
) -> Result<(), Rejection> {
    registrable(&r.public_key)?;
    check_new_keys(s, std::iter::once(&r.public_key))?;
    if department_approval(s, ctx, &r.department)? {
        let id = r.public_key.key_id();
        s.officials.insert(
            id,
            Official {
                id,
                name: r.name.clone(),
                department: r.department.clone(),
                keys: vec![KeyEpoch {
                    key: r.public_key,
                    from_height: ctx.height,
                    until_height: None,
                }],
                revoked_at: None,
                registered_at: ctx.height,
            },
        );
        s.key_index.insert(id, id);
    }
    Ok(())
}

pub(super) fn revoke_official(
    s: &mut State,
    ctx: &Ctx<'_>,
    r: &RevokeOfficial,
) -> Result<(), Rejection> {
    let o = s
        .officials
        .get(&r.official)
        .ok_or_else(|| Rejection::UnknownOfficial(r.official.to_string()))?;
    if o.revoked_at.is_some() {
        return Err(Rejection::OfficialRevoked(r.official.to_string()));
    }
    let dept = o.department.clone();
    if department_approval(s, ctx, &dept)? {
        if let Some(o) = s.officials.get_mut(&r.official) {
            o.revoked_at = Some(ctx.height);
        }
    }
    Ok(())
}

pub(super) fn rotate_key(s: &mut State, ctx: &Ctx<'_>, r: &RotateKey) -> Result<(), Rejection> {
    let official = ctx.official.ok_or(Rejection::UnknownSigner)?;
    registrable(&r.new_public_key)?;
    check_new_keys(s, std::iter::once(&r.new_public_key))?;
    if r.effective_height <= ctx.height {
        return Err(Rejection::RotationHeight {
            current: ctx.height,
            requested: r.effective_height,
        });
    }
    let o = s
        .officials
        .get_mut(&official)
        .ok_or_else(|| Rejection::UnknownOfficial(official.to_string()))?;
    // A pending rotation is replaced by the new one.
    o.keys.retain(|e| e.from_height <= ctx.height);
    for e in &mut o.keys {
        if e.until_height.is_none_or(|u| u > r.effective_height) {
            e.until_height = Some(r.effective_height);
        }
    }
    o.keys.push(KeyEpoch {
        key: r.new_public_key,
        from_height: r.effective_height,
        until_height: None,
    });
    s.key_index.insert(r.new_public_key.key_id(), official);
    Ok(())
}

pub(super) fn grant_role(s: &mut State, ctx: &Ctx<'_>, g: &GrantRole) -> Result<(), Rejection> {
    if !s.departments.contains_key(&g.department) {
        return Err(Rejection::UnknownDepartment(g.department.to_string()));
    }
    let o = s
        .officials
        .get(&g.official)
        .ok_or_else(|| Rejection::UnknownOfficial(g.official.to_string()))?;
    if o.revoked_at.is_some() {
        return Err(Rejection::OfficialRevoked(g.official.to_string()));
    }
    if let (Some(from), Some(until)) = (g.valid_from, g.expires_at) {
        if from >= until {
            return Err(Rejection::BadPayload {
                kind: ctx.kind.to_owned(),
                detail: format!("valid_from {from} is not before expires_at {until}"),
            });
        }
    }
    if department_approval(s, ctx, &g.department)? {
        s.add_grant(Grant {
            id: ctx.tx_id,
            official: g.official,
            department: g.department.clone(),
            role: g.role.clone(),
            scope: g.scope.clone(),
            granted_at: ctx.height,
            expires_at: g.expires_at,
            valid_from: g.valid_from,
        });
    }
    Ok(())
}

pub(super) fn revoke_role(s: &mut State, ctx: &Ctx<'_>, r: &RevokeRole) -> Result<(), Rejection> {
    let dept = s
        .grants
        .get(&r.grant)
        .map(|g| g.department.clone())
        .ok_or_else(|| Rejection::UnknownGrant(r.grant.to_string()))?;
    if department_approval(s, ctx, &dept)? {
        s.remove_grant(&r.grant);
    }
    Ok(())
}
