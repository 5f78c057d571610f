//! `admin import-bpmn` and `admin export-bpmn`: a BPMN 2.0 process
//! definition (Camunda, Flowable, Activiti or standard) to the
//! `workflow.define` payload that `define-workflow` submits, and a published
//! template back to BPMN (crates/bpmn).

use std::path::{Path, PathBuf};

use govchain_bpmn::GroupMap;
use govchain_ledger::state::kinds::{DefineWorkflow, RefId};
use govchain_ledger::ErrorCode as _;
use serde_json::Value;

use super::error::CliError;

/// What `import-bpmn` reads.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The BPMN 2.0 file (one process).
    pub file: PathBuf,
    /// Candidate group → department and role, a TOML (or .json) table:
    /// `"城管局审批科" = { department = "city-management", role = "approver" }`.
    /// Groups named `department:role` (what export-bpmn writes) need no entry.
    #[arg(long)]
    pub groups: Option<PathBuf>,
    /// The template id (default: the process's govchain:template or id).
    #[arg(long)]
    pub id: Option<String>,
    /// The template version (default: the process's govchain:version or
    /// Camunda versionTag, else 1).
    #[arg(long)]
    pub version: Option<u32>,
    /// Print the `workflow.define` payload (JSON) instead of submitting it;
    /// needs neither --node nor --key.
    #[arg(long)]
    pub dry_run: bool,
}

/// What `export-bpmn` writes.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The template id, fetched from --node (GET /v1/templates/{id}).
    #[arg(long, required_unless_present = "file", conflicts_with = "file")]
    pub template: Option<String>,
    /// The version (default: the latest published).
    #[arg(long, requires = "template")]
    pub version: Option<u32>,
    /// Export a template from a file instead: a `workflow.define` payload or
    /// a template as GET /v1/templates/{id} serves its versions.
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// Write the BPMN here instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

fn bad(path: &Path, detail: impl std::fmt::Display) -> CliError {
    CliError::Input(format!("{}: {detail}", path.display()))
}

fn read_groups(path: &Path) -> Result<GroupMap, CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| bad(path, e))?;
    if path.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(&text).map_err(|e| bad(path, e))
    } else {
        toml::from_str(&text).map_err(|e| bad(path, e))
    }
}

/// The `workflow.define` payload of a BPMN file; a refusal lists every
/// problem under its `bpmn.*` code.
pub fn import(a: &ImportArgs) -> Result<DefineWorkflow, CliError> {
    let xml = std::fs::read_to_string(&a.file).map_err(|e| bad(&a.file, e))?;
    let groups = match &a.groups {
        Some(p) => read_groups(p)?,
        None => GroupMap::default(),
    };
    let id =
        a.id.clone()
            .map(RefId::try_from)
            .transpose()
            .map_err(|e| CliError::Input(format!("--id: {e}")))?;
    let refused = |e: govchain_bpmn::BpmnError| {
        CliError::refused(e.code(), &format!("{}: {e}", a.file.display()))
    };
    govchain_bpmn::import(&xml, &groups)
        .map_err(refused)?
        .into_workflow(id, a.version)
        .map_err(refused)
}

/// A template as a `workflow.define` payload, from the payload itself or a
/// ledger template (which also has `defined_by` and `defined_at`).
pub fn template_of(v: &Value) -> Result<DefineWorkflow, String> {
    let mut obj = v.as_object().cloned().ok_or("not a JSON object")?;
    obj.retain(|k, _| matches!(k.as_str(), "id" | "version" | "name" | "stages"));
    serde_json::from_value(Value::Object(obj)).map_err(|e| e.to_string())
}

/// Picks `version` (or the latest) from a GET /v1/templates/{id} answer.
pub fn pick_version(answer: &Value, version: Option<u32>) -> Result<DefineWorkflow, String> {
    let versions = answer["versions"].as_array().ok_or("no versions")?;
    let chosen = match version {
        Some(n) => versions
            .iter()
            .find(|t| t["version"].as_u64() == Some(u64::from(n)))
            .ok_or_else(|| format!("the template has no version {n}"))?,
        None => versions.last().ok_or("no versions")?,
    };
    template_of(chosen)
}

/// Writes the exported BPMN to `--out` or stdout.
pub fn write(a: &ExportArgs, t: &DefineWorkflow) -> Result<(), CliError> {
    let xml = govchain_bpmn::export(t);
    match &a.out {
        Some(path) => std::fs::write(path, xml).map_err(|e| bad(path, e)),
        None => super::out::outln!("{}", xml.trim_end()),
    }
}

/// `export-bpmn --file`: the template from a local JSON file.
pub fn read_template_file(path: &Path) -> Result<DefineWorkflow, CliError> {
    let text = std::fs::read(path).map_err(|e| bad(path, e))?;
    let v: Value = serde_json::from_slice(&text).map_err(|e| bad(path, e))?;
    let v = match v.get("versions") {
        Some(_) => pick_version(&v, None),
        None => template_of(&v),
    };
    v.map_err(|e| bad(path, e))
}
