//! Payroll import: a contractor's payroll file (CSV, or the first sheet of
//! an XLSX workbook) becomes the payroll lines of a `payment.request`
//! (PROTOCOL.md §12.5): each worker's identity number hashed with the
//! project's payroll key (§12.9) as it is read, each amount in fen, and a
//! problem per bad row with its spreadsheet row number. Names and numbers
//! are never kept: only the hashed lines leave this module.
//!
//! The file has a header row naming its columns (Chinese or English, any
//! order): `证件号码`/`id_number` and `金额`/`amount` (yuan, at most two
//! decimals) are required; `证件类型`/`doc_type` (`cn-rid`, default, or
//! `passport`) and `姓名`/`name` (ignored) are optional.

use std::collections::HashMap;

use govchain_ledger::identity::{DocumentType, IdentityKey};
use govchain_ledger::state::kinds::PayrollLine;
use govchain_ledger::types::Fen;
use zeroize::Zeroizing;

use crate::dto::{PayrollProblem, PayrollRowError};
use crate::error::WsError;

/// At most this many problems are listed (the count is exact).
const MAX_LISTED: usize = 200;

/// A payroll read and hashed: its lines in file order, their total, and
/// the rows refused.
#[derive(Debug, Clone, Default)]
pub struct ImportedPayroll {
    pub lines: Vec<PayrollLine>,
    pub total: u64,
    pub errors: Vec<PayrollRowError>,
    /// How many rows were refused (all of them, even past the listed ones).
    pub refused: u64,
}

/// Which column holds what.
struct Columns {
    number: usize,
    amount: usize,
    doc_type: Option<usize>,
}

fn find_columns(header: &[String]) -> Result<Columns, WsError> {
    let find = |names: &[&str]| {
        header.iter().position(|h| {
            let h = h.trim().to_lowercase();
            names.iter().any(|n| h == *n)
        })
    };
    let number = find(&[
        "证件号码",
        "身份证号",
        "身份证号码",
        "id_number",
        "id number",
    ]);
    let amount = find(&[
        "金额",
        "金额（元）",
        "金额(元)",
        "工资",
        "amount",
        "amount (yuan)",
    ]);
    match (number, amount) {
        (Some(number), Some(amount)) => Ok(Columns {
            number,
            amount,
            doc_type: find(&["证件类型", "doc_type", "document type"]),
        }),
        _ => Err(WsError::BadRequest(
            "the payroll's first row must name its columns: 证件号码 (id_number) and 金额 (amount, yuan); \
             证件类型 (doc_type) and 姓名 (name) are optional"
                .into(),
        )),
    }
}

/// Yuan as written (`1260`, `1,260.5`, `¥1260.00`) → fen; at most two
/// decimals, more than zero.
pub fn parse_yuan(text: &str) -> Option<u64> {
    let t: String = text
        .trim()
        .trim_start_matches(['¥', '￥'])
        .chars()
        .filter(|c| *c != ',')
        .collect();
    let (whole, frac) = t.split_once('.').unwrap_or((&t, ""));
    if whole.is_empty() && frac.is_empty()
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
        || frac.len() > 2
    {
        return None;
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let frac: u64 = format!("{frac:0<2}").parse().ok()?;
    let fen = whole.checked_mul(100)?.checked_add(frac)?;
    (fen > 0).then_some(fen)
}

/// A row: its number in the file (the spreadsheet's row, 1 = first) and
/// its cells as text.
type Row = (u64, Vec<String>);

/// Reads rows (the first is the header) and hashes each worker with `key`.
fn import_rows(
    rows: impl Iterator<Item = Row>,
    key: &IdentityKey,
) -> Result<ImportedPayroll, WsError> {
    let mut rows = rows;
    let Some((_, header)) = rows.next() else {
        return Err(WsError::BadRequest("the payroll file is empty".into()));
    };
    let cols = find_columns(&header)?;
    let mut out = ImportedPayroll::default();
    let mut seen: HashMap<[u8; 32], u64> = HashMap::new();
    for (row_no, row) in rows {
        let cell = |c: usize| row.get(c).map_or("", |s| s.trim());
        if row.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let mut refuse = |problem: PayrollProblem, detail: String| {
            out.refused += 1;
            if out.errors.len() < MAX_LISTED {
                out.errors.push(PayrollRowError {
                    row: row_no,
                    problem,
                    detail,
                });
            }
        };
        let doc_type = match cols.doc_type.map(cell).filter(|t| !t.is_empty()) {
            None => DocumentType::CnResidentId,
            Some(t) => match t.parse::<DocumentType>() {
                Ok(d) => d,
                Err(e) => {
                    refuse(PayrollProblem::BadDocType, e.to_string());
                    continue;
                }
            },
        };
        let number = Zeroizing::new(cell(cols.number).to_owned());
        let worker = match govchain_ledger::identity::normalize(doc_type, &number) {
            Ok(n) => key.hash(&n),
            Err(e) => {
                refuse(PayrollProblem::BadIdNumber, e.to_string());
                continue;
            }
        };
        let Some(fen) = parse_yuan(cell(cols.amount)) else {
            refuse(
                PayrollProblem::BadAmount,
                format!(
                    "{:?} is not an amount in yuan above zero with at most two decimals",
                    cell(cols.amount)
                ),
            );
            continue;
        };
        if let Some(first) = seen.insert(worker.0, row_no) {
            seen.insert(worker.0, first);
            refuse(
                PayrollProblem::DuplicateWorker,
                format!("the same worker as row {first}"),
            );
            continue;
        }
        let Some(total) = out.total.checked_add(fen) else {
            refuse(PayrollProblem::BadAmount, "the total overflows".into());
            continue;
        };
        let Ok(amount) = Fen::new(fen) else {
            refuse(PayrollProblem::BadAmount, "the amount is too large".into());
            continue;
        };
        out.total = total;
        out.lines.push(PayrollLine { worker, amount });
    }
    Ok(out)
}

/// Rows of a CSV file (UTF-8, with or without a byte-order mark), numbered
/// by their line.
fn csv_rows(bytes: &[u8]) -> Result<Vec<Row>, WsError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    // The line a record starts on, counted here as the reader goes (it
    // places a record that follows blank lines at their start).
    let (mut line, mut counted) = (1u64, 0usize);
    let mut rows = Vec::new();
    for rec in r.records() {
        let rec =
            rec.map_err(|e| WsError::BadRequest(format!("the CSV file cannot be read: {e}")))?;
        let mut at = rec
            .position()
            .and_then(|p| usize::try_from(p.byte()).ok())
            .unwrap_or(counted)
            .min(bytes.len());
        while matches!(bytes.get(at), Some(b'\n' | b'\r')) {
            at += 1;
        }
        if at > counted {
            line += bytes[counted..at].split(|b| *b == b'\n').count() as u64 - 1;
            counted = at;
        }
        rows.push((line, rec.iter().map(str::to_owned).collect()));
    }
    Ok(rows)
}

/// Rows of the first sheet of an XLSX workbook, each cell as text,
/// numbered as the spreadsheet numbers them.
fn xlsx_rows(bytes: &[u8]) -> Result<Vec<Row>, WsError> {
    use calamine::{Data, Reader as _};
    let bad = |e: &dyn std::fmt::Display| {
        WsError::BadRequest(format!("the XLSX workbook cannot be read: {e}"))
    };
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).map_err(|e| bad(&e))?;
    let range = book
        .worksheet_range_at(0)
        .ok_or_else(|| bad(&"it has no sheet"))?
        .map_err(|e| bad(&e))?;
    let first = range.start().map_or(0, |(r, _)| u64::from(r));
    Ok(range
        .rows()
        .zip(first + 1..)
        .map(|(row, n)| {
            (
                n,
                row.iter()
                    .map(|c| match c {
                        Data::Empty => String::new(),
                        Data::String(s) => s.clone(),
                        // A number with more than two decimals stays as typed
                        // (and is refused as an amount).
                        Data::Float(f) if ((f * 100.0).round() - f * 100.0).abs() < 1e-6 => {
                            format!("{f:.2}")
                        }
                        Data::Float(f) => f.to_string(),
                        Data::Int(i) => i.to_string(),
                        other => other.to_string(),
                    })
                    .collect(),
            )
        })
        .collect())
}

/// Imports a payroll file named `name` (`.csv` or `.xlsx`), hashing workers
/// with `key`.
pub fn import(name: &str, bytes: &[u8], key: &IdentityKey) -> Result<ImportedPayroll, WsError> {
    let ext = std::path::Path::new(name)
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let rows = if ext == "xlsx" {
        xlsx_rows(bytes)?
    } else if ext == "csv" || ext == "txt" {
        csv_rows(bytes)?
    } else {
        return Err(WsError::BadRequest(format!(
            "{name}: a payroll is a .csv or .xlsx file"
        )));
    };
    import_rows(rows.into_iter(), key)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use govchain_ledger::identity::identity_hash;
    use govchain_ledger::types::Hash32;
    use govchain_ledger::ErrorCode as _;

    fn key() -> IdentityKey {
        IdentityKey::from_bytes(Hash32::sha256(b"payroll test key").0)
    }

    #[test]
    fn yuan_to_fen() {
        assert_eq!(parse_yuan("1260"), Some(126_000));
        assert_eq!(parse_yuan("1,260.5"), Some(126_050));
        assert_eq!(parse_yuan("￥0.01"), Some(1));
        assert_eq!(parse_yuan(" 12.30 "), Some(1230));
        for bad in ["", "0", "0.00", "-5", "1.234", "12a", ".", "1e3"] {
            assert_eq!(parse_yuan(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_csv_with_three_bad_rows_reports_each_by_row() {
        let csv = "姓名,证件号码,金额\n\
                   李建国,11010519491231002X,12600\n\
                   周海涛,110105194912310021,11800\n\
                   吴晓梅,１１０１０５１９４９１２３１００２ｘ,11200\n\
                   \n\
                   王强,440524188001010014,12.345\n\
                   赵六,440524188001010014,9000\n";
        let p = import("工资表.csv", csv.as_bytes(), &key()).unwrap();
        let rows: Vec<(u64, PayrollProblem)> =
            p.errors.iter().map(|e| (e.row, e.problem)).collect();
        assert_eq!(
            rows,
            vec![
                (3, PayrollProblem::BadIdNumber),
                (4, PayrollProblem::DuplicateWorker),
                (6, PayrollProblem::BadAmount),
            ]
        );
        assert_eq!(p.refused, 3);
        assert_eq!(p.lines.len(), 2);
        assert_eq!(p.total, 1_260_000 + 900_000);
        let want = identity_hash(&key(), DocumentType::CnResidentId, "11010519491231002X").unwrap();
        assert_eq!(p.lines[0].worker, want);
        assert!(p.errors[1].detail.contains("row 2"), "{:?}", p.errors[1]);
        // Nothing of the numbers in what is reported.
        let shown = format!("{p:?}");
        assert!(!shown.contains("19491231"), "{shown}");
    }

    #[test]
    fn a_file_without_the_columns_or_of_another_type_is_refused() {
        let e = import("a.csv", "name,amount\nx,1\n".as_bytes(), &key()).unwrap_err();
        assert!(e.to_string().contains("证件号码"), "{e}");
        assert_eq!(
            import("a.pdf", b"%PDF", &key()).unwrap_err().code(),
            "request.invalid"
        );
        let e = import("a.xlsx", b"not a zip", &key()).unwrap_err();
        assert!(e.to_string().contains("XLSX"), "{e}");
    }
}
