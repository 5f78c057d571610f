//! `govchain-node`: create a chain, run a department node, and administer it.
//!
//! ```text
//! govchain-node keygen --out node.key
//! govchain-node init   --genesis genesis.toml --data-dir D --node-key node.key --admin-key admin.key
//! govchain-node run    --data-dir D --node-key node.key --name node.city.example --listen 127.0.0.1:7700
//! govchain-node run    ... --cluster cluster.toml --node-id 1     (a consortium member)
//! govchain-node run    ... --listen 0.0.0.0:7700 --tls            (HTTPS, init's self-signed certificate)
//! govchain-node run    ... --tls-cert node.pem --tls-key node-key.pem   (HTTPS, a CA's certificate)
//! govchain-node tls-fingerprint --data-dir D                     (what clients pin)
//! govchain-node verify-chain --data-dir D                        (replay and check everything)
//! govchain-node admin  --node http://127.0.0.1:7700 --key admin.key register-official --request request.json
//! govchain-node admin  --node http://127.0.0.1:7700 --key admin.key grant-role --official @request.json --department D --role R
//! ```
//!
//! Refusals go to stderr as `govchain-node: error [CODE]: message` with the
//! exit status of [`cli::error`]; stdout may be closed early.
#![forbid(unsafe_code)]

mod cli;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::{Parser, Subcommand};
use govchain_ledger::crypto::SecretKey;
use govchain_node::config;
use govchain_node::{Core, Limits, NodeError};

use cli::error::CliError;
use cli::out::outln;

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
        node_key: Option<PathBuf>,
        #[command(flatten)]
        token: cli::keys::TokenOpts,
        /// A founding admin's key; signs the genesis transaction.
        #[arg(long, required_unless_present = "from_block")]
        admin_key: Option<PathBuf>,
        /// Block 0 as another node's `init` wrote it (verified).
        #[arg(long, conflicts_with_all = ["genesis", "admin_key"])]
        from_block: Option<PathBuf>,
        /// A host name or IP address the self-signed TLS certificate names
        /// (repeat for several; default `localhost` and `127.0.0.1`).
        #[arg(long = "tls-name")]
        tls_names: Vec<String>,
    },
    /// Make a self-signed TLS certificate and key in the data directory
    /// (what `init` does; for a data directory made before) and print its
    /// fingerprint.
    TlsCert {
        #[arg(long)]
        data_dir: PathBuf,
        /// A host name or IP address the certificate names (repeatable).
        #[arg(long = "name")]
        names: Vec<String>,
    },
    /// Print the SHA-256 fingerprint of the node's TLS certificate (the
    /// data directory's self-signed one, or `--cert FILE`): what
    /// workstations and other members pin.
    TlsFingerprint {
        #[arg(long, required_unless_present = "cert", conflicts_with = "cert")]
        data_dir: Option<PathBuf>,
        #[arg(long)]
        cert: Option<PathBuf>,
    },
    /// Create a new Ed25519 key on a PKCS#11 token (a USB key, smart card
    /// or HSM) and print its public key: a node or admin key that never
    /// leaves the token. PIN from GOVCHAIN_PKCS11_PIN or asked.
    TokenKeygen {
        /// The token vendor's PKCS#11 module.
        #[arg(long = "pkcs11-module")]
        module: PathBuf,
        /// The token's label or serial number.
        #[arg(long = "pkcs11-token")]
        token: String,
        /// The new key's label on the token.
        #[arg(long)]
        label: String,
    },
    /// Serve the HTTP API and produce blocks.
    Run {
        #[arg(long)]
        data_dir: PathBuf,
        /// The node's key file; or its key on a token (--pkcs11-*).
        #[arg(long)]
        node_key: Option<PathBuf>,
        #[command(flatten)]
        token: cli::keys::TokenOpts,
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
        /// Target submit-to-commit delay (milliseconds): submissions are
        /// refused `429 node.busy` once the transactions admitted and
        /// being checked are what the node commits in half of this at its
        /// service rate (at least 100; 2000 before its first block).
        #[arg(long, default_value_t = Limits::default().max_queue_ms)]
        max_queue_ms: u64,
        /// Run as a member of a consortium cluster (cluster.toml, see
        /// ARCHITECTURE.md); needs `--node-id`.
        #[arg(long, requires = "node_id")]
        cluster: Option<PathBuf>,
        /// This node's id in the cluster file.
        #[arg(long)]
        node_id: Option<u64>,
        #[command(flatten)]
        tls: cli::tls::TlsOpts,
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
        /// Accept exactly the log node's TLS certificate with this SHA-256
        /// fingerprint (else an `https://` log needs one the OS trusts).
        #[arg(long)]
        log_cert_sha256: Option<String>,
        /// This department's node key: cosignatures count only from
        /// departments' node keys.
        #[arg(long)]
        node_key: Option<PathBuf>,
        #[command(flatten)]
        token: cli::keys::TokenOpts,
        /// The name this witness's cosignatures carry.
        #[arg(long)]
        name: String,
        /// Where the last cosigned size and root are kept.
        #[arg(long)]
        state: PathBuf,
        #[arg(long, default_value_t = 1000)]
        interval_ms: u64,
    },
    /// Replay every stored block with full verification (hash chain, roots,
    /// every signature and rule) and check that the stored state the node
    /// starts from is exactly the replay's. Safe while the node runs.
    VerifyChain {
        #[arg(long)]
        data_dir: PathBuf,
        /// If the stored state differs (or is missing), rewrite it from the
        /// replay instead of failing. Stop the node first.
        #[arg(long)]
        rebuild_state: bool,
    },
    /// Load test a node, or a Raft cluster, in-process over loopback HTTP
    /// (see BENCHMARKS.md).
    Bench(govchain_node::loadgen::Load),
    /// Write a chain of the seed's size (a node's data directory, its node
    /// key, the officials and a sample of their keys) for evaluation;
    /// deterministic from --seed (see BENCHMARKS.md).
    DemoData(govchain_node::demo_data::DemoData),
    /// Sign and submit an admin transaction, wait for it to commit and
    /// print what it did.
    Admin {
        #[command(flatten)]
        opts: cli::admin::AdminOpts,
        #[command(subcommand)]
        action: cli::admin::AdminAction,
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
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // --help, --version: clap prints them (a closed stdout is ignored).
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let text = e.to_string();
            let text = text.trim_start_matches("error: ").trim_end();
            return CliError::Usage(text.to_owned()).exit();
        }
    };
    match dispatch(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => e.exit(),
    }
}

/// `init`: block 0 from a genesis TOML (signed by a founding admin, sealed
/// by this node) or from another node's `block0.json`.
fn init(
    genesis: Option<PathBuf>,
    data_dir: &std::path::Path,
    node_key: (Option<&std::path::Path>, &cli::keys::TokenOpts),
    admin_key: Option<&std::path::Path>,
    from_block: Option<PathBuf>,
    tls_names: &[String],
) -> Result<(), CliError> {
    // Both keys are read (and their permissions checked, §16.1) before
    // anything is created.
    let node = cli::keys::signer("--node-key", node_key.0, node_key.1)?;
    let admin = admin_key.map(config::read_key).transpose()?;
    std::fs::create_dir_all(data_dir)
        .map_err(|e| NodeError::Config(format!("{}: {e}", data_dir.display())))?;
    let db = db_path(data_dir);
    if db.exists() {
        return Err(NodeError::Config(format!("{} already exists", db.display())).into());
    }
    let block = match (from_block, genesis, admin) {
        (Some(path), _, _) => {
            let bytes = std::fs::read(&path)
                .map_err(|e| NodeError::Config(format!("{}: {e}", path.display())))?;
            govchain_ledger::block::Block::from_json(&bytes)
                .map_err(|e| NodeError::Config(format!("{}: {e}", path.display())))?
        }
        (None, Some(genesis), Some(admin)) => {
            let file = config::read_genesis(&genesis)?;
            govchain_node::genesis_block(
                &file.chain_id,
                &file.payload(),
                &admin,
                &*node,
                govchain_node::api::now(),
            )?
        }
        _ => {
            return Err(CliError::Input(
                "give --genesis and --admin-key, or --from-block".into(),
            ))
        }
    };
    let core = Core::open(&db, node, "init", Some(&block), Limits::default())?;
    let tls_sha256 = govchain_node::tls::ensure_self_signed(data_dir, tls_names)?;
    let json = serde_json::to_vec(&block).map_err(|e| NodeError::Config(e.to_string()))?;
    let out = data_dir.join("block0.json");
    std::fs::write(&out, json).map_err(|e| NodeError::Config(format!("{}: {e}", out.display())))?;
    let genesis_hash = block
        .header
        .hash()
        .map_err(|e| NodeError::Config(format!("block 0: {e}")))?;
    // What workstations pin (Settings → chain): the chain id and block 0's
    // hash, 64 lowercase hex digits.
    outln!("chain id      {}", core.chain_id())?;
    outln!("genesis hash  {}", genesis_hash.to_hex())?;
    outln!("height        {}", core.height())?;
    outln!("database      {}", db.display())?;
    outln!("block 0       {}", out.display())?;
    // What clients pin when the node serves its self-signed certificate
    // (`run --tls`).
    outln!(
        "tls cert      {}",
        data_dir.join(govchain_node::tls::CERT_FILE).display()
    )?;
    outln!("tls sha-256   {tls_sha256}")
}

fn db_path(data_dir: &std::path::Path) -> PathBuf {
    data_dir.join("chain.sqlite")
}

/// The data directory's database, which `init` must have made (a command
/// that only reads a chain never creates an empty database).
fn existing_db(data_dir: &std::path::Path) -> Result<PathBuf, CliError> {
    let db = db_path(data_dir);
    if db.exists() {
        return Ok(db);
    }
    Err(NodeError::Config(format!(
        "{} does not exist: is --data-dir the directory `govchain-node init` made? (init creates the chain)",
        db.display()
    ))
    .into())
}

/// `keygen`: a new key file, and what identifies its public key.
fn keygen(out: &std::path::Path) -> Result<(), CliError> {
    let key = SecretKey::generate(&mut rand_core::OsRng);
    config::write_key(out, &key)?;
    outln!("public key  {}", key.public_key())?;
    outln!("key id      {}", key.key_id())?;
    outln!("fingerprint {}", key.key_id().fingerprint())
}

fn dispatch(cmd: Command) -> Result<(), CliError> {
    match cmd {
        Command::Keygen { out } => keygen(&out),
        Command::TokenKeygen {
            module,
            token,
            label,
        } => cli::keys::token_keygen(&module, &token, &label),
        Command::Init {
            genesis,
            data_dir,
            node_key,
            token,
            admin_key,
            from_block,
            tls_names,
        } => init(
            genesis,
            &data_dir,
            (node_key.as_deref(), &token),
            admin_key.as_deref(),
            from_block,
            &tls_names,
        ),
        Command::TlsCert { data_dir, names } => cli::tls::make_cert(&data_dir, &names),
        Command::TlsFingerprint { data_dir, cert } => {
            cli::tls::print_fingerprint(data_dir.as_deref(), cert.as_deref())
        }
        Command::Run {
            data_dir,
            node_key,
            token,
            name,
            listen,
            block_ms,
            rate_limit,
            max_queue_ms,
            cluster,
            node_id,
            tls,
        } => serve(
            &data_dir,
            (node_key.as_deref(), &token),
            &name,
            // Plain HTTP on a network address is refused before anything
            // is read.
            &cli::tls::Listen {
                identity: tls.identity(&data_dir, &listen)?,
                addr: listen,
            },
            block_ms,
            Limits {
                requests_per_sec: rate_limit,
                max_queue_ms,
                ..Limits::default()
            },
            cluster.zip(node_id),
        ),
        Command::Bench(load) => bench(load),
        Command::DemoData(opts) => demo_data(&opts),
        Command::VerifyChain {
            data_dir,
            rebuild_state,
        } => verify_chain(&data_dir, rebuild_state),
        Command::Witness {
            log,
            origin,
            log_name,
            log_public_key,
            log_cert_sha256,
            node_key,
            token,
            name,
            state,
            interval_ms,
        } => witness(
            govchain_node::witness::WitnessConfig {
                log_url: log.trim_end_matches('/').to_owned(),
                origin,
                log_key: govchain_ledger::note::NoteKey::new(
                    &log_name,
                    govchain_ledger::note::ALG_ED25519,
                    config::parse_public_key(&log_public_key)?,
                )
                .map_err(|e| NodeError::Config(format!("--log-name: {e}")))?,
                name,
                state_file: state,
            },
            cli::keys::signer("--node-key", node_key.as_deref(), &token)?,
            log_cert_sha256.as_deref(),
            interval_ms,
        ),
        Command::Admin { opts, action } => cli::admin::run(&opts, action),
    }
}

/// `witness`: cosigns the log's checkpoints until Ctrl-C.
fn witness(
    cfg: govchain_node::witness::WitnessConfig,
    key: govchain_node::NodeKey,
    log_cert_sha256: Option<&str>,
    interval_ms: u64,
) -> Result<(), CliError> {
    let mut witness = govchain_node::witness::Witness::open(cfg, key)?;
    let builder = reqwest::Client::builder().timeout(Duration::from_secs(10));
    if let Some(http) = cli::tls::pinned_client("--log-cert-sha256", log_cert_sha256, builder)? {
        witness = witness.with_http(http);
    }
    let rt = tokio::runtime::Runtime::new().map_err(|e| NodeError::Config(e.to_string()))?;
    rt.block_on(
        witness.run(Duration::from_millis(interval_ms.max(10)), async {
            let _ = tokio::signal::ctrl_c().await;
        }),
    )?;
    Ok(())
}

/// `verify-chain`: replays the data directory's chain and compares.
fn verify_chain(data_dir: &std::path::Path, rebuild: bool) -> Result<(), CliError> {
    let db = existing_db(data_dir)?;
    let started = std::time::Instant::now();
    let r = govchain_node::verify_chain(&db, rebuild)?;
    if let Some(first) = r.first_block {
        outln!(
            "chain         this node joined from a snapshot: it holds block 0 and blocks {first}..={}",
            r.height
        )?;
        outln!(
            "              verified: the stored state and log against block {}, and the blocks it holds against the log (no replay: replay on a member that holds every block)",
            r.height
        )?;
    } else {
        outln!(
            "chain         blocks 0..={} verified: hash chain, roots, every signature and rule",
            r.height
        )?;
    }
    outln!("transactions  {}", r.transactions)?;
    outln!("state root    {} ({} entries)", r.state_root, r.entries)?;
    if r.rebuilt {
        outln!("stored state  rebuilt from the replay")?;
    } else if r.first_block.is_some() {
        outln!("stored state  matches block {}", r.height)?;
    } else {
        outln!("stored state  matches the replay")?;
    }
    outln!("took          {:.1} s", started.elapsed().as_secs_f64())
}

/// Runs the load test and prints the figures.
fn bench(load: govchain_node::loadgen::Load) -> Result<(), CliError> {
    let rt = tokio::runtime::Runtime::new().map_err(|e| NodeError::Config(e.to_string()))?;
    let r = rt.block_on(govchain_node::loadgen::run(load))?;
    cli::reports::bench(&r)
}

/// `demo-data`: a seed-scale chain in a new data directory.
fn demo_data(opts: &govchain_node::demo_data::DemoData) -> Result<(), CliError> {
    let summary = govchain_node::demo_data::run(opts)?;
    cli::reports::demo_data(opts, &summary)
}

/// Serves the node until Ctrl-C.
fn serve(
    data_dir: &std::path::Path,
    node_key: (Option<&std::path::Path>, &cli::keys::TokenOpts),
    name: &str,
    listen: &cli::tls::Listen,
    block_ms: u64,
    limits: Limits,
    cluster: Option<(PathBuf, u64)>,
) -> Result<(), CliError> {
    let (identity, listen) = (listen.identity.clone(), listen.addr.as_str());
    let key = cli::keys::signer("--node-key", node_key.0, node_key.1)?;
    let cluster = cluster
        .map(|(path, id)| govchain_node::cluster::read_cluster(&path).map(|f| (f, id)))
        .transpose()?;
    let core = Core::open(&existing_db(data_dir)?, key, name, None, limits)?;
    let rt = tokio::runtime::Runtime::new().map_err(|e| NodeError::Config(e.to_string()))?;
    rt.block_on(async move {
        let tcp = tokio::net::TcpListener::bind(&listen)
            .await
            .map_err(|e| NodeError::Config(format!("cannot listen on {listen}: {e}")))?;
        let clients = cluster
            .as_ref()
            .and_then(|(file, _)| govchain_node::cluster::member_pins(file));
        let listener = match &identity {
            Some(id) => {
                govchain_node::tls::serve::NodeListener::tls(tcp, id.server_config(clients)?)
            }
            None => govchain_node::tls::serve::NodeListener::plain(tcp),
        }
        .map_err(|e| NodeError::Config(format!("cannot listen on {listen}: {e}")))?;
        let addr = listener.local_addr();
        let scheme = if identity.is_some() { "https" } else { "http" };
        tracing::info!(chain = %core.chain_id(), height = core.height(), %addr, scheme, "serving");
        // The first line on stdout names the bound address (port 0 picks one).
        // A closed stdout does not stop the node.
        let _ = outln!("listening on {addr}");
        if let Some(id) = &identity {
            let _ = outln!("tls sha-256   {}", id.fingerprint());
        }
        let core = Arc::new(Mutex::new(core));
        let interval = Duration::from_millis(block_ms.max(1));
        let stop = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        match cluster {
            None => Ok(govchain_node::run_on(listener, core, interval, stop).await?),
            Some((file, id)) => {
                let key = core
                    .lock()
                    .map_err(|_| NodeError::Storage("node state lock poisoned".into()))?
                    .node_key();
                let member = govchain_node::cluster::Cluster::start_tls(
                    core.clone(),
                    data_dir,
                    key,
                    id,
                    file,
                    identity,
                )
                .await?;
                Ok(govchain_node::run_cluster_on(listener, core, member, interval, stop).await?)
            }
        }
    })
}
