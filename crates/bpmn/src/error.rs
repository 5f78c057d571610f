//! What an import refuses: one typed error with a stable code, holding every
//! problem found in the process so the admin sees them all at once.

use std::fmt;

use govchain_ledger::ErrorCode;

/// Stable codes of the problems inside a [`BpmnError::Refused`].
pub mod codes {
    /// An element type govchain does not import (gateways with conditions,
    /// scripts, service tasks, sub-processes, intermediate events, …).
    pub const UNSUPPORTED: &str = "bpmn.unsupported";
    /// A sequence flow with a condition.
    pub const CONDITION: &str = "bpmn.condition";
    /// The flows do not form one path of stages (a split, a merge, a skip,
    /// a dangling reference).
    pub const FLOW: &str = "bpmn.flow";
    /// A flow goes back to an element already passed.
    pub const LOOP: &str = "bpmn.loop";
    /// An element not on the path from the start event to the end event.
    pub const UNREACHABLE: &str = "bpmn.unreachable";
    /// Start or end events: none, several, or with a trigger.
    pub const EVENTS: &str = "bpmn.events";
    /// A parallel gateway that is not a fork of single tasks into one join.
    pub const PARALLEL: &str = "bpmn.parallel";
    /// A user task without candidate groups, with named people, with an
    /// expression, or with groups of different department roles.
    pub const CANDIDATES: &str = "bpmn.candidate_groups";
    /// Candidate groups the group map does not map to a department role.
    pub const UNMAPPED_GROUP: &str = "bpmn.unmapped_group";
    /// A multi-instance task whose k-of-n cannot be read.
    pub const MULTI_INSTANCE: &str = "bpmn.multi_instance";
    /// A boundary timer that is not an interrupting ISO 8601 duration.
    pub const TIMER: &str = "bpmn.timer";
    /// Engine listeners (code the engine would run).
    pub const LISTENER: &str = "bpmn.listener";
    /// A name the ledger refuses (too long).
    pub const TEXT: &str = "bpmn.text";
    /// A `govchain:onReject` / `govchain:returnTo` that cannot be read.
    pub const REJECT: &str = "bpmn.on_reject";
    /// A `govchain:template` / `govchain:version` that is not valid.
    pub const TEMPLATE: &str = "bpmn.template";
}

/// One reason the process cannot be imported, naming the element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// A stable code from [`codes`].
    pub code: &'static str,
    /// The element's `id` (`None` for a problem of the whole process).
    pub element_id: Option<String>,
    /// The element's BPMN type (`exclusiveGateway`, `sequenceFlow`, …).
    pub element_type: String,
    pub message: String,
}

impl Problem {
    pub(crate) fn new(code: &'static str, id: Option<&str>, ty: &str, message: String) -> Self {
        Self {
            code,
            element_id: id.map(str::to_owned),
            element_type: ty.to_owned(),
            message,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.element_id {
            Some(id) => write!(
                f,
                "{} {id:?}: {} [{}]",
                self.element_type, self.message, self.code
            ),
            None => write!(f, "{}: {} [{}]", self.element_type, self.message, self.code),
        }
    }
}

/// Why a BPMN document was not imported. Nothing is ever half-imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BpmnError {
    /// The text is not well-formed XML (or uses a DTD).
    #[error("not a well-formed XML document: {0}")]
    Xml(String),
    /// No BPMN 2.0 `process` to import, or several and none marked executable.
    #[error("{0}")]
    Process(String),
    /// The process uses what a govchain template cannot express: every
    /// problem found, each naming its element.
    #[error("the BPMN process cannot be imported ({} problem{}):\n{}", .0.len(), if .0.len() == 1 { "" } else { "s" }, list(.0))]
    Refused(Vec<Problem>),
    /// Neither the document nor the caller gives a valid template id.
    #[error("{0}")]
    TemplateId(String),
}

fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  - {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl BpmnError {
    /// The problems of a refusal (empty for the other errors).
    pub fn problems(&self) -> &[Problem] {
        match self {
            BpmnError::Refused(p) => p,
            _ => &[],
        }
    }
}

impl ErrorCode for BpmnError {
    fn code(&self) -> &'static str {
        match self {
            BpmnError::Xml(_) => "bpmn.xml",
            BpmnError::Process(_) => "bpmn.process",
            BpmnError::Refused(_) => "bpmn.refused",
            BpmnError::TemplateId(_) => "bpmn.template_id",
        }
    }
}
