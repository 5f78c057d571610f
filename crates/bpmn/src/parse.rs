//! The element pass: reads every element of one BPMN `process` into a small
//! model (flow nodes, sequence flows, what each user task asks for) and
//! records a [`Problem`] for each element a template cannot express.

use std::collections::HashMap;

use roxmltree::Node;

use crate::error::{codes, Problem};
use crate::expr::{parse_completion, parse_duration};

pub const BPMN: &str = "http://www.omg.org/spec/BPMN/20100524/MODEL";
pub const FLOWABLE: &str = "http://flowable.org/bpmn";
pub const ACTIVITI: &str = "http://activiti.org/bpmn";
pub const CAMUNDA: &str = "http://camunda.org/schema/1.0/bpmn";
/// Camunda 8 (Zeebe) extension elements.
pub const ZEEBE: &str = "http://camunda.org/schema/zeebe/1.0";
/// govchain's own attributes, for what BPMN has no word for (the template
/// id and version, what a rejection does).
pub const GOVCHAIN: &str = "urn:govchain:bpmn";
const DIALECTS: [&str; 3] = [FLOWABLE, ACTIVITI, CAMUNDA];

/// A user task as a stage, before its groups are mapped.
#[derive(Debug, Clone)]
pub struct Task {
    pub name: String,
    pub groups: Vec<String>,
    pub threshold: u64,
    pub deadline: Option<u64>,
    pub on_reject: Option<String>,
    pub return_to: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Kind {
    Start,
    End,
    Task(Box<Task>),
    /// A parallel gateway, with the group name a fork gives its stages.
    Parallel(String),
    /// A boundary timer: the task it is attached to and its duration.
    Timer {
        task: String,
        secs: u64,
    },
    /// Refused (already reported).
    Other,
}

#[derive(Debug, Clone)]
pub struct FlowNode {
    pub id: String,
    pub ty: String,
    pub kind: Kind,
}

#[derive(Debug, Clone)]
pub struct Flow {
    pub id: String,
    pub source: String,
    pub target: String,
}

#[derive(Debug, Default)]
pub struct Model {
    pub name: String,
    pub template: Option<String>,
    pub version: Option<String>,
    pub nodes: Vec<FlowNode>,
    pub by_id: HashMap<String, usize>,
    pub flows: Vec<Flow>,
    pub problems: Vec<Problem>,
}

fn is(n: Node<'_, '_>, name: &str) -> bool {
    n.is_element() && n.tag_name().namespace() == Some(BPMN) && n.tag_name().name() == name
}

fn children<'a, 'i>(n: Node<'a, 'i>) -> impl Iterator<Item = Node<'a, 'i>> {
    n.children().filter(Node::is_element)
}

fn id_of<'a>(n: Node<'a, '_>) -> Option<&'a str> {
    n.attribute("id")
}

/// Control characters (line breaks in multi-line labels) become spaces.
pub fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn why_unsupported(ty: &str) -> &'static str {
    match ty {
        "exclusiveGateway" | "inclusiveGateway" | "complexGateway" | "eventBasedGateway" => {
            "chooses paths by conditions or events; a govchain template has no conditions: every case passes every stage"
        }
        "scriptTask" => "runs a script; govchain runs no code, every stage is an official's signature",
        "serviceTask" | "sendTask" | "receiveTask" | "businessRuleTask" => {
            "is done by a system, not signed by an official; only userTask becomes a stage"
        }
        "task" | "manualTask" => "is not a userTask; only userTask becomes a stage",
        "subProcess" | "callActivity" | "adHocSubProcess" | "transaction" => {
            "nests another process; flatten it into the main process's user tasks"
        }
        "intermediateCatchEvent" | "intermediateThrowEvent" => {
            "waits for or sends an event; only a timer on a task (its deadline) is supported"
        }
        _ => "is not supported in a govchain template",
    }
}

/// Reads the process's elements.
pub fn read(process: Node<'_, '_>) -> Model {
    let mut m = Model {
        name: clean(process.attribute("name").unwrap_or_default()),
        template: process.attribute((GOVCHAIN, "template")).map(str::to_owned),
        version: process
            .attribute((GOVCHAIN, "version"))
            .or_else(|| process.attribute((CAMUNDA, "versionTag")))
            .map(str::to_owned),
        ..Model::default()
    };
    if m.name.is_empty() {
        process
            .attribute("id")
            .unwrap_or_default()
            .clone_into(&mut m.name);
    }
    listeners(&mut m, process);
    for el in children(process) {
        if el.tag_name().namespace() != Some(BPMN) {
            continue;
        }
        let ty = el.tag_name().name();
        let id = id_of(el).unwrap_or_default().to_owned();
        let kind = match ty {
            "documentation"
            | "extensionElements"
            | "laneSet"
            | "textAnnotation"
            | "association"
            | "group"
            | "dataObject"
            | "dataObjectReference"
            | "dataStoreReference"
            | "property"
            | "ioSpecification" => continue,
            "sequenceFlow" => {
                flow(&mut m, el, &id);
                continue;
            }
            "startEvent" | "endEvent" => event(&mut m, el, &id, ty),
            "userTask" => Kind::Task(Box::new(task(&mut m, el, &id))),
            "parallelGateway" => Kind::Parallel(
                el.attribute((GOVCHAIN, "group"))
                    .or(el.attribute("name").filter(|n| !n.trim().is_empty()))
                    .map_or_else(|| id.clone(), clean),
            ),
            "boundaryEvent" => boundary(&mut m, el, &id),
            _ => {
                m.problems.push(Problem::new(
                    codes::UNSUPPORTED,
                    Some(&id),
                    ty,
                    why_unsupported(ty).to_owned(),
                ));
                Kind::Other
            }
        };
        if m.by_id.insert(id.clone(), m.nodes.len()).is_some() {
            m.problems.push(Problem::new(
                codes::FLOW,
                Some(&id),
                ty,
                "another element has the same id".into(),
            ));
        }
        m.nodes.push(FlowNode {
            id,
            ty: ty.to_owned(),
            kind,
        });
    }
    m
}

fn flow(m: &mut Model, el: Node<'_, '_>, id: &str) {
    if let Some(c) = children(el).find(|c| is(*c, "conditionExpression")) {
        m.problems.push(Problem::new(
            codes::CONDITION,
            Some(id),
            "sequenceFlow",
            format!(
                "has the condition {:?}; a govchain template has no conditions: every case passes every stage",
                c.text().unwrap_or_default().trim()
            ),
        ));
    }
    m.flows.push(Flow {
        id: id.to_owned(),
        source: el.attribute("sourceRef").unwrap_or_default().to_owned(),
        target: el.attribute("targetRef").unwrap_or_default().to_owned(),
    });
}

fn event(m: &mut Model, el: Node<'_, '_>, id: &str, ty: &str) -> Kind {
    let triggers: Vec<&str> = children(el)
        .filter(|c| c.tag_name().namespace() == Some(BPMN))
        .map(|c| c.tag_name().name())
        .filter(|n| n.ends_with("EventDefinition") && *n != "terminateEventDefinition")
        .collect();
    if !triggers.is_empty() {
        m.problems.push(Problem::new(
            codes::EVENTS,
            Some(id),
            ty,
            format!(
                "has a {}; only plain start and end events are supported (a case is opened by an official)",
                triggers.join(", ")
            ),
        ));
        return Kind::Other;
    }
    listeners(m, el);
    if ty == "startEvent" {
        Kind::Start
    } else {
        Kind::End
    }
}

/// Engine listeners anywhere under `el`'s extension elements.
fn listeners(m: &mut Model, el: Node<'_, '_>) {
    for ext in children(el).filter(|c| is(*c, "extensionElements")) {
        for l in children(ext) {
            let name = l.tag_name().name();
            if name == "executionListener" || name == "taskListener" {
                m.problems.push(Problem::new(
                    codes::LISTENER,
                    id_of(el),
                    el.tag_name().name(),
                    format!(
                        "has a listener ({name}), code the engine would run; govchain runs no code: remove it"
                    ),
                ));
            }
        }
    }
}

/// Comma-separated names; `group(x)` as x.
fn split_names(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.strip_prefix("group(")
                .and_then(|g| g.strip_suffix(')'))
                .unwrap_or(s)
                .trim()
                .to_owned()
        })
        .collect()
}

fn task(m: &mut Model, el: Node<'_, '_>, id: &str) -> Task {
    // Problems of the candidate groups, kept apart to know whether the
    // task named its signers in a way already refused.
    let mut found: Vec<Problem> = Vec::new();
    let p = |out: &mut Vec<Problem>, code, message: String| {
        out.push(Problem::new(code, Some(id), "userTask", message));
    };
    let name = el.attribute("name").map_or_else(|| id.to_owned(), clean);
    if name.chars().count() > 64 {
        p(
            &mut found,
            codes::TEXT,
            "the name is longer than 64 characters, the ledger's limit for a stage name".into(),
        );
    }
    let mut groups = Vec::new();
    let mut raw = Vec::new();
    for owner in children(el).filter(|c| is(*c, "potentialOwner")) {
        for expr in owner.descendants().filter(|c| is(*c, "formalExpression")) {
            raw.push(expr.text().unwrap_or_default().to_owned());
        }
    }
    for ns in DIALECTS {
        if let Some(v) = el.attribute((ns, "candidateGroups")) {
            raw.push(v.to_owned());
        }
        for attr in ["assignee", "candidateUsers"] {
            if el.attribute((ns, attr)).is_some() {
                p(&mut found, codes::CANDIDATES, format!("names people ({attr}); a govchain stage is signed by holders of a department role: use candidate groups"));
            }
        }
    }
    // Camunda 8 (Zeebe): <zeebe:assignmentDefinition candidateGroups="a, b"/>;
    // a value starting with `=` is a FEEL expression.
    for ad in children(el)
        .filter(|c| is(*c, "extensionElements"))
        .flat_map(children)
        .filter(|c| {
            c.tag_name().namespace() == Some(ZEEBE) && c.tag_name().name() == "assignmentDefinition"
        })
    {
        if let Some(v) = ad.attribute("candidateGroups") {
            raw.push(if v.starts_with('=') {
                format!("${{{v}}}")
            } else {
                v.to_owned()
            });
        }
        for attr in ["assignee", "candidateUsers"] {
            if ad.attribute(attr).is_some() {
                p(&mut found, codes::CANDIDATES, format!("names people (zeebe {attr}); a govchain stage is signed by holders of a department role: use candidate groups"));
            }
        }
    }
    if children(el).any(|c| is(c, "humanPerformer")) {
        p(&mut found, codes::CANDIDATES, "names a person (humanPerformer); a govchain stage is signed by holders of a department role: use candidate groups".into());
    }
    for text in raw {
        if text.contains("${") || text.contains("#{") {
            p(
                &mut found,
                codes::CANDIDATES,
                format!("candidate groups {text:?} are an expression; name the groups"),
            );
            continue;
        }
        for g in split_names(&text) {
            if g.starts_with("user(") {
                p(&mut found, codes::CANDIDATES, format!("names a person ({g}); a govchain stage is signed by holders of a department role"));
            } else if !groups.contains(&g) {
                groups.push(g);
            }
        }
    }
    if groups.is_empty() && found.iter().all(|f| f.code != codes::CANDIDATES) {
        p(
            &mut found,
            codes::CANDIDATES,
            "has no candidate group: name the group (department role) that signs this stage".into(),
        );
    }
    m.problems.extend(found);
    let threshold = children(el)
        .find(|c| is(*c, "multiInstanceLoopCharacteristics"))
        .map_or(1, |mi| multi_instance(m, mi, id));
    listeners(m, el);
    Task {
        name,
        groups,
        threshold,
        deadline: None,
        on_reject: el.attribute((GOVCHAIN, "onReject")).map(str::to_owned),
        return_to: el.attribute((GOVCHAIN, "returnTo")).map(str::to_owned),
    }
}

/// The k of a k-of-n multi-instance task (0 when refused).
fn multi_instance(m: &mut Model, mi: Node<'_, '_>, id: &str) -> u64 {
    let mut p = |message: String| {
        m.problems.push(Problem::new(
            codes::MULTI_INSTANCE,
            Some(id),
            "userTask",
            message,
        ));
        0
    };
    // Reported, and the rest is still read for more problems.
    let sequential = mi.attribute("isSequential") == Some("true");
    if sequential {
        p("is a sequential multi-instance (one signer after another); a govchain k-of-n stage takes its signatures in any order: set isSequential=\"false\"".into());
    }
    let cardinality = children(mi)
        .find(|c| is(*c, "loopCardinality"))
        .map(|c| c.text().unwrap_or_default().trim().to_owned());
    let collection = DIALECTS
        .iter()
        .find_map(|ns| mi.attribute((*ns, "collection")));
    let n = match (&cardinality, collection) {
        (Some(c), _) => {
            let digits = c
                .strip_prefix("${")
                .and_then(|s| s.strip_suffix('}'))
                .unwrap_or(c)
                .trim();
            digits.parse::<u64>().ok()
        }
        (None, Some(list)) if !list.contains("${") && !list.contains("#{") => {
            Some(split_names(list).len() as u64)
        }
        _ => None,
    };
    let condition = children(mi)
        .find(|c| is(*c, "completionCondition"))
        .map(|c| c.text().unwrap_or_default().trim().to_owned())
        .filter(|t| !t.is_empty());
    let completion = match condition.as_deref().map(parse_completion) {
        Some(Ok(c)) => c,
        Some(Err(e)) => return p(e),
        None => crate::expr::Completion::All,
    };
    let Some(k) = completion.threshold(n) else {
        return p(format!(
            "the number of instances is not known ({}); give loopCardinality as a number, or a completion condition ${{nrOfCompletedInstances >= K}}",
            cardinality.as_deref().or(collection).unwrap_or("no loopCardinality or collection")
        ));
    };
    if n.is_some_and(|n| k > n) {
        return p(format!(
            "needs {k} completed instances of {} and never completes",
            n.unwrap_or(0)
        ));
    }
    if k > 100 {
        return p(format!("needs {k} signatures; a stage takes 1 to 100"));
    }
    if sequential {
        0
    } else {
        k
    }
}

fn boundary(m: &mut Model, el: Node<'_, '_>, id: &str) -> Kind {
    let mut p = |message: String| {
        m.problems.push(Problem::new(
            codes::TIMER,
            Some(id),
            "boundaryEvent",
            message,
        ));
        Kind::Other
    };
    let defs: Vec<Node<'_, '_>> = children(el)
        .filter(|c| c.tag_name().name().ends_with("EventDefinition"))
        .collect();
    let [def] = defs.as_slice() else {
        return p("a boundary event must be one timer (the task's deadline)".into());
    };
    if !is(*def, "timerEventDefinition") {
        return p(format!(
            "is a {}; only a timer (the task's deadline) is supported",
            def.tag_name().name()
        ));
    }
    if el.attribute("cancelActivity") == Some("false") {
        return p(
            "is non-interrupting; a govchain deadline ends the stage: make the timer interrupting"
                .into(),
        );
    }
    let Some(dur) = children(*def).find(|c| is(*c, "timeDuration")) else {
        return p("a deadline is a timeDuration (ISO 8601, e.g. P30D); timeDate and timeCycle are not supported".into());
    };
    match parse_duration(dur.text().unwrap_or_default()) {
        Ok(secs) => Kind::Timer {
            task: el.attribute("attachedToRef").unwrap_or_default().to_owned(),
            secs,
        },
        Err(e) => p(e),
    }
}
