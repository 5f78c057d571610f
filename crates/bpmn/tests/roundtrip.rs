//! export then import gives back the template, with no group map: the
//! export names candidate groups `department:role`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{fixture, groups};
use govchain_bpmn::{export, import, GroupMap};
use govchain_ledger::state::fixtures::renovation_template;
use govchain_ledger::state::kinds::DefineWorkflow;

fn round_trip(t: &DefineWorkflow) {
    let xml = export(t);
    let back = import(&xml, &GroupMap::default())
        .unwrap_or_else(|e| panic!("{e}\n{xml}"))
        .into_workflow(None, None)
        .unwrap();
    assert_eq!(&back, t, "{xml}");
    // The export is stable.
    assert_eq!(export(&back), xml);
}

#[test]
fn renovation_template_round_trips_with_its_rejection_rules() {
    round_trip(&renovation_template());
}

#[test]
fn joint_acceptance_example_round_trips() {
    let path = format!(
        "{}/../../docs/examples/workflow-joint-acceptance.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let t: DefineWorkflow = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    round_trip(&t);
}

#[test]
fn every_fixture_round_trips() {
    for f in [
        "flowable-renovation.bpmn20.xml",
        "camunda-joint-acceptance.bpmn",
        "activiti-expert-review.bpmn",
        "standard-committee.bpmn",
    ] {
        let t = import(&fixture(f), &groups())
            .unwrap()
            .into_workflow(None, Some(3))
            .unwrap();
        round_trip(&t);
    }
}

#[test]
fn export_speaks_the_dialects() {
    let xml = export(&renovation_template());
    for needle in [
        "<bpmn:potentialOwner>",
        r#"camunda:candidateGroups="fire:fire-inspector""#,
        r#"flowable:candidateGroups="fire:fire-inspector""#,
        "<bpmn:timeDuration xsi:type=\"bpmn:tFormalExpression\">P30D</bpmn:timeDuration>",
        "<bpmndi:BPMNShape id=\"stage_0_di\" bpmnElement=\"stage_0\">",
    ] {
        assert!(xml.contains(needle), "{needle} in {xml}");
    }
}

/// Every element and flow has its diagram shape or edge, so modelling
/// tools draw the whole process.
#[test]
fn the_diagram_covers_every_element() {
    let t: DefineWorkflow = serde_json::from_str(
        &std::fs::read_to_string(format!(
            "{}/../../docs/examples/workflow-joint-acceptance.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
    )
    .unwrap();
    let xml = export(&t);
    let ids: Vec<&str> = xml
        .split(" id=\"")
        .skip(1)
        .filter_map(|r| r.split('"').next())
        .filter(|id| {
            !id.ends_with("_di")
                && !id.ends_with("_timer")
                && !id.starts_with("definitions_")
                && !id.starts_with("diagram_")
                && !id.starts_with("plane_")
        })
        .collect();
    assert!(ids.len() > 20, "{ids:?}");
    for id in ids {
        if id == t.id.as_str() {
            continue;
        }
        assert!(
            xml.contains(&format!("bpmnElement=\"{id}\"")),
            "{id} has no diagram element"
        );
    }
}

#[test]
fn odd_templates_round_trip() {
    let mut t = renovation_template();
    // A template id that is not an XML name, a one-stage group, a group
    // next to another, a 0-second and an odd deadline, a quorum.
    t.id = "7-day.review".to_owned().try_into().unwrap();
    t.name = "a <b> & \"c\"".into();
    t.stages[0].group = Some("g1".into());
    t.stages[1].group = Some("g 2".into());
    t.stages[2].group = Some("g 2".into());
    t.stages[1].deadline_secs = Some(0);
    t.stages[2].deadline_secs = Some(90_061);
    t.stages[2].return_to = Some(1);
    t.stages[3].threshold = 7;
    round_trip(&t);
}

/// Each fixture with one line left out (a cheap stand-in for the fuzz
/// target on stable): import never panics, and what imports round-trips.
#[test]
fn fixtures_missing_a_line_import_or_refuse_and_round_trip() {
    let mut imported = 0;
    for f in [
        "flowable-renovation.bpmn20.xml",
        "camunda-joint-acceptance.bpmn",
        "activiti-expert-review.bpmn",
        "standard-committee.bpmn",
        "refused-exclusive-script.bpmn",
    ] {
        let text = fixture(f);
        let lines: Vec<&str> = text.lines().collect();
        for skip in 0..lines.len() {
            let xml: Vec<&str> = lines
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != skip)
                .map(|(_, l)| *l)
                .collect();
            let Ok(t) = import(&xml.join("\n"), &groups()) else {
                continue;
            };
            imported += 1;
            round_trip(
                &t.into_workflow(Some("x".to_owned().try_into().unwrap()), None)
                    .unwrap(),
            );
        }
    }
    assert!(imported > 20, "{imported}");
}
