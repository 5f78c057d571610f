//! BPMN 2.0 import and export for govchain workflow templates.
//!
//! [`import`] reads one `process` of a BPMN 2.0 document — as drawn in
//! Camunda Modeler, Flowable or Activiti, or in the standard form — and
//! turns it into the stages of a `workflow.define` payload (PROTOCOL.md
//! §12.4): user tasks in order, parallel gateway forks as parallel groups,
//! multi-instance tasks with a completion condition as k-of-n stages,
//! interrupting boundary timers as deadlines, candidate groups mapped to a
//! department and role through a [`GroupMap`]. Whatever a template cannot
//! express (conditions, scripts, service tasks, loops, sub-processes, …) is
//! refused with every problem at once, each naming its element: nothing is
//! half-imported. [`export`] writes a template back as BPMN 2.0 that opens
//! in those tools and imports to the same template.
//!
//! No BPMN engine: the XML is read with `roxmltree` (no DTDs), namespaces
//! by their URI, never by prefix.
#![forbid(unsafe_code)]

mod error;
mod export;
mod expr;
mod parse;
mod walk;

use std::collections::BTreeMap;

use govchain_ledger::state::kinds::{DefineWorkflow, DeptId, OnReject, RefId, Role, StageSpec};
use govchain_ledger::state::workflow::MAX_STAGES;
use serde::{Deserialize, Serialize};

pub use error::{codes, BpmnError, Problem};
pub use export::export;
pub use expr::{format_duration, parse_duration};

use parse::{Kind, Model, BPMN};
use walk::Unit;

/// The department and role a candidate group stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assignment {
    pub department: DeptId,
    pub role: Role,
}

impl Assignment {
    /// The candidate group name an export writes: `department:role`.
    pub fn group_name(&self) -> String {
        format!("{}:{}", self.department, self.role)
    }

    /// Reads a `department:role` group name.
    pub fn from_group_name(name: &str) -> Option<Self> {
        let (d, r) = name.split_once(':')?;
        Some(Self {
            department: DeptId::try_from(d.to_owned()).ok()?,
            role: Role::try_from(r.to_owned()).ok()?,
        })
    }
}

/// Candidate group name → department and role, as the admin confirmed it
/// (a TOML or JSON table `{"group": {"department": …, "role": …}}`). A group
/// named `department:role` (what [`export`] writes) needs no entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GroupMap(pub BTreeMap<String, Assignment>);

impl GroupMap {
    /// The assignment of `group`: its entry, else its `department:role` name.
    pub fn resolve(&self, group: &str) -> Option<Assignment> {
        self.0
            .get(group)
            .cloned()
            .or_else(|| Assignment::from_group_name(group))
    }
}

/// What an import produced: the template's stages and what the document
/// says of its id, version and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// `govchain:template` on the process, else the process id when it is a
    /// valid template id.
    pub id: Option<RefId>,
    /// `govchain:version`, else Camunda's `versionTag` when it is a number.
    pub version: Option<u32>,
    /// The process name (its id when unnamed).
    pub name: String,
    pub stages: Vec<StageSpec>,
}

impl Imported {
    /// The `workflow.define` payload, with `id` and `version` given by the
    /// caller overriding the document's (version 1 when neither says).
    pub fn into_workflow(
        self,
        id: Option<RefId>,
        version: Option<u32>,
    ) -> Result<DefineWorkflow, BpmnError> {
        let id = id.or(self.id).ok_or_else(|| {
            BpmnError::TemplateId(
                "the process id is not a valid template id (letters, digits, '.', '-', '_'): give one (--id)"
                    .into(),
            )
        })?;
        Ok(DefineWorkflow {
            id,
            version: version.or(self.version).unwrap_or(1),
            name: self.name,
            stages: self.stages,
        })
    }
}

/// Finds the one process to import: the only one, or the only executable.
fn process<'a, 'i>(doc: &'a roxmltree::Document<'i>) -> Result<roxmltree::Node<'a, 'i>, BpmnError> {
    let root = doc.root_element();
    if root.tag_name().namespace() != Some(BPMN) || root.tag_name().name() != "definitions" {
        return Err(BpmnError::Process(format!(
            "not a BPMN 2.0 document: the root element is {:?}, not definitions in {BPMN}",
            root.tag_name().name()
        )));
    }
    let all: Vec<_> = root
        .children()
        .filter(|n| n.tag_name().namespace() == Some(BPMN) && n.tag_name().name() == "process")
        .collect();
    let pick: Vec<_> = if all.len() > 1 {
        all.iter()
            .copied()
            .filter(|p| p.attribute("isExecutable") == Some("true"))
            .collect()
    } else {
        all.clone()
    };
    match pick.as_slice() {
        [p] => Ok(*p),
        [] if all.is_empty() => Err(BpmnError::Process("the document has no process".into())),
        _ => Err(BpmnError::Process(format!(
            "the document has {} processes ({}) and not exactly one is executable: import one process at a time",
            all.len(),
            all.iter().map(|p| p.attribute("id").unwrap_or("?")).collect::<Vec<_>>().join(", ")
        ))),
    }
}

fn read(xml: &str) -> Result<Model, BpmnError> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| BpmnError::Xml(e.to_string()))?;
    let p = process(&doc)?;
    let mut m = parse::read(p);
    if m.template.is_none() {
        m.template = p
            .attribute("id")
            .map(str::to_owned)
            .filter(|id| RefId::try_from(id.clone()).is_ok());
    }
    Ok(m)
}

/// The candidate group names of the process's user tasks, in document
/// order, each once: what a UI asks the admin to map before [`import`].
pub fn candidate_groups(xml: &str) -> Result<Vec<String>, BpmnError> {
    let m = read(xml)?;
    let mut out: Vec<String> = Vec::new();
    for n in &m.nodes {
        if let Kind::Task(t) = &n.kind {
            for g in &t.groups {
                if !out.contains(g) {
                    out.push(g.clone());
                }
            }
        }
    }
    Ok(out)
}

/// Reads one BPMN 2.0 process into a template's stages; refuses with every
/// problem found.
pub fn import(xml: &str, groups: &GroupMap) -> Result<Imported, BpmnError> {
    let mut m = read(xml)?;
    let units = walk::walk(&mut m);
    let stages = stages(&mut m, &units, groups);
    let mut more = Vec::new();
    let mut p = |code, message: String| more.push(Problem::new(code, None, "process", message));
    let id = match m.template.clone().map(RefId::try_from) {
        Some(Ok(id)) => Some(id),
        Some(Err(e)) => {
            p(codes::TEMPLATE, format!("govchain:template: {e}"));
            None
        }
        None => None,
    };
    let version = m.version.clone().and_then(|v| v.trim().parse::<u32>().ok());
    if m.name.is_empty() {
        p(
            codes::TEXT,
            "the process has neither a name nor an id".into(),
        );
    }
    if m.name.chars().count() > 128 {
        p(codes::TEXT, "the process name is longer than 128 characters, the ledger's limit for a template name".into());
    }
    if units.is_empty() && m.problems.is_empty() {
        p(
            codes::FLOW,
            "has no user task on its path: a template has 1 to 64 stages".into(),
        );
    }
    if stages.len() > MAX_STAGES {
        p(
            codes::FLOW,
            format!(
                "has {} stages; a template has at most {MAX_STAGES}",
                stages.len()
            ),
        );
    }
    m.problems.extend(more);
    if !m.problems.is_empty() {
        return Err(BpmnError::Refused(m.problems));
    }
    Ok(Imported {
        id,
        version,
        name: m.name,
        stages,
    })
}

/// The stages of the path, in order, with their groups mapped.
fn stages(m: &mut Model, units: &[Unit], groups: &GroupMap) -> Vec<StageSpec> {
    let order: Vec<(usize, Option<String>)> = units
        .iter()
        .flat_map(|u| match u {
            Unit::Single(t) => vec![(*t, None)],
            Unit::Group { name, tasks } => tasks.iter().map(|t| (*t, Some(name.clone()))).collect(),
        })
        .collect();
    let mut group_names: Vec<&str> = Vec::new();
    for u in units {
        if let Unit::Group { name, .. } = u {
            if group_names.contains(&name.as_str()) {
                m.problems.push(Problem::new(codes::PARALLEL, None, "parallelGateway", format!("two parallel gateways name the group {name:?}; give each fork its own name")));
            }
            group_names.push(name);
        }
    }
    // Every task's groups, on the path or not, so the admin sees them all.
    let mut unmapped: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut assigned: BTreeMap<usize, Assignment> = BTreeMap::new();
    for (i, node) in m.nodes.iter().enumerate() {
        let Kind::Task(task) = &node.kind else {
            continue;
        };
        let mut found: Vec<Assignment> = Vec::new();
        for g in &task.groups {
            match groups.resolve(g) {
                Some(a) if !found.contains(&a) => found.push(a),
                Some(_) => {}
                None => unmapped.entry(g.clone()).or_default().push(node.id.clone()),
            }
        }
        if found.len() > 1 {
            let list: Vec<String> = found.iter().map(Assignment::group_name).collect();
            m.problems.push(Problem::new(codes::CANDIDATES, Some(&node.id), "userTask", format!("its candidate groups stand for different department roles ({}); a stage is signed by one role of one department: split the task", list.join(", "))));
        }
        if let Some(a) = found.into_iter().next() {
            assigned.insert(i, a);
        }
    }
    if !unmapped.is_empty() {
        let list: Vec<String> = unmapped
            .iter()
            .map(|(g, ids)| format!("{g:?} (on {})", ids.join(", ")))
            .collect();
        m.problems.push(Problem::new(
            codes::UNMAPPED_GROUP,
            None,
            "candidateGroups",
            format!(
                "no department and role for the candidate groups {}: map each in the group map",
                list.join("; ")
            ),
        ));
    }
    let mut out = Vec::new();
    for (t, group) in &order {
        let node = &m.nodes[*t];
        let Kind::Task(task) = &node.kind else {
            continue;
        };
        let (on_reject, return_to) = match (task.on_reject.as_deref(), &task.return_to) {
            (None | Some("end"), None) => (OnReject::End, None),
            (Some("return"), Some(to)) => {
                if let Some(r) = order.iter().position(|(o, _)| m.nodes[*o].id == *to) {
                    (OnReject::Return, Some(r))
                } else {
                    m.problems.push(Problem::new(
                        codes::REJECT,
                        Some(&node.id),
                        "userTask",
                        format!("govchain:returnTo {to:?} is not a user task on the path"),
                    ));
                    (OnReject::End, None)
                }
            }
            (a, b) => {
                m.problems.push(Problem::new(codes::REJECT, Some(&node.id), "userTask", format!("govchain:onReject {a:?} with govchain:returnTo {b:?}: write onReject=\"return\" with returnTo, or neither")));
                (OnReject::End, None)
            }
        };
        let Some(a) = assigned.remove(t) else {
            continue;
        };
        out.push(StageSpec {
            name: task.name.clone(),
            department: a.department,
            role: a.role,
            threshold: u32::try_from(task.threshold).unwrap_or(u32::MAX),
            group: group.clone(),
            deadline_secs: task.deadline,
            on_reject,
            return_to,
        });
    }
    out
}
