//! `govchain-node admin`: builds an admin transaction from the command line
//! (or a registration request file), signs it with the next sequence
//! number, submits it, waits for it to commit and says what it did.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use govchain_ledger::crypto::{KeyId, PublicKey, Signer};
use govchain_ledger::state::kinds::RegisterOfficial;
use govchain_ledger::tx::{Envelope, TxBody};
use govchain_node::error::with_causes;
use serde_json::{json, Map, Value};

use super::error::CliError;
use super::out::outln;

/// Options every admin command shares.
#[derive(Debug, clap::Args)]
pub struct AdminOpts {
    /// The node's base URL (every command but `import-bpmn --dry-run` and
    /// `export-bpmn --file`).
    #[arg(long)]
    pub node: Option<String>,
    /// Accept exactly the node's TLS certificate with this SHA-256
    /// fingerprint (`govchain-node tls-fingerprint`), e.g. a self-signed
    /// one; without it an `https://` node needs a certificate the OS trusts.
    #[arg(long)]
    pub node_cert_sha256: Option<String>,
    /// The signing admin's key file (every command that submits a
    /// transaction); or the admin's key on a token (--pkcs11-*) or in the
    /// OS keychain (--keychain-key).
    #[arg(long)]
    pub key: Option<PathBuf>,
    #[command(flatten)]
    pub token: super::keys::TokenOpts,
    #[command(flatten)]
    pub keychain: super::keys::KeychainOpts,
    /// Print one JSON object instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Return once the node accepted the transaction (status `pending`)
    /// instead of waiting for it to commit.
    #[arg(long, global = true)]
    pub no_wait: bool,
    /// How long to wait for the commit.
    #[arg(long, global = true, default_value_t = 30)]
    pub timeout_secs: u64,
    /// Sign with this sequence number instead of the signer's last one +
    /// 1 (the node's `pending_seq`, which counts its pending transactions).
    #[arg(long, global = true)]
    pub seq: Option<u64>,
}

#[derive(Debug, clap::Subcommand)]
pub enum AdminAction {
    /// Register an official's public key in a department, from a
    /// registration request file (the workstation's Settings) or from
    /// --department, --name and --public-key.
    RegisterOfficial {
        /// The registration request:
        /// `{"kind":"official.register","payload":{"department","name","public_key"}}`.
        #[arg(long, conflicts_with_all = ["department", "name", "public_key"])]
        request: Option<PathBuf>,
        #[arg(long, required_unless_present = "request")]
        department: Option<String>,
        #[arg(long, required_unless_present = "request")]
        name: Option<String>,
        /// The official's Ed25519 public key (64 hex digits).
        #[arg(long, required_unless_present = "request")]
        public_key: Option<String>,
    },
    /// Grant a role in a department for a scope.
    GrantRole {
        /// The official: their official id (key id), a public key (64 hex
        /// digits each), or `@request.json` (their registration request).
        #[arg(long, required_unless_present = "request")]
        official: Option<String>,
        /// The official's registration request file (as `--official @FILE`).
        #[arg(long, conflicts_with = "official")]
        request: Option<PathBuf>,
        #[arg(long)]
        department: String,
        #[arg(long)]
        role: String,
        #[arg(long, default_value = "*")]
        scope: String,
    },
    /// Publish a workflow template from a JSON file (the `workflow.define`
    /// payload, e.g. docs/examples/workflow-renovation.json).
    DefineWorkflow {
        #[arg(long)]
        file: PathBuf,
    },
    /// Publish a workflow template from a BPMN 2.0 process (Camunda,
    /// Flowable, Activiti or standard form): the transaction define-workflow
    /// submits; --dry-run prints its payload instead.
    ImportBpmn(super::bpmn::ImportArgs),
    /// Write a published template (or a payload file) as BPMN 2.0, for
    /// Camunda Modeler, Flowable or Activiti.
    ExportBpmn(super::bpmn::ExportArgs),
    /// Create an engineering-fund project (signed by its developer).
    CreateProject {
        #[arg(long)]
        project_id: String,
        #[arg(long)]
        name: String,
        /// Budget in fen (1 yuan = 100 fen).
        #[arg(long)]
        budget: u64,
        #[arg(long)]
        developer: String,
        #[arg(long)]
        contractor: String,
        #[arg(long)]
        supervisor: String,
        #[arg(long)]
        operator: String,
        /// Who approves confirmed payments, in order: developer and/or operator.
        #[arg(long, value_delimiter = ',', default_value = "developer")]
        approvers: Vec<String>,
    },
}

/// Runs an admin command.
pub fn run(opts: &AdminOpts, action: AdminAction) -> Result<(), CliError> {
    match &action {
        AdminAction::ImportBpmn(a) if a.dry_run => {
            let t = super::bpmn::import(a)?;
            let text =
                serde_json::to_string_pretty(&t).map_err(|e| CliError::Input(e.to_string()))?;
            return outln!("{text}");
        }
        AdminAction::ExportBpmn(a) => return export_bpmn(opts, a),
        _ => {}
    }
    let key = super::keys::admin_signer(opts.key.as_deref(), &opts.token, &opts.keychain)?;
    let rt = tokio::runtime::Runtime::new()
        .map_err(|e| CliError::Input(format!("cannot start the runtime: {e}")))?;
    rt.block_on(async {
        let node = Node::new(node_url(opts)?, opts.node_cert_sha256.as_deref())?;
        let (kind, payload, mut report) = build(&node, action).await?;
        let done = submit(&node, &*key, opts, kind, payload).await?;
        if kind == "official.register" && done.status == "committed" {
            // A department with admin_threshold > 1 registers the official
            // once enough admins have signed the same registration.
            let id = report["official"].as_str().unwrap_or_default().to_owned();
            let registered = node.get(&format!("/v1/officials/{id}")).await?.0 == 200;
            report.insert("registered".into(), Value::Bool(registered));
        }
        report.insert("tx".into(), json!(done.tx));
        report.insert("seq".into(), json!(done.seq));
        report.insert("status".into(), json!(done.status));
        if let Some(h) = done.height {
            report.insert("height".into(), json!(h));
        }
        print(opts.json, kind, &report)
    })
}

fn node_url(opts: &AdminOpts) -> Result<&str, CliError> {
    opts.node.as_deref().ok_or_else(|| {
        CliError::Usage("this admin command talks to a node: give --node URL".into())
    })
}

/// `export-bpmn`: the template from the node (or a file) as BPMN.
fn export_bpmn(opts: &AdminOpts, a: &super::bpmn::ExportArgs) -> Result<(), CliError> {
    let t = match (&a.file, &a.template) {
        (Some(path), _) => super::bpmn::read_template_file(path)?,
        (None, Some(id)) => {
            let node = Node::new(node_url(opts)?, opts.node_cert_sha256.as_deref())?;
            let rt = tokio::runtime::Runtime::new()
                .map_err(|e| CliError::Input(format!("cannot start the runtime: {e}")))?;
            let (_, v) = rt.block_on(node.expect(200, &format!("/v1/templates/{id}")))?;
            super::bpmn::pick_version(&v, a.version).map_err(|e| {
                CliError::refused("workflow.unknown_template", &format!("{id}: {e}"))
            })?
        }
        (None, None) => return Err(CliError::Usage("give --template ID or --file FILE".into())),
    };
    super::bpmn::write(a, &t)
}

/// What a finished command prints: text lines, or one JSON object.
fn print(as_json: bool, kind: &str, r: &Map<String, Value>) -> Result<(), CliError> {
    if as_json {
        let mut obj = r.clone();
        obj.insert("kind".into(), json!(kind));
        return outln!("{}", Value::Object(obj));
    }
    let s = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or_default();
    match kind {
        "official.register" => {
            outln!("official     {} ({})", s("name"), s("department"))?;
            outln!("official id  {}", s("official"))?;
            outln!("key id       {}", s("key_id"))?;
            outln!("fingerprint  {}", s("fingerprint"))?;
            if r.contains_key("key_storage") {
                outln!("key storage  {}", s("key_storage"))?;
            }
        }
        "role.grant" => {
            outln!("official id  {}", s("official"))?;
            outln!(
                "role         {} in {} for scope {}",
                s("role"),
                s("department"),
                s("scope")
            )?;
        }
        "workflow.define" => outln!("workflow     {}@{}", s("workflow"), r["version"])?,
        _ => outln!("project      {}", s("project"))?,
    }
    outln!("tx           {}", s("tx"))?;
    outln!("seq          {}", r["seq"])?;
    match (s("status"), r.get("height"), r.get("registered")) {
        ("committed", Some(h), Some(Value::Bool(false))) => outln!(
            "status       committed at height {h}; the registration waits for more of the department's admins"
        ),
        ("committed", Some(h), _) => outln!("status       committed at height {h}"),
        (other, _, _) => outln!(
            "status       {other} (not waited for: GET /v1/tx/{})",
            s("tx")
        ),
    }
}

/// The transaction an admin command stands for, and what to report about it.
async fn build(
    node: &Node,
    action: AdminAction,
) -> Result<(&'static str, Value, Map<String, Value>), CliError> {
    let mut report = Map::new();
    let out = match action {
        AdminAction::RegisterOfficial {
            request,
            department,
            name,
            public_key,
        } => {
            let r = if let Some(path) = request {
                let (r, storage) = super::registration::read_with_storage(&path)?;
                if let Some(storage) = storage {
                    report.insert("key_storage".into(), json!(storage));
                }
                r
            } else {
                serde_json::from_value::<RegisterOfficial>(json!({
                    "department": department, "name": name, "public_key": public_key
                }))
                .map_err(|e| CliError::Input(format!("register-official: {e}")))?
            };
            let id = r.public_key.key_id();
            report.insert("department".into(), json!(r.department.to_string()));
            report.insert("name".into(), json!(r.name));
            report.insert("official".into(), json!(id.to_hex()));
            report.insert("key_id".into(), json!(id.to_hex()));
            report.insert("fingerprint".into(), json!(id.fingerprint()));
            let payload = serde_json::to_value(&r).map_err(|e| CliError::Input(e.to_string()))?;
            ("official.register", payload)
        }
        AdminAction::GrantRole {
            official,
            request,
            department,
            role,
            scope,
        } => {
            let official = match (request, official) {
                (Some(path), _) => node.official_of_request(&path).await?,
                (None, Some(text)) => match text.strip_prefix('@') {
                    Some(path) => node.official_of_request(Path::new(path)).await?,
                    None => node.official_of_text(&text).await?,
                },
                (None, None) => {
                    return Err(CliError::Input(
                        "grant-role needs --official or --request".into(),
                    ))
                }
            };
            report.insert("official".into(), json!(official.to_hex()));
            report.insert("department".into(), json!(department));
            report.insert("role".into(), json!(role));
            report.insert("scope".into(), json!(scope));
            (
                "role.grant",
                json!({"official": official, "department": department, "role": role, "scope": scope}),
            )
        }
        AdminAction::CreateProject {
            project_id,
            name,
            budget,
            developer,
            contractor,
            supervisor,
            operator,
            approvers,
        } => {
            report.insert("project".into(), json!(project_id));
            (
                "project.create",
                json!({"project_id": project_id, "name": name, "budget": budget,
                       "parties": {"developer": developer, "contractor": contractor,
                                   "supervisor": supervisor, "operator": operator},
                       "approvers": approvers}),
            )
        }
        AdminAction::ImportBpmn(a) => {
            let t = super::bpmn::import(&a)?;
            report.insert("workflow".into(), json!(t.id));
            report.insert("version".into(), json!(t.version));
            let payload = serde_json::to_value(&t).map_err(|e| CliError::Input(e.to_string()))?;
            ("workflow.define", payload)
        }
        AdminAction::ExportBpmn(_) => {
            return Err(CliError::Usage("export-bpmn signs nothing".into()))
        }
        AdminAction::DefineWorkflow { file } => {
            let text = std::fs::read(&file)
                .map_err(|e| CliError::Input(format!("{}: {e}", file.display())))?;
            let v = govchain_ledger::jcs::parse_strict(&text)
                .map_err(|e| CliError::Input(format!("{}: {e}", file.display())))?;
            report.insert("workflow".into(), v["id"].clone());
            report.insert("version".into(), v["version"].clone());
            ("workflow.define", v)
        }
    };
    Ok((out.0, out.1, report))
}

/// Where a submitted transaction ended.
struct Done {
    tx: String,
    seq: u64,
    status: &'static str,
    height: Option<u64>,
}

/// Signs `kind`+`payload` with the next sequence number, submits it and
/// (unless `--no-wait`) waits until it commits or is rejected.
async fn submit(
    node: &Node,
    key: &dyn Signer,
    opts: &AdminOpts,
    kind: &str,
    payload: Value,
) -> Result<Done, CliError> {
    let (_, health) = node.expect(200, "/healthz").await?;
    let chain_id = health["chain_id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| node.bad_answer("no chain id in /healthz"))?;
    let seq = match opts.seq {
        Some(seq) => seq,
        // After the node's pending transactions of this signer too, so that
        // commands sent without waiting (`--no-wait`) do not collide; a
        // cluster follower knows only committed ones, which the default
        // wait for the commit makes enough.
        None => match node.get(&format!("/v1/signers/{}", key.key_id())).await? {
            (200, v) => {
                let committed = v["seq"].as_u64().unwrap_or(0);
                v["pending_seq"].as_u64().unwrap_or(0).max(committed) + 1
            }
            // Not a signer: the node's refusal says so.
            _ => 1,
        },
    };
    let body = TxBody {
        chain_id,
        signer: key.key_id(),
        seq,
        kind: kind.into(),
        payload,
        created_at: govchain_node::api::now(),
    };
    let message = body
        .signed_message()
        .map_err(|e| CliError::Input(format!("cannot sign: {e}")))?;
    let sig = key.try_sign(&message)?;
    let env = Envelope::from_signature(&key.public_key(), body, sig)
        .map_err(|e| CliError::Input(format!("cannot sign: {e}")))?;
    let body = serde_json::to_vec(&env).map_err(|e| CliError::Input(e.to_string()))?;
    let (status, v) = node.post("/v1/tx", body).await?;
    if !(200..300).contains(&status) {
        return Err(node.refusal(&v));
    }
    let tx = v["id"]
        .as_str()
        .ok_or_else(|| node.bad_answer("no id in the answer to POST /v1/tx"))?
        .to_owned();
    if opts.no_wait {
        return Ok(Done {
            tx,
            seq,
            status: "pending",
            height: None,
        });
    }
    let deadline = Instant::now() + Duration::from_secs(opts.timeout_secs);
    loop {
        let (_, v) = node.expect(200, &format!("/v1/tx/{tx}")).await?;
        match v["status"].as_str() {
            Some("committed") => {
                return Ok(Done {
                    tx,
                    seq,
                    status: "committed",
                    height: v["height"].as_u64(),
                })
            }
            Some("rejected") => return Err(node.refusal(&v)),
            _ if Instant::now() >= deadline => {
                return Err(CliError::Timeout {
                    tx,
                    secs: opts.timeout_secs,
                })
            }
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// A node's HTTP API as the CLI uses it.
struct Node {
    base: String,
    http: reqwest::Client,
}

impl Node {
    fn new(base: &str, pin: Option<&str>) -> Result<Self, CliError> {
        let base = base.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(CliError::Input(format!(
                "--node {base}: give the node's base URL, e.g. http://127.0.0.1:7700"
            )));
        }
        let builder = || reqwest::Client::builder().timeout(Duration::from_secs(20));
        let http = match super::tls::pinned_client("--node-cert-sha256", pin, builder())? {
            Some(http) => http,
            None => builder()
                .build()
                .map_err(|e| CliError::Input(e.to_string()))?,
        };
        Ok(Self { base, http })
    }

    fn unreachable(&self, e: &reqwest::Error) -> CliError {
        CliError::Unreachable {
            node: self.base.clone(),
            detail: with_causes(e),
        }
    }

    fn bad_answer(&self, detail: &str) -> CliError {
        CliError::BadAnswer {
            node: self.base.clone(),
            detail: detail.to_owned(),
        }
    }

    /// The node's `{code, message}` as a refusal.
    fn refusal(&self, v: &Value) -> CliError {
        match (v["code"].as_str(), v["message"].as_str()) {
            (Some(code), Some(message)) => CliError::refused(code, message),
            _ => self.bad_answer(&format!("a refusal without code and message: {v}")),
        }
    }

    async fn answer(&self, r: reqwest::Response) -> Result<(u16, Value), CliError> {
        let status = r.status().as_u16();
        let bytes = r.bytes().await.map_err(|e| self.unreachable(&e))?;
        let v = serde_json::from_slice(&bytes).map_err(|_| {
            self.bad_answer(&format!(
                "HTTP {status}, not JSON: {}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
            ))
        })?;
        Ok((status, v))
    }

    async fn get(&self, path: &str) -> Result<(u16, Value), CliError> {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .map_err(|e| self.unreachable(&e))?;
        self.answer(r).await
    }

    /// GET that must answer `status`; another answer is the node's refusal.
    async fn expect(&self, status: u16, path: &str) -> Result<(u16, Value), CliError> {
        let (s, v) = self.get(path).await?;
        if s == status {
            Ok((s, v))
        } else {
            Err(self.refusal(&v))
        }
    }

    async fn post(&self, path: &str, body: Vec<u8>) -> Result<(u16, Value), CliError> {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .body(body)
            .send()
            .await
            .map_err(|e| self.unreachable(&e))?;
        self.answer(r).await
    }

    /// The official who signs with `key_id`, if any.
    async fn official_of_key(&self, key_id: &KeyId) -> Result<Option<KeyId>, CliError> {
        match self.get(&format!("/v1/signers/{key_id}")).await? {
            (200, v) => Ok(v["official"].as_str().and_then(|s| KeyId::from_hex(s).ok())),
            (404, _) => Ok(None),
            (_, v) => Err(self.refusal(&v)),
        }
    }

    /// `--official` as given: an official id or key id, or a public key.
    async fn official_of_text(&self, text: &str) -> Result<KeyId, CliError> {
        let as_key_id = KeyId::from_hex(text).map_err(|_| {
            CliError::Input(format!(
                "--official {text}: give the official id (key id) or public key as 64 hex digits, or @request.json"
            ))
        })?;
        if let Some(official) = self.official_of_key(&as_key_id).await? {
            return Ok(official);
        }
        if let Ok(pk) = PublicKey::from_hex(text) {
            if let Some(official) = self.official_of_key(&pk.key_id()).await? {
                return Ok(official);
            }
        }
        Err(CliError::refused(
            "identity.unknown_official",
            &format!(
                "{} knows no official with key id or public key {text}",
                self.base
            ),
        ))
    }

    /// The official registered from a registration request file.
    async fn official_of_request(&self, path: &Path) -> Result<KeyId, CliError> {
        let r = super::registration::read(path)?;
        let id = r.public_key.key_id();
        self.official_of_key(&id).await?.ok_or_else(|| {
            CliError::refused(
                "identity.unknown_official",
                &format!(
                    "{}: the official with public key {} (key id {id}) is not registered on {}",
                    path.display(),
                    r.public_key,
                    self.base
                ),
            )
        })
    }
}
