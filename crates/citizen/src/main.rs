//! `govchain-citizen`: the citizen's signer for consent requests.
#![forbid(unsafe_code)]

use std::io::{IsTerminal as _, Write as _};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use govchain_citizen::{answer, describe, read_request, Keystore, Lang, SignerError};
use govchain_ledger::ErrorCode as _;

/// Sign a department's consent request with your own key (kept in the OS
/// keychain). 用您自己的密钥签署部门的授权请求（密钥保存在系统钥匙串中）。
#[derive(Debug, Parser)]
#[command(name = "govchain-citizen", version)]
struct Cli {
    /// Language of what is shown (default: from LANG; Chinese unless en…).
    #[arg(long, value_enum, global = true)]
    lang: Option<LangArg>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LangArg {
    Zh,
    En,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create your key in the OS keychain and show its public key.
    Init,
    /// Show your public key: give it to the centre that issues your certificate.
    Key,
    /// Show what a request asks (REQUEST: a file, `-` for standard input, or the GCR1: text).
    Show { request: String },
    /// Show a request, ask, and sign it; the answer (GCA1:…) goes to standard output or --out.
    Sign {
        request: String,
        /// Write the answer to this file instead of standard output.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
        /// Sign without asking (after reading the request yourself).
        #[arg(long)]
        yes: bool,
    },
}

fn run(cli: Cli, lang: Lang) -> Result<(), SignerError> {
    let service = std::env::var("GOVCHAIN_CITIZEN_KEYCHAIN_SERVICE")
        .unwrap_or_else(|_| "govchain-citizen".to_owned());
    let store = Keystore::new(&service);
    let zh = lang == Lang::Zh;
    match cli.command {
        Command::Init | Command::Key => {
            let pk = if matches!(cli.command, Command::Init) {
                store.create()?
            } else {
                store.public_key()?
            };
            let (l1, l2, hint) = if zh {
                (
                    "公钥",
                    "指纹",
                    "把公钥交给为您出具证明的中心；私钥留在本机钥匙串中。",
                )
            } else {
                ("public key", "fingerprint", "Give the public key to the centre that issues your certificate; the private key stays in this computer's keychain.")
            };
            println!("{l1}: {pk}\n{l2}: {}\n{hint}", pk.key_id().fingerprint());
        }
        Command::Show { request } => {
            println!("{}", describe(&read_request(&request)?, lang)?);
        }
        Command::Sign { request, out, yes } => {
            let from_stdin = request == "-";
            let r = read_request(&request)?;
            r.check_key(&store.public_key()?)?;
            eprintln!("{}", describe(&r, lang)?);
            if !yes {
                if from_stdin || !std::io::stdin().is_terminal() {
                    return Err(SignerError::NotConfirmed);
                }
                eprint!(
                    "{}",
                    if zh {
                        "签署？输入 y 确认："
                    } else {
                        "Sign it? Type y to confirm: "
                    }
                );
                let _ = std::io::stderr().flush();
                let mut line = String::new();
                std::io::stdin()
                    .read_line(&mut line)
                    .map_err(|e| SignerError::Io(e.to_string()))?;
                if !matches!(line.trim(), "y" | "Y" | "yes") {
                    return Err(SignerError::NotConfirmed);
                }
            }
            let text = answer(&store.sign(&r)?)?;
            match out {
                Some(path) => {
                    std::fs::write(&path, format!("{text}\n"))
                        .map_err(|e| SignerError::Io(format!("{}: {e}", path.display())))?;
                    eprintln!(
                        "{} {}",
                        if zh {
                            "已签署，请把此文件交给请求方："
                        } else {
                            "Signed; hand this file back to the department:"
                        },
                        path.display()
                    );
                }
                None => println!("{text}"),
            }
        }
    }
    Ok(())
}

/// The error in Chinese, with what to do next.
fn in_chinese(e: &SignerError) -> String {
    match e.code() {
        "citizen.no_keychain" => {
            format!("系统钥匙串不可用（{e}）。请启动 gnome-keyring 或 KeePassXC 等密钥服务。")
        }
        "citizen.keychain" => format!("钥匙串出错：{e}"),
        "citizen.no_key" => "还没有密钥。请先运行 govchain-citizen init。".into(),
        "citizen.key_exists" => format!("已有密钥（{e}）。运行 govchain-citizen key 查看公钥。"),
        "citizen.not_confirmed" => "未签署。输入 y 确认，或在读过请求后加 --yes。".into(),
        "citizen.other_key" => format!(
            "此请求要求另一把密钥签名，不是本机的密钥（{e}）。请向请求方核对证明的持有人密钥。"
        ),
        "citizen.not_consent" => format!(
            "本工具只签署授权（consent.grant）和撤销授权（consent.revoke）；此请求不是（{e}）。"
        ),
        "citizen.malformed" => {
            format!("无法读取此请求（{e}）。请让请求方重新提供 GCR1: 开头的文本或文件。")
        }
        _ => e.to_string(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let lang = match cli.lang {
        Some(LangArg::Zh) => Lang::Zh,
        Some(LangArg::En) => Lang::En,
        None => Lang::from_env(),
    };
    match run(cli, lang) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            match lang {
                Lang::Zh => eprintln!("错误 [{}]：{}", e.code(), in_chinese(&e)),
                Lang::En => eprintln!("error [{}]: {e}", e.code()),
            }
            ExitCode::FAILURE
        }
    }
}
