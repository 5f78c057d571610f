//! The `xiongan` profile: a new area's engineering-fund platform. Nine
//! departments (the management committee, its bureaus, the development
//! group whose companies are the projects' developers, and the supervising
//! bank whose officers operate the fund accounts); 1,000+ firms registered
//! as accounts (developers, supervisors, contractors); 100 projects with
//! budgets adding up to ¥2 billion; 40,000 builders, each on one project's
//! team for some months; then a year of payments ([`super::funds`]).
//!
//! Workers appear on chain only as identity hashes (PROTOCOL.md §12.9): one
//! payroll key for every project (the platform follows builders across
//! projects) and the consortium identity key for access records. Both keys
//! and the workers' synthetic resident id numbers are written beside the
//! chain (`keys/*.hex`, `workers.csv`), so a workstation given them can
//! find a builder's wages.

use std::fmt::Write as _;

use govchain_ledger::crypto::SecretKey;
use govchain_ledger::identity::{cn_rid_check_char, normalize, DocumentType, IdentityKey};
use govchain_ledger::types::Hash32;

use super::{
    float, floor, key, scaled, ts, DemoData, Department, Rng, Summary, Writer, DAY, YEAR_START,
};
use crate::error::NodeError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Approver {
    Developer,
    Operator,
}

#[derive(Debug)]
pub(super) struct Project {
    pub id: String,
    pub name: String,
    /// Fen.
    pub budget: u64,
    /// Indices into the world's developers, contractors, supervisors and
    /// operators.
    pub developer: usize,
    pub contractor: usize,
    pub supervisor: usize,
    pub operator: usize,
    pub approvers: Vec<Approver>,
    pub created: i64,
    /// Indices into the world's workers.
    pub team: Vec<u32>,
}

/// A builder, on one project's team for `months` from `first_month`.
#[derive(Debug)]
pub(super) struct Worker {
    /// Identity hash under the payroll key.
    pub payroll: Hash32,
    /// Identity hash under the consortium identity key.
    pub identity: Hash32,
    /// Fen per full month.
    pub wage: u64,
    pub first_month: u8,
    pub months: u8,
}

pub(super) struct World {
    pub developers: Vec<SecretKey>,
    pub contractors: Vec<SecretKey>,
    pub supervisors: Vec<SecretKey>,
    pub operators: Vec<SecretKey>,
    pub inspectors: Vec<SecretKey>,
    pub auditors: Vec<SecretKey>,
    pub projects: Vec<Project>,
    pub workers: Vec<Worker>,
    pub year_start: i64,
    pub year_end: i64,
}

const DEPARTMENTS: [Department; 9] = [
    ("xa-gwh", "河北雄安新区管理委员会", None),
    ("xa-czj", "雄安新区财政局", Some("xa-gwh")),
    ("xa-jsj", "雄安新区建设和交通管理局", Some("xa-gwh")),
    ("xa-ggfw", "雄安新区公共服务局", Some("xa-gwh")),
    ("xa-sjj", "雄安新区审计局", Some("xa-gwh")),
    ("xa-gfj", "雄安新区改革发展局", Some("xa-gwh")),
    ("xa-zrzy", "雄安新区自然资源和规划局", Some("xa-gwh")),
    ("xa-group", "中国雄安集团有限公司", Some("xa-gwh")),
    ("xa-bank", "工程资金监管银行雄安分行", Some("xa-czj")),
];
/// Registers the contractors and supervisors.
const BUILD: usize = 2;
/// Its labour inspectors check wage payments.
const LABOUR: usize = 3;
const AUDIT: usize = 4;
/// Its companies are the developers.
const GROUP: usize = 7;
/// Its officers operate the fund accounts.
const BANK: usize = 8;

const DEVELOPERS: [&str; 12] = [
    "基础建设",
    "城市发展投资",
    "生态建设投资",
    "公共建设投资",
    "智慧能源",
    "水务",
    "交通",
    "数字城市科技",
    "投资控股",
    "城市资源经营",
    "园林",
    "建设投资",
];
const PLACES: [&str; 16] = [
    "河北",
    "保定",
    "雄县",
    "容城",
    "安新",
    "石家庄",
    "廊坊",
    "沧州",
    "天津",
    "北京",
    "唐山",
    "衡水",
    "邯郸",
    "邢台",
    "张家口",
    "承德",
];
const BRAND_A: [&str; 8] = ["宏", "建", "中", "华", "鼎", "恒", "泰", "安"];
const BRAND_B: [&str; 8] = ["达", "兴", "盛", "远", "诚", "通", "信", "宇"];
const CONTRACTOR_KINDS: [&str; 4] = ["建设工程", "市政工程", "建筑劳务", "路桥工程"];
const AREAS: [&str; 10] = [
    "容东片区",
    "容西片区",
    "雄东片区",
    "启动区",
    "昝岗片区",
    "白洋淀",
    "雄县组团",
    "容城组团",
    "安新组团",
    "雄安站枢纽片区",
];
const WORKS: [&str; 10] = [
    "安置房建设工程",
    "市政道路工程",
    "综合管廊工程",
    "供水管网工程",
    "学校建设工程",
    "社区中心工程",
    "公园绿化工程",
    "污水处理工程",
    "电力配套工程",
    "生态片林工程",
];
/// Where builders come from: region codes of their resident ids.
const REGIONS: [&str; 8] = [
    "130638", "130629", "130632", "130602", "410102", "510104", "130104", "370102",
];

/// ¥2 billion in fen.
const BUDGETS: u64 = 200_000_000_000;

pub(super) fn generate(opts: &DemoData, db: &std::path::Path) -> Result<Summary, NodeError> {
    let seed = opts.seed;
    let start = YEAR_START - 14 * DAY;
    let (admins, mut w) = super::found(opts, db, "xiongan", &DEPARTMENTS, start)?;
    let mut rng = Rng::new(seed, "xiongan world");
    let mut csv = String::from("name,department,official,role,scope\n");
    let mut enrol = Enrol {
        opts,
        admins: &admins,
        w: &mut w,
        csv: &mut csv,
        at: start,
    };
    let s = opts.scale;
    let developers = enrol.all(GROUP, "developer", DEVELOPERS.len(), 4, |i| {
        format!("雄安集团{}有限公司", DEVELOPERS[i % DEVELOPERS.len()])
    })?;
    let operators = enrol.all(BANK, "fund-operator", 6, 6, |i| {
        format!("资金监管专员{:02}", i + 1)
    })?;
    let supervisors = enrol.all(BUILD, "supervisor", scaled(80, s).max(8), 3, |i| {
        format!("{}工程监理有限公司", firm_name(i))
    })?;
    let contractors = enrol.all(BUILD, "contractor", scaled(920, s).max(20), 3, |i| {
        let kind = CONTRACTOR_KINDS[(i / 7) % CONTRACTOR_KINDS.len()];
        format!("{}{kind}有限公司", firm_name(i + 17))
    })?;
    let inspectors = enrol.all(LABOUR, "labour-inspector", 24, 3, |i| {
        format!("劳动保障监察员{:02}", i + 1)
    })?;
    let auditors = enrol.all(AUDIT, "auditor", 12, 3, |i| format!("审计员{:02}", i + 1))?;
    let firms = developers.len() + supervisors.len() + contractors.len();
    w.block()?;
    std::fs::write(opts.out.join("officials.csv"), csv).map_err(|e| super::io(&e))?;

    let secret = |what: &str| {
        IdentityKey::from_bytes(
            Hash32::sha256(format!("govchain demo-data {seed} {what} key").as_bytes()).0,
        )
    };
    let (payroll_key, identity_key) = (secret("payroll"), secret("identity"));
    for (name, k) in [("payroll", &payroll_key), ("identity", &identity_key)] {
        let path = opts.out.join("keys").join(format!("{name}.key.hex"));
        std::fs::write(&path, Hash32(*k.as_bytes()).to_hex()).map_err(|e| super::io(&e))?;
    }
    let mut projects = projects(opts, &mut rng, contractors.len(), supervisors.len())?;
    party_keys(
        opts,
        &projects,
        [&developers, &contractors, &supervisors, &operators],
    )?;
    let (workers, list) = workers(opts, &mut rng, &mut projects, &payroll_key, &identity_key)?;
    std::fs::write(opts.out.join("workers.csv"), list).map_err(|e| super::io(&e))?;
    let budgets: u64 = projects.iter().map(|p| p.budget).sum();
    let world = World {
        developers,
        contractors,
        supervisors,
        operators,
        inspectors,
        auditors,
        projects,
        workers,
        year_start: YEAR_START,
        year_end: YEAR_START + 365 * DAY,
    };
    let payments = scaled(5_000, s);
    let outcome = super::funds::run(&world, payments, seed, &mut w)?;
    let ended_at = w.now();
    let core = w.finish()?;
    let n = |v: usize| v as u64;
    Ok(Summary {
        counts: vec![
            ("departments", n(DEPARTMENTS.len())),
            ("firms", n(firms)),
            (
                "officials",
                n(world.operators.len() + world.inspectors.len() + world.auditors.len()),
            ),
            ("projects", n(world.projects.len())),
            ("budgets (yuan)", budgets / 100),
            ("payment requests", outcome.requests),
            ("paid (yuan)", outcome.paid / 100),
            ("payroll lines", outcome.lines),
            ("payrolls in chunks", outcome.chunked),
            ("builders on payroll", outcome.workers_listed),
            ("builders paid", outcome.workers_paid),
            ("access entries", outcome.access_entries),
        ],
        statuses_of: "payment requests",
        statuses: outcome.statuses,
        blocks: core.height() + 1,
        transactions: core.log_size(),
        first_time: ts(start)?,
        last_time: ts(ended_at)?,
        secs: 0.0,
        bytes: 0,
    })
}

/// Writes the keys of the parties of the three largest projects
/// (`keys/<project>-<party>.key`), to sign as them.
fn party_keys(
    opts: &DemoData,
    projects: &[Project],
    [developers, contractors, supervisors, operators]: [&[SecretKey]; 4],
) -> Result<(), NodeError> {
    let mut largest: Vec<&Project> = projects.iter().collect();
    largest.sort_by_key(|p| std::cmp::Reverse(p.budget));
    for p in largest.iter().take(3) {
        for (party, k) in [
            ("developer", &developers[p.developer]),
            ("contractor", &contractors[p.contractor]),
            ("supervisor", &supervisors[p.supervisor]),
            ("operator", &operators[p.operator]),
        ] {
            super::write_key(&opts.out, &format!("{}-{party}", p.id), k)?;
        }
    }
    Ok(())
}

/// Registers accounts in one department and grants each its role.
struct Enrol<'a> {
    opts: &'a DemoData,
    admins: &'a [SecretKey],
    w: &'a mut Writer,
    csv: &'a mut String,
    at: i64,
}

impl Enrol<'_> {
    /// `n` accounts of department `d` with `role` (scope `xiongan`), named
    /// by `name(i)`; writes the keys of the first `keys`.
    fn all(
        &mut self,
        d: usize,
        role: &str,
        n: usize,
        keys: usize,
        name: impl Fn(usize) -> String,
    ) -> Result<Vec<SecretKey>, NodeError> {
        let (dept, ..) = DEPARTMENTS[d];
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let name = name(i);
            let label = format!("{dept}-{role}-{i:04}");
            let k = key(self.opts.seed, &format!("official {label}"));
            self.at += 1_000;
            self.w
                .enrol(&self.admins[d], dept, &name, &k, role, "xiongan", self.at)?;
            let _ = writeln!(self.csv, "{name},{dept},{},{role},xiongan", k.key_id());
            if i < keys {
                super::write_key(&self.opts.out, &label, &k)?;
            }
            out.push(k);
        }
        Ok(out)
    }
}

/// A firm's name: a place and a two-character brand, distinct for the
/// first 1,024 `i` (then numbered).
fn firm_name(i: usize) -> String {
    let place = PLACES[i % PLACES.len()];
    let j = i / PLACES.len();
    let brand = format!(
        "{}{}",
        BRAND_A[j % BRAND_A.len()],
        BRAND_B[(j / BRAND_A.len()) % BRAND_B.len()]
    );
    let round = i / (PLACES.len() * BRAND_A.len() * BRAND_B.len());
    if round == 0 {
        format!("{place}{brand}")
    } else {
        format!("{place}{brand}{round}")
    }
}

/// The projects: budgets skewed (a few large, most modest) adding up to
/// ¥2 billion × scale, created over the first five months; parties drawn
/// from the firms (each project its own contractor).
fn projects(
    opts: &DemoData,
    rng: &mut Rng,
    contractors: usize,
    supervisors: usize,
) -> Result<Vec<Project>, NodeError> {
    let n = scaled(100, opts.scale).max(2).min(contractors);
    let weights: Vec<f64> = (0..n).map(|_| (0.25 + rng.exp(1.0)).powf(1.6)).collect();
    let sum: f64 = weights.iter().sum();
    let total = floor((float(BUDGETS) * opts.scale).round());
    // Budgets in whole ¥10,000s; the last takes what remains.
    let mut budgets: Vec<u64> = weights
        .iter()
        .map(|w| {
            let b = floor(w / sum * float(total) / 1e6);
            b.max(1) * 1_000_000
        })
        .collect();
    let rest = total.saturating_sub(budgets.iter().sum::<u64>());
    if let Some(last) = budgets.last_mut() {
        *last += rest;
    }
    // Each project its own contractor: a random choice without repeats.
    let mut pick: Vec<usize> = (0..contractors).collect();
    let mut out = Vec::with_capacity(n);
    for (p, budget) in budgets.into_iter().enumerate() {
        let j = p + rng.below(contractors - p);
        pick.swap(p, j);
        let round = p / (AREAS.len() * WORKS.len());
        let name = format!(
            "{}{}{}",
            AREAS[p % AREAS.len()],
            WORKS[(p / AREAS.len() + p) % WORKS.len()],
            if round == 0 {
                String::new()
            } else {
                format!("（{}期）", round + 1)
            }
        );
        let created = YEAR_START + i64::try_from(rng.below(150)).unwrap_or(0) * DAY + 2 * 3_600_000;
        out.push(Project {
            id: format!("XA-P{p:03}"),
            name,
            budget,
            developer: rng.below(DEVELOPERS.len()),
            contractor: pick[p],
            supervisor: rng.below(supervisors),
            operator: rng.below(6),
            approvers: if rng.chance(0.3) {
                vec![Approver::Developer, Approver::Operator]
            } else {
                vec![Approver::Developer]
            },
            created,
            team: Vec::new(),
        });
    }
    if out.is_empty() {
        return Err(NodeError::Config("demo-data: no projects".into()));
    }
    Ok(out)
}

/// The builders: 40,000 × scale, each on the team of one project (drawn in
/// proportion to budgets) for 1–8 months from when it starts, at a monthly
/// wage of ¥3,500–12,000. Returns them and `workers.csv`.
fn workers(
    opts: &DemoData,
    rng: &mut Rng,
    projects: &mut [Project],
    payroll_key: &IdentityKey,
    identity_key: &IdentityKey,
) -> Result<(Vec<Worker>, String), NodeError> {
    let n = scaled(40_000, opts.scale);
    let total: u64 = projects.iter().map(|p| p.budget).sum();
    let mut csv = String::from("worker,id_number,project,payroll_hash,identity_hash\n");
    let mut out = Vec::with_capacity(n);
    let mut numbers = std::collections::HashSet::with_capacity(n);
    let mut p = 0;
    let mut below = projects[0].budget;
    for i in 0..n {
        // The i-th of n builders joins the project whose budget covers
        // the same fraction of the total.
        let at = floor((float(i as u64) + 0.5) / float(n as u64) * float(total));
        while at >= below && p + 1 < projects.len() {
            p += 1;
            below += projects[p].budget;
        }
        let mut number = resident_id(rng, i);
        while !numbers.insert(number.clone()) {
            number = resident_id(rng, i);
        }
        let id = normalize(DocumentType::CnResidentId, &number)
            .map_err(|e| NodeError::Config(format!("demo-data: worker {i}: {e}")))?;
        let (payroll, identity) = (payroll_key.hash(&id), identity_key.hash(&id));
        // Months 0–10 are paid within the year (December's in January).
        let first = month_of(projects[p].created).clamp(0, 10);
        let span = |from: i64| usize::try_from(11 - from).unwrap_or(1);
        let from = first + i64::try_from(rng.below(span(first))).unwrap_or(0);
        let months = (1 + rng.skewed(8, 1.8)).min(span(from));
        let wage = floor(3_500.0 + rng.unit().powf(1.5) * 8_500.0) * 100;
        let _ = writeln!(
            csv,
            "{i},{number},{},{},{}",
            projects[p].id,
            payroll.to_hex(),
            identity.to_hex()
        );
        projects[p].team.push(u32::try_from(i).unwrap_or(u32::MAX));
        out.push(Worker {
            payroll,
            identity,
            wage,
            first_month: u8::try_from(from).unwrap_or(0),
            months: u8::try_from(months).unwrap_or(1),
        });
    }
    Ok((out, csv))
}

/// The month (0 = January) of ledger time `ms` in the simulated year.
pub(super) fn month_of(ms: i64) -> i64 {
    const ENDS: [i64; 12] = [31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365];
    let day = (ms - YEAR_START).div_euclid(DAY);
    i64::try_from(ENDS.iter().take_while(|&&e| e <= day).count()).unwrap_or(12)
}

/// A synthetic 18-character resident id: a region, a birth date in
/// 1965–2001, a sequence from `i`, and its check character.
fn resident_id(rng: &mut Rng, i: usize) -> String {
    let region = REGIONS[rng.skewed(REGIONS.len(), 1.5)];
    let year = 1965 + rng.below(37);
    let month = 1 + rng.below(12);
    let day = 1 + rng.below(28);
    let first17 = format!("{region}{year:04}{month:02}{day:02}{:03}", i % 1000);
    let mut digits = [0u8; 17];
    digits.copy_from_slice(first17.as_bytes());
    format!("{first17}{}", cn_rid_check_char(&digits))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_follow_the_calendar() {
        assert_eq!(month_of(YEAR_START), 0);
        assert_eq!(month_of(YEAR_START + 30 * DAY), 0);
        assert_eq!(month_of(YEAR_START + 31 * DAY), 1);
        assert_eq!(month_of(YEAR_START + 364 * DAY), 11);
        assert_eq!(month_of(YEAR_START + 365 * DAY), 12);
    }

    #[test]
    fn firm_names_are_distinct() {
        let names: std::collections::HashSet<String> = (0..2_000).map(firm_name).collect();
        assert_eq!(names.len(), 2_000);
    }

    #[test]
    fn resident_ids_are_valid() {
        let mut rng = Rng::new(1, "test");
        for i in 0..200 {
            let id = resident_id(&mut rng, i);
            assert!(normalize(DocumentType::CnResidentId, &id).is_ok(), "{id}");
        }
    }
}
