//! Ready-made payloads from the real cases behind govchain, used by tests,
//! benchmarks and the workstation's embedded demo chain.

use super::kinds::{DefineWorkflow, DeptId, OnReject, RefId, Role, StageSpec};

/// Thirty days, the statutory time each department has for its review.
pub const THIRTY_DAYS: u64 = 30 * 24 * 3600;

/// The old-city renovation permit: city management → fire protection →
/// construction → the developer's acknowledgement, in that order. A fire or
/// construction rejection returns the case to the previous stage for rework;
/// a city-management rejection ends it.
pub fn renovation_template() -> DefineWorkflow {
    let stage =
        |name: &'static str, dept: &'static str, role: &'static str, on_reject, return_to| {
            StageSpec {
                name: name.into(),
                department: DeptId::from_static(dept),
                role: Role::from_static(role),
                threshold: 1,
                group: None,
                deadline_secs: Some(THIRTY_DAYS),
                on_reject,
                return_to,
            }
        };
    DefineWorkflow {
        id: RefId::from_static("old-city-renovation"),
        version: 1,
        name: "老旧小区改造审批 / Old-city renovation permit".into(),
        stages: vec![
            stage(
                "城市管理审查 / City management review",
                "city-management",
                "approver",
                OnReject::End,
                None,
            ),
            stage(
                "消防审查 / Fire protection review",
                "fire",
                "fire-inspector",
                OnReject::Return,
                Some(0),
            ),
            stage(
                "施工许可 / Construction permit",
                "construction",
                "approver",
                OnReject::Return,
                Some(1),
            ),
            stage(
                "建设单位确认 / Developer acknowledgement",
                "developer",
                "project-manager",
                OnReject::End,
                None,
            ),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixture_identifiers_are_valid() {
        let t = renovation_template();
        let v = serde_json::to_value(&t).unwrap();
        let back: DefineWorkflow = serde_json::from_value(v).unwrap();
        assert_eq!(back, t);
    }
}
