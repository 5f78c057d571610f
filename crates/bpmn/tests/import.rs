//! Each dialect's fixture imports to the expected template; what a template
//! cannot express is refused naming every element.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{fixture, groups, stage, DAY};
use govchain_bpmn::{candidate_groups, codes, import, BpmnError, GroupMap};
use govchain_ledger::state::fixtures::renovation_template;
use govchain_ledger::state::kinds::OnReject;
use govchain_ledger::ErrorCode;

#[test]
fn flowable_renovation_permit_is_the_renovation_template() {
    let imported = import(&fixture("flowable-renovation.bpmn20.xml"), &groups()).unwrap();
    let got = imported.into_workflow(None, None).unwrap();
    // BPMN has no word for "a rejection returns for rework": every stage
    // of an imported template ends the case on a rejection.
    let mut want = renovation_template();
    for s in &mut want.stages {
        s.on_reject = OnReject::End;
        s.return_to = None;
    }
    assert_eq!(got, want);
}

#[test]
fn camunda_parallel_gateway_and_timers() {
    let imported = import(&fixture("camunda-joint-acceptance.bpmn"), &groups()).unwrap();
    assert_eq!(
        imported.id.as_ref().map(ToString::to_string).as_deref(),
        Some("joint-acceptance")
    );
    assert_eq!(imported.version, Some(2));
    assert_eq!(
        imported.name,
        "改造工程联合验收 / Renovation joint acceptance"
    );
    let g = Some("joint-acceptance");
    assert_eq!(
        imported.stages,
        vec![
            stage(
                "城市管理初审 / City management pre-review",
                "city-management",
                "approver",
                1,
                None,
                Some(7 * DAY)
            ),
            stage(
                "消防验收 / Fire acceptance",
                "fire",
                "fire-inspector",
                1,
                g,
                Some(14 * DAY)
            ),
            stage(
                "质量验收 / Construction quality acceptance",
                "construction",
                "quality-inspector",
                1,
                g,
                Some(14 * DAY)
            ),
            stage(
                "验收签发 / Acceptance sign-off",
                "city-management",
                "approver",
                1,
                None,
                None
            ),
        ]
    );
}

#[test]
fn activiti_two_of_three_multi_instance() {
    let t = import(&fixture("activiti-expert-review.bpmn"), &groups()).unwrap();
    assert_eq!(
        t.stages,
        vec![
            stage("受理 / Intake", "construction", "intake", 1, None, None),
            stage(
                "专家评审（三取二）/ Expert review (2 of 3)",
                "construction",
                "expert",
                2,
                None,
                None
            ),
            stage(
                "审查决定 / Decision",
                "construction",
                "director",
                1,
                None,
                None
            ),
        ]
    );
    assert_eq!(t.into_workflow(None, Some(4)).unwrap().version, 4);
}

#[test]
fn standard_potential_owner_and_ratio_quorum() {
    let t = import(&fixture("standard-committee.bpmn"), &groups()).unwrap();
    assert_eq!(
        t.stages,
        vec![
            stage(
                "财政审核 / Finance review",
                "finance",
                "reviewer",
                1,
                None,
                Some(DAY + 12 * 3600)
            ),
            // 60% of 5 members.
            stage(
                "资金委员会 / Fund committee",
                "finance",
                "committee",
                3,
                None,
                None
            ),
        ]
    );
}

#[test]
fn refusal_names_every_element() {
    let err = import(&fixture("refused-exclusive-script.bpmn"), &groups()).unwrap_err();
    assert_eq!(err.code(), "bpmn.refused");
    let found: Vec<(&str, &str, &str)> = err
        .problems()
        .iter()
        .map(|p| {
            (
                p.code,
                p.element_type.as_str(),
                p.element_id.as_deref().unwrap_or(""),
            )
        })
        .collect();
    for want in [
        (codes::UNSUPPORTED, "scriptTask", "Task_fee"),
        (codes::UNSUPPORTED, "exclusiveGateway", "Gateway_amount"),
        (codes::UNSUPPORTED, "serviceTask", "Task_notify"),
        (codes::CONDITION, "sequenceFlow", "Flow_big"),
        (codes::CONDITION, "sequenceFlow", "Flow_small"),
        (codes::CANDIDATES, "userTask", "Task_director"),
        (codes::LOOP, "sequenceFlow", "Flow_rework"),
        (codes::UNMAPPED_GROUP, "candidateGroups", ""),
    ] {
        assert!(found.contains(&want), "{want:?} missing from {found:#?}");
    }
    let text = err.to_string();
    assert!(
        text.contains("Gateway_amount") && text.contains("runs a script"),
        "{text}"
    );
    // The unmapped groups are listed by name.
    assert!(
        text.contains("\"street-office\"") && text.contains("\"section-chiefs\""),
        "{text}"
    );
}

#[test]
fn flowable_countersign_is_refused_element_by_element() {
    let err = import(
        &fixture("refused-flowable-countersign.bpmn20.xml"),
        &groups(),
    )
    .unwrap_err();
    let found: Vec<(&str, &str)> = err
        .problems()
        .iter()
        .map(|p| (p.code, p.element_id.as_deref().unwrap_or("")))
        .collect();
    for want in [
        (codes::LISTENER, "countersign"),
        (codes::CANDIDATES, "sign"),
        (codes::MULTI_INSTANCE, "sign"),
        (codes::TIMER, "remind"),
        (codes::UNSUPPORTED, "route"),
        (codes::CANDIDATES, "archive"),
    ] {
        assert!(found.contains(&want), "{want:?} missing from {err}");
    }
}

#[test]
fn unmapped_groups_are_listed_together() {
    let xml = fixture("flowable-renovation.bpmn20.xml");
    let err = import(&xml, &GroupMap::default()).unwrap_err();
    let [p] = err.problems() else { panic!("{err}") };
    assert_eq!(p.code, codes::UNMAPPED_GROUP);
    for g in [
        "城管局审批科",
        "消防救援支队",
        "住建局许可科",
        "建设单位项目经理",
    ] {
        assert!(p.message.contains(g), "{}", p.message);
    }
    assert_eq!(
        candidate_groups(&xml).unwrap(),
        vec![
            "城管局审批科",
            "消防救援支队",
            "住建局许可科",
            "建设单位项目经理"
        ]
    );
}

fn refusal(xml: &str) -> Vec<(&'static str, String)> {
    match import(xml, &groups()) {
        Err(BpmnError::Refused(p)) => p
            .into_iter()
            .map(|p| (p.code, p.element_id.unwrap_or_default()))
            .collect(),
        other => panic!("not refused: {other:?}"),
    }
}

/// A minimal process around `body` (user tasks `a`, `b` of mapped groups).
fn process(body: &str) -> String {
    format!(
        r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:c="http://camunda.org/schema/1.0/bpmn"><process id="p">{body}</process></definitions>"#
    )
}

#[test]
fn structural_refusals() {
    let tasks = r#"<startEvent id="s"/><userTask id="a" c:candidateGroups="zjj_slk"/><userTask id="b" c:candidateGroups="zjj_leaders"/><endEvent id="e"/>"#;
    // A flow that skips b.
    let skip = process(&format!(
        r#"{tasks}<sequenceFlow id="f1" sourceRef="s" targetRef="a"/><sequenceFlow id="f2" sourceRef="a" targetRef="b"/><sequenceFlow id="f3" sourceRef="b" targetRef="e"/><sequenceFlow id="skip" sourceRef="a" targetRef="e"/>"#
    ));
    assert_eq!(refusal(&skip), vec![(codes::FLOW, "a".to_owned())]);
    // b not connected.
    let island = process(&format!(
        r#"{tasks}<sequenceFlow id="f1" sourceRef="s" targetRef="a"/><sequenceFlow id="f2" sourceRef="a" targetRef="e"/>"#
    ));
    assert_eq!(refusal(&island), vec![(codes::UNREACHABLE, "b".to_owned())]);
    // Two start events, a sub-process, a sequential multi-instance, a
    // month-long timer, a non-interrupting timer.
    let many = process(
        r#"<startEvent id="s"/><startEvent id="s2"/><subProcess id="sub"/>
        <userTask id="a" c:candidateGroups="zjj_slk"><multiInstanceLoopCharacteristics isSequential="true"/></userTask>
        <boundaryEvent id="t1" attachedToRef="a"><timerEventDefinition><timeDuration>P1M</timeDuration></timerEventDefinition></boundaryEvent>
        <userTask id="b" c:candidateGroups="zjj_leaders"/>
        <boundaryEvent id="t2" attachedToRef="b" cancelActivity="false"><timerEventDefinition><timeDuration>P1D</timeDuration></timerEventDefinition></boundaryEvent>
        <endEvent id="e"/>
        <sequenceFlow id="f1" sourceRef="s" targetRef="a"/><sequenceFlow id="f2" sourceRef="a" targetRef="b"/><sequenceFlow id="f3" sourceRef="b" targetRef="e"/>"#,
    );
    let got = refusal(&many);
    for want in [
        (codes::UNSUPPORTED, "sub"),
        (codes::MULTI_INSTANCE, "a"),
        (codes::TIMER, "t1"),
        (codes::TIMER, "t2"),
        (codes::EVENTS, "s2"),
    ] {
        assert!(
            got.contains(&(want.0, want.1.to_owned())),
            "{want:?} in {got:?}"
        );
    }
    // A fork whose branch has two tasks in a row.
    let deep = process(
        r#"<startEvent id="s"/><parallelGateway id="fork"/><userTask id="a" c:candidateGroups="zjj_slk"/><userTask id="b" c:candidateGroups="zjj_leaders"/><userTask id="c" c:candidateGroups="zjj_experts"/><parallelGateway id="join"/><endEvent id="e"/>
        <sequenceFlow id="f1" sourceRef="s" targetRef="fork"/><sequenceFlow id="f2" sourceRef="fork" targetRef="a"/><sequenceFlow id="f3" sourceRef="a" targetRef="b"/><sequenceFlow id="f4" sourceRef="b" targetRef="join"/>
        <sequenceFlow id="f5" sourceRef="fork" targetRef="c"/><sequenceFlow id="f6" sourceRef="c" targetRef="join"/><sequenceFlow id="f7" sourceRef="join" targetRef="e"/>"#,
    );
    assert_eq!(refusal(&deep), vec![(codes::PARALLEL, "fork".to_owned())]);
}

#[test]
fn camunda_8_assignment_definition() {
    let xml = r#"<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0">
      <bpmn:process id="c8" name="C8" isExecutable="true">
        <bpmn:startEvent id="s"/>
        <bpmn:userTask id="a" name="A"><bpmn:extensionElements><zeebe:assignmentDefinition candidateGroups="zjj_slk"/></bpmn:extensionElements></bpmn:userTask>
        <bpmn:userTask id="b" name="B"><bpmn:extensionElements><zeebe:assignmentDefinition candidateGroups="=reviewers"/></bpmn:extensionElements></bpmn:userTask>
        <bpmn:endEvent id="e"/>
        <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="a"/><bpmn:sequenceFlow id="f2" sourceRef="a" targetRef="b"/><bpmn:sequenceFlow id="f3" sourceRef="b" targetRef="e"/>
      </bpmn:process></bpmn:definitions>"#;
    assert_eq!(refusal(xml), vec![(codes::CANDIDATES, "b".to_owned())]);
    let fixed = xml.replace("=reviewers", "zjj_leaders");
    let t = import(&fixed, &groups()).unwrap();
    assert_eq!(t.stages[0].role.as_str(), "intake");
    assert_eq!(t.stages[1].role.as_str(), "director");
}

#[test]
fn not_bpmn_and_not_xml() {
    assert_eq!(import("<a>", &groups()).unwrap_err().code(), "bpmn.xml");
    assert_eq!(
        import("<a/>", &groups()).unwrap_err().code(),
        "bpmn.process"
    );
    let doctype = r#"<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"/>"#;
    assert_eq!(import(doctype, &groups()).unwrap_err().code(), "bpmn.xml");
}
