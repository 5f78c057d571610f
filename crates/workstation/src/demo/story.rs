//! The demo story: the officials and roles of the demo consortium, earlier
//! renovation cases and an engineering project replayed in ledger time, the
//! two open cases, and the user's part (registration, the project they
//! supervise). The history is tables of scripted steps ([`HISTORY`],
//! [`PAST_PAYMENTS`], [`OPEN_STORY`]) played by a few lines of code.

use std::sync::atomic::Ordering;

use govchain_ledger::crypto::{PublicKey, SecretKey};
use govchain_ledger::identity::{cn_rid_check_char, identity_hash, DocumentType, IdentityKey};
use govchain_ledger::state::fixtures::renovation_template;
use govchain_ledger::types::{Hash32, Timestamp};
use serde_json::{json, Value};

use crate::error::WsError;

use super::{err, DemoNode, DAY_MS, DEMO_CASE, DEMO_CONTRACT, DEMO_PROJECT, OFFICIALS};

/// An earlier renovation case of the demo history. Times are in tenths of
/// a day: opened after the chain's start, then how long each stage took.
struct Past {
    id: &'static str,
    title: &'static str,
    opened: i64,
    stages: [i64; 4],
    /// Sent back by the fire review after `.0`, resubmitted by the city
    /// after `.1`, before the fire review's final `stages[1]`.
    sent_back: Option<(i64, i64)>,
}

const HISTORY: [Past; 6] = [
    Past {
        id: "HZ-2026-0011",
        title: "上城区望江街道清波小区改造",
        opened: 20,
        stages: [25, 180, 50, 10],
        sent_back: None,
    },
    Past {
        id: "HZ-2026-0015",
        title: "西湖区翠苑一区管线入地",
        opened: 60,
        stages: [30, 125, 40, 20],
        sent_back: None,
    },
    Past {
        id: "HZ-2026-0019",
        title: "拱墅区和睦新村加装电梯",
        opened: 110,
        stages: [15, 90, 70, 10],
        sent_back: Some((60, 30)),
    },
    Past {
        id: "HZ-2026-0023",
        title: "滨江区浦沿老街外立面整治",
        opened: 170,
        stages: [40, 155, 30, 15],
        sent_back: None,
    },
    Past {
        id: "HZ-2026-0027",
        title: "上城区紫阳街道海潮社区改造",
        opened: 240,
        stages: [20, 210, 60, 10],
        sent_back: None,
    },
    Past {
        id: "HZ-2026-0031",
        title: "西湖区文新街道屏基山社区改造",
        opened: 310,
        stages: [35, 110, 55, 20],
        sent_back: None,
    },
];

/// Who signs each stage of the renovation template in the history, and why.
const SIGNERS: [(&str, &str); 4] = [
    ("zhang", "符合城市更新规划，同意。"),
    ("zhou", "消防通道与消防设施设计符合规范，同意。"),
    ("wang", "施工组织方案完备，准予施工。"),
    ("zhao", "建设单位确认实施。"),
];
const SENT_BACK: &str = "消防车道宽度不足 4 米，请调整总平面布置后重新报审。";
const RESUBMITTED: &str = "已按消防意见调整总平面，同意再次报审。";

/// One step of the replayed history.
enum Event {
    Open(&'static str, &'static str),
    Sign(&'static str, u32, &'static str, &'static str, &'static str),
    /// Any other transaction: signer, kind, payload.
    Tx(&'static str, &'static str, Value),
}

/// A payment of the history's project.
struct PastPayment {
    id: &'static str,
    /// Amount in fen.
    amount: u64,
    purpose: &'static str,
    milestone: &'static str,
    /// Day requested, in tenths of a day after the chain's start.
    requested: i64,
    /// The supervisor's refusal, if any.
    refused: Option<&'static str>,
}

/// The history's engineering project, whose payments went through.
const PAST_PROJECT: &str = "XA-2026-003";

/// Its payments: id, amount (fen), purpose, milestone, day requested (in
/// tenths; all before the open demo cases), and the supervisor's refusal if
/// any. Each accepted payment is
/// confirmed after 2 days, approved after 3 and executed after 4; the last
/// one is still waiting for the developer's approval.
const PAST_PAYMENTS: [PastPayment; 5] = [
    PastPayment {
        id: "P-01",
        amount: 150_000_000,
        purpose: "管网一期材料及人工",
        milestone: "M1 沟槽开挖完成",
        requested: 90,
        refused: None,
    },
    PastPayment {
        id: "P-02",
        amount: 120_000_000,
        purpose: "管网二期铺设进度款",
        milestone: "M2 主管铺设完成",
        requested: 220,
        refused: None,
    },
    PastPayment {
        id: "P-03",
        amount: 90_000_000,
        purpose: "检查井砌筑进度款",
        milestone: "M3 检查井完成",
        requested: 350,
        refused: Some("计量与现场进度不符，请核实后重新申报。"),
    },
    PastPayment {
        id: "P-04",
        amount: 100_000_000,
        purpose: "检查井砌筑进度款（复报）",
        milestone: "M3 检查井完成",
        requested: 420,
        refused: None,
    },
    PastPayment {
        id: "P-05",
        amount: 80_000_000,
        purpose: "路面恢复进度款",
        milestone: "M4 路面恢复",
        requested: 540,
        refused: None,
    },
];

/// The roles the story's officials hold: `(official, department, role)`.
const ROLES: [(&str, &str, &str); 4] = [
    ("zhang", "city-management", "approver"),
    ("zhou", "fire", "fire-inspector"),
    ("wang", "construction", "approver"),
    ("zhao", "developer", "project-manager"),
];

/// A scripted step of the open part of the story.
enum Scripted {
    /// The city opens a renovation case.
    OpenCase {
        id: &'static str,
        title: &'static str,
    },
    /// An official signs a stage of a case.
    Sign {
        case: &'static str,
        stage: u32,
        who: &'static str,
        decision: &'static str,
        comment: &'static str,
    },
    /// An official's audited read of sensitive data about the user's case.
    Read {
        who: &'static str,
        dataset: &'static str,
        purpose: &'static str,
    },
}

/// The two open cases: the user's (waiting at the fire stage for six days)
/// and one just opened, with the audited reads of the case's officials and
/// the city's approval of the user's case, in time order. Times in tenths
/// of a day from now.
const OPEN_STORY: [(i64, Scripted); 7] = [
    (
        -92,
        Scripted::OpenCase {
            id: DEMO_CASE,
            title: "上城区北山街12号老旧小区改造",
        },
    ),
    (
        -81,
        Scripted::Read {
            who: "zhang",
            dataset: "household-registry/residents",
            purpose: "核对改造范围内住户信息",
        },
    ),
    (
        -79,
        Scripted::Read {
            who: "zhang",
            dataset: "property-registry/titles",
            purpose: "核对房屋产权",
        },
    ),
    (
        -63,
        Scripted::Sign {
            case: DEMO_CASE,
            stage: 0,
            who: "zhang",
            decision: "approve",
            comment: "符合城市更新规划，同意进入消防审查。",
        },
    ),
    (
        -26,
        Scripted::OpenCase {
            id: "HZ-2026-0051",
            title: "拱墅区大关西苑小区加装电梯及外立面改造",
        },
    ),
    (
        -15,
        Scripted::Read {
            who: "wang",
            dataset: "property-registry/titles",
            purpose: "施工许可前置核查",
        },
    ),
    (
        -4,
        Scripted::Read {
            who: "zhao",
            dataset: "housing-fund/accounts",
            purpose: "住户公积金提取资格核对",
        },
    ),
];

impl DemoNode {
    /// The demo story up to the point where the user's stage is next.
    pub(super) fn seed(&self) -> Result<(), WsError> {
        for (name, dept, display) in OFFICIALS {
            let pk = self.key(name)?.public_key();
            self.submit(
                &format!("{dept}-admin"),
                "official.register",
                json!({"department": dept, "name": display, "public_key": pk}),
            )?;
        }
        self.commit()?;
        for (name, dept, role) in ROLES {
            self.submit(
                &format!("{dept}-admin"),
                "role.grant",
                json!({"official": self.id(name)?, "department": dept, "role": role, "scope": "hz"}),
            )?;
        }
        let template = serde_json::to_value(renovation_template()).map_err(err)?;
        self.submit("city-management-admin", "workflow.define", template)?;
        // A consortium action waiting for a second department's admin:
        // the user, a fire admin, can co-sign it (Administration screen).
        let civil = |what: &str| {
            let seed = zeroize::Zeroizing::new(
                Hash32::sha256(format!("govchain demo civil-affairs {what}").as_bytes()).0,
            );
            SecretKey::from_seed(&seed).public_key()
        };
        self.submit(
            "city-management-admin",
            "department.add",
            json!({"id": "civil-affairs", "name": "杭州市民政局", "parent": "city-management",
                   "node_key": civil("node"), "admin_threshold": 1,
                   "admins": [{"name": "civil-affairs-admin", "public_key": civil("admin")}]}),
        )?;
        self.commit()?;
        self.history()?;
        let now = govchain_node::api::now().unix_millis();
        for (tenths, step) in &OPEN_STORY {
            let when = now + tenths * DAY_MS / 10;
            self.at(when);
            self.play(step, when)?;
        }
        self.at(now - DAY_MS / 10);
        self.commit()
    }

    /// Plays one scripted step at ledger time `when` (ms) and commits it.
    fn play(&self, step: &Scripted, when: i64) -> Result<(), WsError> {
        match *step {
            Scripted::OpenCase { id, title } => self.open_case(id, title),
            Scripted::Sign {
                case,
                stage,
                who,
                decision,
                comment,
            } => self.step(case, stage, who, decision, comment),
            Scripted::Read {
                who,
                dataset,
                purpose,
            } => {
                let at = Timestamp::from_unix_millis(when).unwrap_or(Timestamp::UNIX_EPOCH);
                self.submit(
                    who,
                    "access.record",
                    json!({"entries": [{"dataset": dataset, "operation": "read", "purpose": purpose,
                                        "subject": Hash32::sha256(format!("{DEMO_CASE}/{dataset}").as_bytes()),
                                        "at": at}]}),
                )?;
                self.commit()
            }
        }
    }

    fn open_case(&self, id: &str, title: &str) -> Result<(), WsError> {
        self.submit(
            "zhang",
            "case.open",
            json!({"case_id": id, "template": "old-city-renovation", "version": 1, "scope": "hz",
                   "title": title, "documents": [Hash32::sha256(format!("{id}/申请书.pdf").as_bytes()),
                                                 Hash32::sha256(format!("{id}/设计方案.pdf").as_bytes())]}),
        )?;
        self.commit()
    }

    fn step(
        &self,
        case: &str,
        stage: u32,
        who: &str,
        decision: &str,
        comment: &str,
    ) -> Result<(), WsError> {
        self.submit(
            who,
            "case.sign_step",
            json!({"case_id": case, "stage": stage, "decision": decision,
                   "comment": comment, "attachments": []}),
        )?;
        self.commit()
    }

    /// Earlier renovation cases ([`HISTORY`]), replayed in ledger time.
    fn history(&self) -> Result<(), WsError> {
        let start = self.clock.load(Ordering::SeqCst);
        let mut events: Vec<(i64, Event)> = Vec::new();
        for h in HISTORY {
            let mut t = start + h.opened * DAY_MS / 10;
            events.push((t, Event::Open(h.id, h.title)));
            for (stage, tenths) in (0u32..).zip(h.stages) {
                if stage == 1 {
                    if let Some((fire, city)) = h.sent_back {
                        t += fire * DAY_MS / 10;
                        events.push((t, Event::Sign(h.id, 1, "zhou", "reject", SENT_BACK)));
                        t += city * DAY_MS / 10;
                        events.push((t, Event::Sign(h.id, 0, "zhang", "approve", RESUBMITTED)));
                    }
                }
                t += tenths * DAY_MS / 10;
                let (who, comment) = SIGNERS[stage as usize];
                events.push((t, Event::Sign(h.id, stage, who, "approve", comment)));
            }
        }
        events.extend(self.past_project(start)?);
        events.sort_by_key(|e| e.0);
        for (t, e) in events {
            self.at(t);
            match e {
                Event::Open(id, title) => self.open_case(id, title)?,
                Event::Sign(id, stage, who, decision, comment) => {
                    self.step(id, stage, who, decision, comment)?;
                }
                Event::Tx(who, kind, payload) => {
                    self.submit(who, kind, payload)?;
                    self.commit()?;
                }
            }
        }
        Ok(())
    }

    /// The history's engineering project and its payments ([`PAST_PAYMENTS`]).
    fn past_project(&self, start: i64) -> Result<Vec<(i64, Event)>, WsError> {
        let day = |tenths: i64| start + tenths * DAY_MS / 10;
        let mut out = vec![(
            day(30),
            Event::Tx(
                "dev",
                "project.create",
                json!({"project_id": PAST_PROJECT, "name": "清波片区老旧小区配套管网工程", "budget": 600_000_000,
                       "parties": {"developer": self.id("dev")?, "contractor": self.id("con")?,
                                   "supervisor": self.id("qian")?, "operator": self.id("op")?},
                       "approvers": ["developer"]}),
            ),
        )];
        let worker = demo_worker;
        for (
            n,
            PastPayment {
                id,
                amount,
                purpose,
                milestone,
                requested: at,
                refused,
            },
        ) in PAST_PAYMENTS.into_iter().enumerate()
        {
            let wage = amount / 10;
            out.push((
                day(at),
                Event::Tx(
                    "con",
                    "payment.request",
                    json!({"project_id": PAST_PROJECT, "payment_id": id, "amount": amount,
                           "purpose": purpose, "milestone": milestone,
                           "invoices": [Hash32::sha256(format!("{PAST_PROJECT}/{id}/invoice.pdf").as_bytes())],
                           "payroll": [{"worker": worker(&format!("{n}-a")), "amount": wage},
                                       {"worker": worker(&format!("{n}-b")), "amount": wage}]}),
                ),
            ));
            let review = |verdict: &str, comment: &str| json!({"project_id": PAST_PROJECT, "payment_id": id, "verdict": verdict, "comment": comment});
            if let Some(why) = refused {
                out.push((
                    day(at + 20),
                    Event::Tx("qian", "payment.confirm", review("refuse", why)),
                ));
                continue;
            }
            out.push((
                day(at + 20),
                Event::Tx(
                    "qian",
                    "payment.confirm",
                    review("accept", "现场计量属实。"),
                ),
            ));
            if n + 1 == PAST_PAYMENTS.len() {
                continue;
            }
            out.push((
                day(at + 30),
                Event::Tx("dev", "payment.approve", review("accept", "同意支付。")),
            ));
            out.push((
                day(at + 40),
                Event::Tx(
                    "op",
                    "payment.execute",
                    json!({"project_id": PAST_PROJECT, "payment_id": id,
                           "transfer_ref": format!("HZB-2026-{:04}", 310 + n)}),
                ),
            ));
        }
        Ok(out)
    }

    /// Registers the user's key as a fire inspector (the renovation case's
    /// next stage), the fire department's blacklist officer and one of its
    /// admins, and — for
    /// the first user — as the contractor of a second project, and — for the first user — as the supervisor of a demo
    /// engineering project with a payment request waiting for confirmation.
    /// Does nothing if the key is already registered.
    pub fn register_user(&self, key: &PublicKey, name: &str) -> Result<bool, WsError> {
        if self.is_registered(key)? {
            return Ok(false);
        }
        let user = key.key_id();
        self.submit(
            "fire-admin",
            "official.register",
            json!({"department": "fire", "name": name, "public_key": key}),
        )?;
        self.commit()?;
        self.submit(
            "fire-admin",
            "role.grant",
            json!({"official": user, "department": "fire", "role": "fire-inspector", "scope": "hz"}),
        )?;
        self.submit(
            "fire-admin",
            "role.grant",
            json!({"official": user, "department": "fire", "role": "blacklist-officer", "scope": "*"}),
        )?;
        // One of the fire department's admins too (threshold 1): registers
        // officials, grants roles, publishes templates, co-signs.
        self.submit(
            "fire-admin",
            "role.grant",
            json!({"official": user, "department": "fire", "role": "admin", "scope": "*"}),
        )?;
        let project_exists = {
            let c = self.core.lock().map_err(|_| err("node lock poisoned"))?;
            let id = DEMO_PROJECT.to_owned().try_into().map_err(err)?;
            c.state().projects.contains_key(&id)
        };
        if project_exists {
            return self.commit().map(|()| true);
        }
        self.submit(
            "dev",
            "project.create",
            json!({"project_id": DEMO_PROJECT, "name": "北山街片区雨污管网改造工程", "budget": 120_000_000,
                   "parties": {"developer": self.id("dev")?, "contractor": self.id("con")?,
                               "supervisor": user, "operator": self.id("op")?},
                   "approvers": ["developer"]}),
        )?;
        self.commit()?;
        // A second project where the user is the contractor, to request
        // payments with a payroll.
        self.submit(
            "dev",
            "project.create",
            json!({"project_id": DEMO_CONTRACT, "name": "北山街片区道路修复工程", "budget": 200_000_000,
                   "parties": {"developer": self.id("dev")?, "contractor": user,
                               "supervisor": self.id("qian")?, "operator": self.id("op")?},
                   "approvers": ["developer"]}),
        )?;
        let worker = demo_worker;
        self.submit(
            "con",
            "payment.request",
            json!({"project_id": DEMO_PROJECT, "payment_id": "P-001", "amount": 38_000_000,
                   "purpose": "一期主管道铺设进度款", "milestone": "M1 主管道铺设完成",
                   "invoices": [Hash32::sha256(b"invoice-2026-118.pdf"), Hash32::sha256(b"invoice-2026-119.pdf")],
                   "payroll": [{"worker": worker("李建国"), "amount": 1_260_000},
                               {"worker": worker("周海涛"), "amount": 1_180_000},
                               {"worker": worker("吴晓梅"), "amount": 1_120_000}]}),
        )?;
        self.commit()?;
        Ok(true)
    }
}

/// The demo projects' payroll key (PROTOCOL.md §12.9: one key per project,
/// held by its parties; the demo derives it from a fixed label).
pub fn demo_payroll_key() -> IdentityKey {
    IdentityKey::from_bytes(Hash32::sha256(b"govchain demo payroll key").0)
}

/// A demo worker's synthetic PRC resident id number: Nansha's district
/// code, a birth date and sequence derived from the name, and a valid check
/// character.
fn demo_worker_id(name: &str) -> String {
    let h = Hash32::sha256(format!("worker:{name}").as_bytes()).0;
    let year = 1970 + u32::from(h[0]) % 30;
    let month = 1 + u32::from(h[1]) % 12;
    let day = 1 + u32::from(h[2]) % 28;
    let seq = (u32::from(h[3]) << 8 | u32::from(h[4])) % 1000;
    let first17 = format!("440115{year:04}{month:02}{day:02}{seq:03}");
    let mut digits = [0u8; 17];
    digits.copy_from_slice(first17.as_bytes());
    format!("{first17}{}", cn_rid_check_char(&digits))
}

/// A demo worker's identity hash, made as PROTOCOL.md §12.9 says (the id is
/// valid by construction, which a unit test checks, so the fallback to an
/// unkeyed digest is never taken).
fn demo_worker(name: &str) -> Hash32 {
    let id = demo_worker_id(name);
    identity_hash(&demo_payroll_key(), DocumentType::CnResidentId, &id)
        .unwrap_or_else(|_| Hash32::sha256(id.as_bytes()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod worker_tests {
    use super::*;

    #[test]
    fn demo_workers_are_valid_resident_ids_hashed_as_the_protocol_says() {
        for name in ["李建国", "周海涛", "吴晓梅", "1-a", "1-b"] {
            let id = demo_worker_id(name);
            let want = identity_hash(&demo_payroll_key(), DocumentType::CnResidentId, &id).unwrap();
            assert_eq!(demo_worker(name), want);
            assert!(id.starts_with("440115") && id.len() == 18);
        }
        assert_ne!(demo_worker("李建国"), demo_worker("周海涛"));
    }
}
