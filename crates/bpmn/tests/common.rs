//! Shared helpers of the BPMN tests: fixtures, the group map, expected
//! stages.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use govchain_bpmn::{Assignment, GroupMap};
use govchain_ledger::state::kinds::{OnReject, StageSpec};

pub fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// tests/fixtures/groups.toml, read by hand (the crate has no TOML
/// parser): `"name" = { department = "d", role = "r" }` per line.
pub fn groups() -> GroupMap {
    let mut map = BTreeMap::new();
    for line in fixture("groups.toml").lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, rest) = line.split_once(" = ").unwrap();
        let field = |f: &str| {
            let start = rest.find(&format!("{f} = \"")).unwrap() + f.len() + 4;
            let end = start + rest[start..].find('"').unwrap();
            rest[start..end].to_owned()
        };
        let a = Assignment {
            department: field("department").try_into().unwrap(),
            role: field("role").try_into().unwrap(),
        };
        map.insert(name.trim_matches('"').to_owned(), a);
    }
    GroupMap(map)
}

pub fn stage(
    name: &str,
    dept: &str,
    role: &str,
    threshold: u32,
    group: Option<&str>,
    deadline: Option<u64>,
) -> StageSpec {
    StageSpec {
        name: name.into(),
        department: dept.to_owned().try_into().unwrap(),
        role: role.to_owned().try_into().unwrap(),
        threshold,
        group: group.map(str::to_owned),
        deadline_secs: deadline,
        on_reject: OnReject::End,
        return_to: None,
    }
}

pub const DAY: u64 = 86_400;
