//! Every CLI refusal as one typed error with a stable code and an exit
//! status. The code says whose word it is: the node's own code for a
//! refusal the node sent (`tx.replayed`, `auth.not_admin`, …), `cli.*` for
//! what the CLI found itself (bad local input, an unreachable node, a
//! timeout), and the node library's code (`node.config`, …) for `init`,
//! `run` and `witness`.

use std::io::Write as _;
use std::process::ExitCode;

use govchain_ledger::ErrorCode as _;
use govchain_node::NodeError;

/// Exit status: the node (or the chain's rules) refused, or a local
/// `init`/`run`/`witness` error.
pub const EXIT_REFUSED: u8 = 1;
/// Exit status: bad input on the command line or in a file it names.
pub const EXIT_INPUT: u8 = 2;
/// Exit status: the node could not be reached or answered nonsense.
pub const EXIT_UNREACHABLE: u8 = 3;
/// Exit status: the transaction was accepted but did not commit in time.
pub const EXIT_TIMEOUT: u8 = 4;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The command line does not parse (clap's message and usage).
    #[error("{0}")]
    Usage(String),
    /// Bad local input: an argument or a file the command names.
    #[error("{0}")]
    Input(String),
    /// `run` would serve plain HTTP on an address other machines reach.
    #[error("refusing to serve plain HTTP on {listen}, which is not a loopback address: anyone on the network could read and change the traffic. Serve HTTPS with --tls (the self-signed certificate `init` made in the data directory; clients pin the fingerprint `govchain-node tls-fingerprint --data-dir DIR` prints) or with --tls-cert FILE --tls-key FILE (a certificate from your department's CA); only behind a TLS-terminating proxy, pass --insecure-plain-http")]
    PlainHttp { listen: String },
    /// The node could not be reached.
    #[error("cannot reach {node}: {detail}")]
    Unreachable { node: String, detail: String },
    /// The node answered, but not with what its API promises.
    #[error("{node}: unexpected answer: {detail}")]
    BadAnswer { node: String, detail: String },
    /// The node refused a request, or the chain's rules rejected the
    /// transaction after it was accepted: the node's code and message, and
    /// a hint from the CLI where the message alone is unclear.
    #[error("{message}{}", hint.as_ref().map(|h| format!("\n  hint: {h}")).unwrap_or_default())]
    Refused {
        code: String,
        message: String,
        hint: Option<String>,
    },
    /// The transaction was accepted but neither committed nor was rejected
    /// within the wait.
    #[error("transaction {tx} was accepted but has not committed after {secs} s; it may still commit: check GET /v1/tx/{tx} (or raise --timeout-secs)")]
    Timeout { tx: String, secs: u64 },
    /// Writing to stdout failed (a closed pipe is not an error: see
    /// [`CliError::exit`]).
    #[error("cannot write the output: {0}")]
    Output(#[source] std::io::Error),
    /// `init`, `run`, `witness`, `bench`: the node library's error.
    #[error(transparent)]
    Node(#[from] NodeError),
    /// A key on a PKCS#11 token: the token's code (`token.pin_incorrect`, …).
    #[error(transparent)]
    Token(#[from] govchain_token::TokenError),
    /// A key held on a token did not sign (its store's code).
    #[error(transparent)]
    Sign(#[from] govchain_ledger::crypto::SignerError),
    /// The OS keychain did not give the admin's key.
    #[error("{0}")]
    Keychain(String),
}

impl CliError {
    /// The stable code printed as `error [code]`.
    pub fn code(&self) -> &str {
        match self {
            CliError::Usage(_) => "cli.usage",
            CliError::Input(_) => "cli.bad_input",
            CliError::PlainHttp { .. } => "cli.plain_http",
            CliError::Unreachable { .. } => "cli.unreachable",
            CliError::BadAnswer { .. } => "cli.bad_answer",
            CliError::Refused { code, .. } => code,
            CliError::Timeout { .. } => "cli.timeout",
            CliError::Output(_) => "cli.output",
            CliError::Node(e) => e.code(),
            CliError::Token(e) => e.code(),
            CliError::Sign(e) => e.code,
            CliError::Keychain(_) => "cli.keychain",
        }
    }

    /// The process exit status.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_)
            | CliError::Input(_)
            | CliError::PlainHttp { .. }
            | CliError::Token(_)
            | CliError::Sign(_)
            | CliError::Keychain(_) => EXIT_INPUT,
            CliError::Unreachable { .. } | CliError::BadAnswer { .. } => EXIT_UNREACHABLE,
            CliError::Timeout { .. } => EXIT_TIMEOUT,
            CliError::Refused { .. } | CliError::Output(_) | CliError::Node(_) => EXIT_REFUSED,
        }
    }

    /// Reports the error on stderr and gives the exit status. A closed
    /// stdout (`govchain-node keygen | head -1`) ends the command normally;
    /// a closed stderr loses the report, not the exit status.
    pub fn exit(&self) -> ExitCode {
        if let CliError::Output(e) = self {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                return ExitCode::SUCCESS;
            }
        }
        // Not eprintln!, which panics when stderr is a closed pipe.
        let _ = writeln!(
            std::io::stderr().lock(),
            "govchain-node: error [{}]: {self}",
            self.code()
        );
        ExitCode::from(self.exit_code())
    }

    /// A refusal the node sent as `{code, message}`, with the CLI's hint.
    pub fn refused(code: &str, message: &str) -> Self {
        CliError::Refused {
            code: code.to_owned(),
            message: message.to_owned(),
            hint: hint(code).map(str::to_owned),
        }
    }
}

/// What the CLI adds where the rule's message alone leaves the admin
/// guessing.
fn hint(code: &str) -> Option<&'static str> {
    Some(match code {
        "identity.unknown_official" => {
            "an official is named by their official id (the key id of the key they registered with); \
             grant-role --official also takes their public key or @request.json and converts it, \
             and the registration must have committed first"
        }
        "tx.replayed" => {
            "another transaction signed with this key took this sequence number (still pending or \
             committed); wait for it (the default without --no-wait) or pass --seq N"
        }
        "auth.unknown_signer" => {
            "the --key file is not a registered official's key on this chain (check `keygen`'s key id \
             against the genesis admins)"
        }
        "auth.not_admin" => "the --key file must belong to an admin of the department concerned",
        "consortium.unknown_department" => {
            "department ids are the `id` values of the genesis file's [[departments]]"
        }
        "tx.wrong_chain" => "the --node serves another chain than the one this command was meant for",
        _ => return None,
    })
}

impl From<govchain_node::witness::WitnessError> for CliError {
    fn from(e: govchain_node::witness::WitnessError) -> Self {
        CliError::Node(NodeError::Witness(e))
    }
}
