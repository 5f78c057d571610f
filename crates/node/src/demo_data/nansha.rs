//! The `nansha` profile: a district's approval platform. 19 departments
//! under the district government, 1,500 officials (the service window's
//! clerks open cases; the others review them, each at the whole district
//! or at one town), 2,000 matter templates of 2–8 stages (some parallel,
//! some needing two approvers, most with a deadline; a rejection ends a
//! case or returns it to acceptance), then 300,000 cases over 2026
//! ([`super::sim`]).

use std::fmt::Write as _;

use govchain_ledger::crypto::SecretKey;
use serde_json::{json, Value};

use super::sim::{Matter, Reviewer, Stage, World};
use super::{
    key, scaled, ts, write_key, DemoData, Department, Rng, Summary, Writer, DAY, YEAR_START,
};
use crate::error::NodeError;

const DEPARTMENTS: [Department; 19] = [
    ("ns-gov", "南沙区人民政府", None),
    ("ns-zwfw", "区政务服务和数据管理局", Some("ns-gov")),
    ("ns-fgj", "区发展和改革局", Some("ns-gov")),
    ("ns-zjj", "区住房和城乡建设局", Some("ns-gov")),
    ("ns-ghzy", "区规划和自然资源局", Some("ns-gov")),
    ("ns-yjj", "区应急管理局", Some("ns-gov")),
    ("ns-xf", "区消防救援大队", Some("ns-yjj")),
    ("ns-cgj", "区城市管理和综合执法局", Some("ns-gov")),
    ("ns-scjg", "区市场监督管理局", Some("ns-gov")),
    ("ns-sthj", "区生态环境分局", Some("ns-gov")),
    ("ns-jtj", "区交通运输局", Some("ns-gov")),
    ("ns-swj", "区水务局", Some("ns-gov")),
    ("ns-wjj", "区卫生健康局", Some("ns-gov")),
    ("ns-jyj", "区教育局", Some("ns-gov")),
    ("ns-rsj", "区人力资源和社会保障局", Some("ns-gov")),
    ("ns-mzj", "区民政局", Some("ns-gov")),
    ("ns-gaj", "区公安分局", Some("ns-gov")),
    ("ns-wgly", "区文化广电旅游体育局", Some("ns-gov")),
    ("ns-czj", "区财政局", Some("ns-gov")),
];

/// The service window: its officials open the cases and accept them.
const WINDOW: usize = 1;

/// The district's towns and streets (scope `nansha/<town>`).
const TOWNS: [&str; 9] = [
    "nansha",
    "zhujiang",
    "longxue",
    "wanqingsha",
    "hengli",
    "huangge",
    "dongchong",
    "dagang",
    "lanhe",
];

/// Kinds of matter, for template names.
const MATTERS: [&str; 20] = [
    "建设工程规划许可",
    "建筑工程施工许可",
    "消防设计审查",
    "食品经营许可",
    "排污许可",
    "户外广告设置",
    "占用道路施工许可",
    "医疗机构执业登记",
    "民办学校设立",
    "劳务派遣经营许可",
    "养老机构备案",
    "道路运输经营许可",
    "取水许可",
    "特种设备使用登记",
    "娱乐场所经营许可",
    "旧城改造项目审批",
    "危险化学品经营许可",
    "临时建筑审批",
    "供水接入审批",
    "房屋安全鉴定",
];

pub(super) fn generate(opts: &DemoData, db: &std::path::Path) -> Result<Summary, NodeError> {
    let seed = opts.seed;
    let start = YEAR_START - 14 * DAY;
    let (admins, mut w) = super::found(opts, db, "nansha", &DEPARTMENTS, start)?;

    let mut rng = Rng::new(seed, "nansha world");
    let (reviewers, clerks, list) = officials(opts, &admins, &mut w, &mut rng, start)?;
    let matters = templates(opts, &admins, &mut w, &mut rng, start + DAY)?;
    w.block()?;
    std::fs::write(opts.out.join("officials.csv"), list).map_err(|e| super::io(&e))?;

    let world = World {
        towns: TOWNS.len(),
        matters,
        reviewers,
        clerks,
        window: WINDOW,
        town_names: TOWNS.to_vec(),
        year_start: YEAR_START,
        year_end: YEAR_START + 365 * DAY,
    };
    let cases = scaled(300_000, opts.scale);
    let statuses = super::sim::run(&world, cases, seed, &mut w)?;
    let ended_at = w.now();
    let core = w.finish()?;
    let officials = world.clerks.len() + world.reviewers.iter().map(Vec::len).sum::<usize>();
    Ok(Summary {
        counts: vec![
            ("departments", DEPARTMENTS.len() as u64),
            ("officials", officials as u64),
            ("matter templates", world.matters.len() as u64),
            ("cases", cases as u64),
        ],
        statuses_of: "cases",
        statuses,
        blocks: core.height() + 1,
        transactions: core.log_size(),
        first_time: ts(start)?,
        last_time: ts(ended_at)?,
        secs: 0.0,
        bytes: 0,
    })
}

/// Officials spread over the departments, each registered and granted
/// `reviewer` (at the district or one town) by their department's admin;
/// half of the window's are clerks. Returns the reviewers per department,
/// the clerks and `officials.csv`; writes the keys of a few per department.
#[allow(clippy::type_complexity)]
fn officials(
    opts: &DemoData,
    admins: &[SecretKey],
    w: &mut Writer,
    rng: &mut Rng,
    at: i64,
) -> Result<(Vec<Vec<Reviewer>>, Vec<SecretKey>, String), NodeError> {
    let count = scaled(1_500, opts.scale).max(DEPARTMENTS.len() * 4);
    let mut reviewers: Vec<Vec<Reviewer>> = DEPARTMENTS.iter().map(|_| Vec::new()).collect();
    let mut clerks = Vec::new();
    let mut csv = String::from("name,department,official,role,scope\n");
    for i in 0..count {
        let d = 1 + i % (DEPARTMENTS.len() - 1);
        let (dept, ..) = DEPARTMENTS[d];
        let name = format!("{dept}-{:04}", i / (DEPARTMENTS.len() - 1));
        let k = key(opts.seed, &format!("official {name}"));
        let id = k.key_id();
        let t = at + i64::try_from(i).unwrap_or(0);
        let clerk = d == WINDOW && i % 2 == 0;
        // The first two of each department serve the whole district, so
        // every town has officials for every stage.
        let nth = i / (DEPARTMENTS.len() - 1);
        let town = (!clerk && nth >= 2 && rng.chance(0.3)).then(|| 1 + rng.below(TOWNS.len() - 1));
        let scope = town.map_or_else(|| "nansha".to_owned(), |t| format!("nansha/{}", TOWNS[t]));
        let role = if clerk { "clerk" } else { "reviewer" };
        w.enrol(&admins[d], dept, &name, &k, role, &scope, t)?;
        let _ = writeln!(csv, "{name},{dept},{id},{role},{scope}");
        if i / (DEPARTMENTS.len() - 1) < 3 {
            write_key(&opts.out, &name, &k)?;
        }
        if clerk {
            clerks.push(k);
        } else {
            reviewers[d].push(Reviewer { key: k, town });
        }
    }
    Ok((reviewers, clerks, csv))
}

/// Matter templates, each defined by its department's admin: acceptance
/// at the window, then 1–7 reviews by departments.
fn templates(
    opts: &DemoData,
    admins: &[SecretKey],
    w: &mut Writer,
    rng: &mut Rng,
    at: i64,
) -> Result<Vec<Matter>, NodeError> {
    let n = scaled(2_000, opts.scale);
    let mut matters = Vec::with_capacity(n);
    for m in 0..n {
        let owner = 2 + rng.below(DEPARTMENTS.len() - 2);
        let reviews = [1, 2, 2, 3, 3, 3, 4, 4, 5, 6, 7][rng.below(11)];
        let mut stages = vec![Stage {
            department: WINDOW,
            threshold: 1,
            group: None,
            deadline_ms: Some(3 * DAY),
            returns: false,
        }];
        for s in 0..reviews {
            let department = if s == 0 {
                owner
            } else {
                2 + rng.below(DEPARTMENTS.len() - 2)
            };
            stages.push(Stage {
                department,
                threshold: if rng.chance(0.1) { 2 } else { 1 },
                group: None,
                deadline_ms: rng
                    .chance(0.6)
                    .then(|| i64::try_from(3 + rng.below(13)).unwrap_or(3) * DAY),
                returns: rng.chance(0.5),
            });
        }
        // Some neighbouring reviews run in parallel.
        let mut s = 1;
        while s + 1 < stages.len() {
            if rng.chance(0.15) {
                stages[s].group = Some(s);
                stages[s + 1].group = Some(s);
                s += 2;
            } else {
                s += 1;
            }
        }
        let id = format!("NS-M{m:04}");
        let name = format!("{} · {m:04}", MATTERS[m % MATTERS.len()]);
        let spec: Vec<Value> = stages.iter().map(stage_json).collect();
        let t = at + i64::try_from(m).unwrap_or(0);
        w.submit(
            &admins[owner],
            "workflow.define",
            json!({"id": id, "version": 1, "name": name, "stages": spec}),
            t,
        )?;
        matters.push(Matter { id, name, stages });
    }
    Ok(matters)
}

fn stage_json(st: &Stage) -> Value {
    let (dept, name, _) = DEPARTMENTS[st.department];
    let short: String = name.chars().skip(1).take(12).collect();
    let mut v = json!({"name": format!("{short}审查"), "department": dept,
        "role": if st.department == WINDOW { "clerk" } else { "reviewer" },
        "threshold": st.threshold,
        "on_reject": if st.returns { "return" } else { "end" }});
    if st.returns {
        v["return_to"] = json!(0);
    }
    if let Some(g) = st.group {
        v["group"] = json!(format!("g{g}"));
    }
    if let Some(d) = st.deadline_ms {
        v["deadline_secs"] = json!(d / 1000);
    }
    v
}
