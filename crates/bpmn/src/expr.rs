//! The two small languages a template needs from BPMN: ISO 8601 durations
//! (`P30D`, `PT72H`, `P1DT12H`) and multi-instance completion conditions
//! (`${nrOfCompletedInstances >= 2}`, `${nrOfCompletedInstances/nrOfInstances >= 0.6}`).

use std::fmt::Write as _;

/// Seconds of an ISO 8601 duration with weeks, days, hours, minutes and
/// seconds (whole numbers). Years and months have no fixed length and are
/// refused.
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let t = text.trim();
    if t.contains("${") || t.contains("#{") {
        return Err(format!(
            "{t:?} is an expression; give a fixed duration such as P30D"
        ));
    }
    let bad = || format!("{t:?} is not an ISO 8601 duration such as P30D, PT72H or P1DT12H");
    let rest = t.strip_prefix('P').ok_or_else(bad)?;
    let (date, time) = match rest.split_once('T') {
        Some((d, tm)) if !tm.is_empty() => (d, Some(tm)),
        Some(_) => return Err(bad()),
        None => (rest, None),
    };
    if date.is_empty() && time.is_none() {
        return Err(bad());
    }
    let mut total: u64 = 0;
    let mut add = |part: &str, units: &[(char, u64)]| -> Result<(), String> {
        let mut num = String::new();
        let mut next_unit = 0;
        for c in part.chars() {
            if c.is_ascii_digit() {
                num.push(c);
                continue;
            }
            if c == 'Y' || (c == 'M' && units[0].0 == 'W') {
                return Err(format!(
                    "{t:?} counts years or months, which have no fixed length; give days (P30D)"
                ));
            }
            let pos = units[next_unit..]
                .iter()
                .position(|(u, _)| *u == c)
                .ok_or_else(bad)?;
            let n: u64 = num.parse().map_err(|_| bad())?;
            let secs = units[next_unit + pos].1;
            total = n
                .checked_mul(secs)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(|| format!("{t:?} is too long"))?;
            next_unit += pos + 1;
            num.clear();
        }
        if num.is_empty() {
            Ok(())
        } else {
            Err(bad())
        }
    };
    add(date, &[('W', 7 * 86_400), ('D', 86_400)])?;
    if let Some(tm) = time {
        add(tm, &[('H', 3600), ('M', 60), ('S', 1)])?;
    }
    Ok(total)
}

/// The canonical ISO 8601 form of a number of seconds (`P30D`, `P1DT2H`,
/// `PT0S`).
pub fn format_duration(secs: u64) -> String {
    let (d, rem) = (secs / 86_400, secs % 86_400);
    let (h, m, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    let mut out = String::from("P");
    if d > 0 {
        let _ = write!(out, "{d}D");
    }
    if rem > 0 || d == 0 {
        out.push('T');
        if h > 0 {
            let _ = write!(out, "{h}H");
        }
        if m > 0 {
            let _ = write!(out, "{m}M");
        }
        if s > 0 || rem == 0 {
            let _ = write!(out, "{s}S");
        }
    }
    out
}

/// What a completion condition asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completion {
    /// At least this many completed instances.
    AtLeast(u64),
    /// A share of all instances: completed / n compared with
    /// `num / den`; `strict` for `>`.
    Ratio { num: u64, den: u64, strict: bool },
    /// Every instance.
    All,
}

impl Completion {
    /// The threshold k for `n` instances (`None` when n is needed and
    /// unknown). The engine checks the condition after each completed
    /// instance, so k is at least 1.
    pub fn threshold(self, n: Option<u64>) -> Option<u64> {
        let k = match self {
            Completion::AtLeast(k) => k,
            Completion::All => n?,
            Completion::Ratio { num, den, strict } => {
                let p = num.checked_mul(n?)?;
                if strict {
                    (p / den).saturating_add(1)
                } else {
                    p.div_ceil(den)
                }
            }
        };
        Some(k.max(1))
    }
}

/// Reads `${nrOfCompletedInstances >= K}` (also `>`, `==`),
/// `${nrOfCompletedInstances/nrOfInstances >= R}` (R a decimal, also `>`)
/// and `${nrOfCompletedInstances == nrOfInstances}`; `#{…}` like `${…}`.
pub fn parse_completion(text: &str) -> Result<Completion, String> {
    const DONE: &str = "nrOfCompletedInstances";
    const ALL: &str = "nrOfInstances";
    let t = text.trim();
    let bad = || {
        format!(
            "completion condition {t:?} is not one govchain can read: write \
             ${{nrOfCompletedInstances >= K}} or ${{nrOfCompletedInstances/nrOfInstances >= 0.5}}"
        )
    };
    let inner = t
        .strip_prefix("${")
        .or_else(|| t.strip_prefix("#{"))
        .and_then(|s| s.strip_suffix('}'))
        .ok_or_else(bad)?;
    let s: String = inner.chars().filter(|c| !c.is_whitespace()).collect();
    let (lhs, op, rhs) = [">=", "==", ">"]
        .iter()
        .find_map(|op| {
            s.split_once(op)
                .map(|(l, r)| (l.to_owned(), *op, r.to_owned()))
        })
        .ok_or_else(bad)?;
    if lhs == DONE && rhs == ALL && op != ">" {
        return Ok(Completion::All);
    }
    if lhs == DONE {
        let k: u64 = rhs.parse().map_err(|_| bad())?;
        return Ok(Completion::AtLeast(if op == ">" {
            k.saturating_add(1)
        } else {
            k
        }));
    }
    if lhs == format!("{DONE}/{ALL}") && op != "==" {
        let (whole, frac) = rhs.split_once('.').unwrap_or((rhs.as_str(), ""));
        if whole.is_empty() && frac.is_empty() || frac.len() > 6 {
            return Err(bad());
        }
        let digits = format!("{whole}{frac}");
        let num: u64 = digits.parse().map_err(|_| bad())?;
        let den = 10u64.pow(u32::try_from(frac.len()).map_err(|_| bad())?);
        if num > den {
            return Err(format!(
                "completion condition {t:?} asks for more than all instances and never completes"
            ));
        }
        return Ok(Completion::Ratio {
            num,
            den,
            strict: op == ">",
        });
    }
    Err(bad())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("P30D").unwrap(), 30 * 86_400);
        assert_eq!(parse_duration(" PT72H ").unwrap(), 72 * 3600);
        assert_eq!(
            parse_duration("P1DT12H30M5S").unwrap(),
            86_400 + 12 * 3600 + 1805
        );
        assert_eq!(parse_duration("P2W").unwrap(), 14 * 86_400);
        assert_eq!(parse_duration("PT0S").unwrap(), 0);
        for bad in [
            "P1M", "P1Y", "30D", "P", "PT", "P1H", "PT1D", "P1.5D", "${due}", "PT5M3H",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        for secs in [0, 59, 3600, 86_400, 30 * 86_400, 90_061, 2_592_000 + 7] {
            assert_eq!(parse_duration(&format_duration(secs)).unwrap(), secs);
        }
        assert_eq!(format_duration(30 * 86_400), "P30D");
    }

    #[test]
    fn completion_conditions() {
        let k = |c: &str, n| parse_completion(c).unwrap().threshold(n);
        assert_eq!(k("${nrOfCompletedInstances >= 2}", None), Some(2));
        assert_eq!(k("${ nrOfCompletedInstances > 1 }", None), Some(2));
        assert_eq!(k("#{nrOfCompletedInstances == 3}", Some(5)), Some(3));
        assert_eq!(
            k("${nrOfCompletedInstances/nrOfInstances >= 0.6}", Some(3)),
            Some(2)
        );
        assert_eq!(
            k("${nrOfCompletedInstances / nrOfInstances >= 0.5}", Some(4)),
            Some(2)
        );
        assert_eq!(
            k("${nrOfCompletedInstances/nrOfInstances > 0.5}", Some(4)),
            Some(3)
        );
        assert_eq!(
            k("${nrOfCompletedInstances/nrOfInstances >= 1}", Some(3)),
            Some(3)
        );
        assert_eq!(
            k("${nrOfCompletedInstances/nrOfInstances >= 0.5}", None),
            None
        );
        assert_eq!(
            k("${nrOfCompletedInstances == nrOfInstances}", Some(3)),
            Some(3)
        );
        for bad in [
            "${nrOfAgree >= 2}",
            "nrOfCompletedInstances >= 2",
            "${nrOfCompletedInstances/nrOfInstances >= 1.5}",
            "${nrOfCompletedInstances < 2}",
            "${approved == true}",
        ] {
            assert!(parse_completion(bad).is_err(), "{bad}");
        }
    }
}
