//! What `bench` and `demo-data` print: one figure per line, for a person
//! reading a terminal and for BENCHMARKS.md.

use govchain_node::demo_data::{DemoData, Summary};
use govchain_node::loadgen::Report;

use super::error::CliError;
use super::out::outln;

/// `bench`'s figures.
pub fn bench(r: &Report) -> Result<(), CliError> {
    if r.preload_cases > 0 {
        outln!(
            "preloaded cases     {} in {:.1} s; process RSS after it {:.0} MiB",
            r.preload_cases,
            r.preload_secs,
            r.rss_after_preload_mib
        )?;
    }
    outln!(
        "restart             {:.2} s (stored state loaded and checked)",
        r.restart_secs
    )?;
    outln!(
        "case check          {:.2} s (every stored case against the state root, in the background; the load starts after it)",
        r.case_check_secs
    )?;
    if let Some(s) = &r.snapshot {
        outln!(
            "raft snapshot       {} MiB; made {:.2} s, checked {:.2} s, installed {:.2} s; memory rose at most {:.0} MiB",
            s.bytes / 1_048_576,
            s.make_secs,
            s.check_secs,
            s.install_secs,
            s.peak_mib
        )?;
        outln!(
            "  vs full replay    {:.2} s for the same {} blocks (verify-chain): made + checked + installed = {:.2} x",
            s.replay_secs,
            s.blocks,
            (s.make_secs + s.check_secs + s.install_secs) / s.replay_secs
        )?;
    }
    outln!("transactions        {}", r.txs)?;
    outln!("nodes               {}", r.nodes)?;
    outln!("raw batch verify    {:.0} tx/s", r.raw_verify_per_sec)?;
    outln!(
        "node core, no HTTP  {:.0} tx/s ({:.2} x raw verify)",
        r.direct_per_sec,
        r.direct_per_sec / r.raw_verify_per_sec
    )?;
    outln!(
        "committed via HTTP  {:.0} tx/s ({:.2} x raw verify)",
        r.committed_per_sec,
        r.committed_per_sec / r.raw_verify_per_sec
    )?;
    if let Some(rate) = r.offered_per_sec {
        outln!("offered load        {rate:.0} tx/s")?;
    }
    outln!("submit->commit p50  {:.1} ms", r.p50_ms)?;
    outln!("submit->commit p99  {:.1} ms", r.p99_ms)?;
    outln!("refused (node.busy) {}", r.refused)?;
    outln!("accepted->commit p99 {:.1} ms", r.accepted_p99_ms)?;
    Ok(())
}

/// `demo-data`'s summary, and how to serve the chain.
pub fn demo_data(opts: &DemoData, s: &Summary) -> Result<(), CliError> {
    outln!("{s}")?;
    let dir = opts.out.display();
    outln!("officials           {dir}/officials.csv (keys of each department's admin and first officials in {dir}/keys/)")?;
    if opts.profile == govchain_node::demo_data::Profile::Xiongan {
        outln!("projects' parties   {dir}/keys/XA-P…-<party>.key for the three largest projects")?;
        outln!("builders            {dir}/workers.csv (synthetic id numbers and their hashes); payroll and identity keys in {dir}/keys/*.key.hex")?;
    }
    outln!(
        "serve it            govchain-node run --data-dir {dir} --node-key {dir}/node.key --name node.demo.example --listen 127.0.0.1:7700"
    )
}
