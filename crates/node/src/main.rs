//! `govchain-node`: create a chain, run a department node, and administer it.
//!
//! ```text
//! govchain-node keygen --out node.key
//! govchain-node init   --genesis genesis.toml --data-dir D --node-key node.key --admin-key admin.key
//! govchain-node run    --data-dir D --node-key node.key --name node.city.example --listen 127.0.0.1:7700
//! govchain-node run    ... --cluster cluster.toml --node-id 1     (a consortium member)
//! govchain-node admin  --node http://127.0.0.1:7700 --key admin.key register-official --department D --name N --public-key HEX
//! ```
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::{Parser, Subcommand};
use govchain_ledger::crypto::SecretKey;
use govchain_ledger::tx::{Envelope, TxBody};
use govchain_ledger::ErrorCode;
use govchain_node::config;
use govchain_node::{Core, Limits, NodeError};
use serde_json::{json, Value};

#[derive(Debug, Parser)]
#[command(name = "govchain-node", version, about = "govchain department node")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a new Ed25519 key file (the seed, hex, mode 0600) and print its public key.
    Keygen {
        #[arg(long)]
        out: PathBuf,
    },
    /// Create the chain's database from a genesis TOML (block 0), or from
    /// another node's block 0 (`--from-block`, for the consortium's other
    /// nodes). Writes block 0 to `DATA_DIR/block0.json`.
    Init {
        #[arg(long, required_unless_present = "from_block")]
        genesis: Option<PathBuf>,
        #[arg(long)]
        data_dir: PathBuf,
        /// This node's key (one of the genesis node keys); seals block 0.
        #[arg(long)]
        node_key: PathBuf,
        /// A founding admin's key; signs the genesis transaction.
        #[arg(long, required_unless_present = "from_block")]
        admin_key: Option<PathBuf>,
        /// Block 0 as another node's `init` wrote it (verified).
        #[arg(long, conflicts_with_all = ["genesis", "admin_key"])]
        from_block: Option<PathBuf>,
    },
    /// Serve the HTTP API and produce blocks.
    Run {
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long)]
        node_key: PathBuf,
        /// The node's name in checkpoints (a schema-less URL).
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "127.0.0.1:7700")]
        listen: String,
        /// Cut a block at least this often (milliseconds) when transactions wait.
        #[arg(long, default_value_t = 100)]
        block_ms: u64,
        /// Requests per second each client address may make (bursts of
        /// twice that); 0 turns the limit off.
        #[arg(long, default_value_t = Limits::default().requests_per_sec)]
        rate_limit: u32,
        /// Run as a member of a consortium cluster (cluster.toml, see
        /// ARCHITECTURE.md); needs `--node-id`.
        #[arg(long, requires = "node_id")]
        cluster: Option<PathBuf>,
        /// This node's id in the cluster file.
        #[arg(long)]
        node_id: Option<u64>,
    },
    /// Witness another department's log: check each new checkpoint extends
    /// the last one cosigned, then cosign it (PROTOCOL.md §8.7).
    Witness {
        /// The log node's base URL.
        #[arg(long)]
        log: String,
        /// The log's checkpoint origin line.
        #[arg(long)]
        origin: String,
        /// The name the log's checkpoints are signed under (its `run --name`).
        #[arg(long)]
        log_name: String,
        /// The log's node public key (hex, as in the genesis file).
        #[arg(long)]
        log_public_key: String,
        /// This department's node key: cosignatures count only from
        /// departments' node keys.
        #[arg(long)]
        node_key: PathBuf,
        /// The name this witness's cosignatures carry.
        #[arg(long)]
        name: String,
        /// Where the last cosigned size and root are kept.
        #[arg(long)]
        state: PathBuf,
        #[arg(long, default_value_t = 1000)]
        interval_ms: u64,
    },
    /// Load test a node, or a Raft cluster, in-process over loopback HTTP
    /// (see BENCHMARKS.md).
    Bench(govchain_node::loadgen::Load),
    /// Sign and submit an admin transaction.
    Admin {
        /// The node's base URL.
        #[arg(long)]
        node: String,
        /// The signing admin's key file.
        #[arg(long)]
        key: PathBuf,
        #[command(subcommand)]
        action: AdminAction,
    },
}

#[derive(Debug, Subcommand)]
enum AdminAction {
    /// Register an official's public key in a department.
    RegisterOfficial {
        #[arg(long)]
        department: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        public_key: String,
    },
    /// Grant a role in a department for a scope.
    GrantRole {
        #[arg(long)]
        official: String,
        #[arg(long)]
        department: String,
        #[arg(long)]
        role: String,
        #[arg(long, default_value = "*")]
        scope: String,
    },
    /// Publish a workflow template from a JSON file (the `workflow.define` payload).
    DefineWorkflow {
        #[arg(long)]
        file: PathBuf,
    },
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

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match dispatch(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("govchain-node: error [{}]: {e}", e.code());
            ExitCode::FAILURE
        }
    }
}

/// `init`: block 0 from a genesis TOML (signed by a founding admin, sealed
/// by this node) or from another node's `block0.json`.
fn init(
    genesis: Option<PathBuf>,
    data_dir: &std::path::Path,
    node_key: &std::path::Path,
    admin_key: Option<PathBuf>,
    from_block: Option<PathBuf>,
) -> Result<(), NodeError> {
    let node = config::read_key(node_key)?;
    std::fs::create_dir_all(data_dir)
        .map_err(|e| NodeError::Config(format!("{}: {e}", data_dir.display())))?;
    let db = db_path(data_dir);
    if db.exists() {
        return Err(NodeError::Config(format!(
            "{} already exists",
            db.display()
        )));
    }
    let block = match (from_block, genesis, admin_key) {
        (Some(path), _, _) => {
            let bytes = std::fs::read(&path)
                .map_err(|e| NodeError::Config(format!("{}: {e}", path.display())))?;
            govchain_ledger::block::Block::from_json(&bytes)
                .map_err(|e| NodeError::Config(format!("{}: {e}", path.display())))?
        }
        (None, Some(genesis), Some(admin_key)) => {
            let file = config::read_genesis(&genesis)?;
            govchain_node::genesis_block(
                &file.chain_id,
                &file.payload(),
                &config::read_key(&admin_key)?,
                &node,
                govchain_node::api::now(),
            )?
        }
        _ => {
            return Err(NodeError::Config(
                "give --genesis and --admin-key, or --from-block".into(),
            ))
        }
    };
    let core = Core::open(&db, node, "init", Some(&block), Limits::default())?;
    let json = serde_json::to_vec(&block).map_err(|e| NodeError::Config(e.to_string()))?;
    let out = data_dir.join("block0.json");
    std::fs::write(&out, json).map_err(|e| NodeError::Config(format!("{}: {e}", out.display())))?;
    println!(
        "created chain {} at {} (height {})",
        core.chain_id(),
        db.display(),
        core.height()
    );
    Ok(())
}

fn db_path(data_dir: &std::path::Path) -> PathBuf {
    data_dir.join("chain.sqlite")
}

fn dispatch(cmd: Command) -> Result<(), NodeError> {
    match cmd {
        Command::Keygen { out } => {
            let key = SecretKey::generate(&mut rand_core::OsRng);
            config::write_key(&out, &key)?;
            println!("public key  {}", key.public_key());
            println!("key id      {}", key.key_id());
            println!("fingerprint {}", key.key_id().fingerprint());
            Ok(())
        }
        Command::Init {
            genesis,
            data_dir,
            node_key,
            admin_key,
            from_block,
        } => init(genesis, &data_dir, &node_key, admin_key, from_block),
        Command::Run {
            data_dir,
            node_key,
            name,
            listen,
            block_ms,
            rate_limit,
            cluster,
            node_id,
        } => serve(
            &data_dir,
            &node_key,
            &name,
            &listen,
            block_ms,
            rate_limit,
            cluster.zip(node_id),
        ),
        Command::Bench(load) => bench(load),
        Command::Witness {
            log,
            origin,
            log_name,
            log_public_key,
            node_key,
            name,
            state,
            interval_ms,
        } => {
            let log_key = govchain_ledger::note::NoteKey::new(
                &log_name,
                govchain_ledger::note::ALG_ED25519,
                config::parse_public_key(&log_public_key)?,
            )
            .map_err(|e| NodeError::Config(format!("--log-name: {e}")))?;
            let cfg = govchain_node::witness::WitnessConfig {
                log_url: log.trim_end_matches('/').to_owned(),
                origin,
                log_key,
                name,
                state_file: state,
            };
            let witness = govchain_node::witness::Witness::open(cfg, config::read_key(&node_key)?)?;
            let rt =
                tokio::runtime::Runtime::new().map_err(|e| NodeError::Config(e.to_string()))?;
            rt.block_on(
                witness.run(Duration::from_millis(interval_ms.max(10)), async {
                    let _ = tokio::signal::ctrl_c().await;
                }),
            )?;
            Ok(())
        }
        Command::Admin { node, key, action } => {
            let key = config::read_key(&key)?;
            let (kind, payload) = admin_tx(action)?;
            submit(&node, &key, kind, payload)
        }
    }
}

/// The transaction an admin subcommand stands for.
fn admin_tx(action: AdminAction) -> Result<(&'static str, Value), NodeError> {
    Ok(match action {
        AdminAction::RegisterOfficial {
            department,
            name,
            public_key,
        } => (
            "official.register",
            json!({"department": department, "name": name, "public_key": config::parse_public_key(&public_key)?}),
        ),
        AdminAction::GrantRole {
            official,
            department,
            role,
            scope,
        } => (
            "role.grant",
            json!({"official": official, "department": department, "role": role, "scope": scope}),
        ),
        AdminAction::CreateProject {
            project_id,
            name,
            budget,
            developer,
            contractor,
            supervisor,
            operator,
            approvers,
        } => (
            "project.create",
            json!({"project_id": project_id, "name": name, "budget": budget,
                   "parties": {"developer": developer, "contractor": contractor,
                               "supervisor": supervisor, "operator": operator},
                   "approvers": approvers}),
        ),
        AdminAction::DefineWorkflow { file } => {
            let text = std::fs::read(&file)
                .map_err(|e| NodeError::Config(format!("{}: {e}", file.display())))?;
            let v = govchain_ledger::jcs::parse_strict(&text)
                .map_err(|e| NodeError::Config(format!("{}: {e}", file.display())))?;
            ("workflow.define", v)
        }
    })
}

/// Runs the load test and prints the figures.
fn bench(load: govchain_node::loadgen::Load) -> Result<(), NodeError> {
    let rt = tokio::runtime::Runtime::new().map_err(|e| NodeError::Config(e.to_string()))?;
    let r = rt.block_on(govchain_node::loadgen::run(load))?;
    println!("transactions        {}", r.txs);
    println!("nodes               {}", r.nodes);
    println!("raw batch verify    {:.0} tx/s", r.raw_verify_per_sec);
    println!(
        "node core, no HTTP  {:.0} tx/s ({:.2} x raw verify)",
        r.direct_per_sec,
        r.direct_per_sec / r.raw_verify_per_sec
    );
    println!(
        "committed via HTTP  {:.0} tx/s ({:.2} x raw verify)",
        r.committed_per_sec,
        r.committed_per_sec / r.raw_verify_per_sec
    );
    if let Some(rate) = r.offered_per_sec {
        println!("offered load        {rate:.0} tx/s");
    }
    println!("submit->commit p50  {:.1} ms", r.p50_ms);
    println!("submit->commit p99  {:.1} ms", r.p99_ms);
    Ok(())
}

/// Serves the node until Ctrl-C.
fn serve(
    data_dir: &std::path::Path,
    node_key: &std::path::Path,
    name: &str,
    listen: &str,
    block_ms: u64,
    rate_limit: u32,
    cluster: Option<(PathBuf, u64)>,
) -> Result<(), NodeError> {
    let key = config::read_key(node_key)?;
    let cluster = cluster
        .map(|(path, id)| govchain_node::cluster::read_cluster(&path).map(|f| (f, id)))
        .transpose()?;
    let limits = Limits {
        requests_per_sec: rate_limit,
        ..Limits::default()
    };
    let core = Core::open(&db_path(data_dir), key, name, None, limits)?;
    let rt = tokio::runtime::Runtime::new().map_err(|e| NodeError::Config(e.to_string()))?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&listen)
            .await
            .map_err(|e| NodeError::Config(format!("cannot listen on {listen}: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| NodeError::Config(format!("cannot listen on {listen}: {e}")))?;
        tracing::info!(chain = %core.chain_id(), height = core.height(), %addr, "serving");
        // The first line on stdout names the bound address (port 0 picks one).
        println!("listening on {addr}");
        let core = Arc::new(Mutex::new(core));
        let interval = Duration::from_millis(block_ms.max(1));
        let stop = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        match cluster {
            None => govchain_node::run(listener, core, interval, stop).await,
            Some((file, id)) => {
                let key = core
                    .lock()
                    .map_err(|_| NodeError::Storage("node state lock poisoned".into()))?
                    .node_key();
                let member =
                    govchain_node::cluster::Cluster::start(core.clone(), data_dir, key, id, file)
                        .await?;
                govchain_node::cluster::run(listener, core, member, interval, stop).await
            }
        }
    })
}

/// Signs `kind`+`payload` with the next sequence number and submits it.
fn submit(node: &str, key: &SecretKey, kind: &str, payload: Value) -> Result<(), NodeError> {
    let rt = tokio::runtime::Runtime::new().map_err(|e| NodeError::Config(e.to_string()))?;
    rt.block_on(async {
        let client = reqwest::Client::new();
        let net = |e: reqwest::Error| NodeError::Config(format!("{node}: {e}"));
        let health: Value = client
            .get(format!("{node}/healthz"))
            .send()
            .await
            .map_err(net)?
            .json()
            .await
            .map_err(net)?;
        let signer: Value = client
            .get(format!("{node}/v1/signers/{}", key.key_id()))
            .send()
            .await
            .map_err(net)?
            .json()
            .await
            .map_err(net)?;
        let chain_id = health["chain_id"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| NodeError::Config(format!("{node}: no chain id in /healthz")))?;
        let seq = signer["seq"].as_u64().unwrap_or(0) + 1;
        let env = Envelope::sign(
            key,
            TxBody {
                chain_id,
                signer: key.key_id(),
                seq,
                kind: kind.into(),
                payload,
                created_at: govchain_node::api::now(),
            },
        )
        .map_err(|e| NodeError::bad(&e))?;
        let resp = client
            .post(format!("{node}/v1/tx"))
            .body(serde_json::to_vec(&env).map_err(|e| NodeError::Config(e.to_string()))?)
            .send()
            .await
            .map_err(net)?;
        let ok = resp.status().is_success();
        let v: Value = resp.json().await.map_err(net)?;
        println!("{v}");
        if ok {
            Ok(())
        } else {
            Err(NodeError::Config(format!(
                "{}: {}",
                v["code"], v["message"]
            )))
        }
    })
}
