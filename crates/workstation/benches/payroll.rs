//! Payroll import at the seed's scale (numbers for BENCHMARKS.md): a
//! 40,000-line payroll (Xiong'an's builders) as XLSX and as CSV, read,
//! validated and hashed with the project's payroll key, against the
//! baseline of hashing the same 40,000 identity numbers alone, measured in
//! the same run; and the process's peak memory.
//!
//! `cargo bench -p govchain-workstation --bench payroll`
#![allow(clippy::unwrap_used, clippy::cast_precision_loss)]

use std::fmt::Write as _;
use std::time::Instant;

use govchain_ledger::identity::{cn_rid_check_char, identity_hash, DocumentType, IdentityKey};
use govchain_ledger::types::Hash32;

const LINES: u32 = 40_000;
const RUNS: usize = 5;

fn worker_id(n: u32) -> String {
    let first = format!("1101051980{n:07}");
    let bytes: [u8; 17] = first.as_bytes().try_into().unwrap();
    format!("{first}{}", cn_rid_check_char(&bytes))
}

/// Kernel's peak resident set of this process (kB), from /proc.
fn peak_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let key = IdentityKey::from_bytes(Hash32::sha256(b"bench payroll key").0);
    let ids: Vec<String> = (0..LINES).map(worker_id).collect();

    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in (0u16..).zip(["姓名", "证件号码", "金额"]) {
        sheet.write_string(0, c, h).unwrap();
    }
    let mut csv = String::from("姓名,证件号码,金额\n");
    for (i, id) in (1u32..).zip(&ids) {
        let amount = 3000.0 + f64::from(i % 500) + 0.5;
        sheet.write_string(i, 0, format!("工人{i}")).unwrap();
        sheet.write_string(i, 1, id).unwrap();
        sheet.write_number(i, 2, amount).unwrap();
        writeln!(csv, "工人{i},{id},{amount:.2}").unwrap();
    }
    let xlsx = book.save_to_buffer().unwrap();
    let before = peak_kb();

    let time = |f: &dyn Fn()| {
        median(
            (0..RUNS)
                .map(|_| {
                    let t = Instant::now();
                    f();
                    t.elapsed().as_secs_f64() * 1000.0
                })
                .collect(),
        )
    };
    let baseline = time(&|| {
        for id in &ids {
            std::hint::black_box(identity_hash(&key, DocumentType::CnResidentId, id).unwrap());
        }
    });
    let from_xlsx = time(&|| {
        let p = govchain_workstation::payroll::import("工资表.xlsx", &xlsx, &key).unwrap();
        assert_eq!((p.lines.len(), p.refused), (LINES as usize, 0));
    });
    let from_csv = time(&|| {
        let p = govchain_workstation::payroll::import("工资表.csv", csv.as_bytes(), &key).unwrap();
        assert_eq!((p.lines.len(), p.refused), (LINES as usize, 0));
    });
    let after = peak_kb();
    println!("payroll import, {LINES} lines, median of {RUNS} runs");
    println!(
        "  file sizes: XLSX {} KiB, CSV {} KiB",
        xlsx.len() / 1024,
        csv.len() / 1024
    );
    println!("  baseline: hash {LINES} identity numbers alone: {baseline:.1} ms");
    println!(
        "  XLSX import: {from_xlsx:.1} ms ({:.2}x baseline)",
        from_xlsx / baseline
    );
    println!(
        "  CSV import:  {from_csv:.1} ms ({:.2}x baseline)",
        from_csv / baseline
    );
    if let (Some(b), Some(a)) = (before, after) {
        println!(
            "  peak RSS: {:.1} MiB before importing (the generated files held), {:.1} MiB after",
            b as f64 / 1024.0,
            a as f64 / 1024.0
        );
    }
}
