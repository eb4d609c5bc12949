//! Realistic demo data for a fictional Shanghai travel agency with branches.
//! Each business area adds its data here as it lands.

use anyhow::Context;
use chrono::NaiveDate;
use domain::calendar::DayKind;
use domain::ids::{RoleId, TeamId, UserId};
use domain::user::{Locale, Username};
use store::{Actor, Store};

/// The password of every demo account (shown by `keyuan demo`).
pub const DEMO_PASSWORD: &str = "Keyuan-Demo-2026";

/// What was loaded: (username, display name, role code, team name).
pub struct Loaded {
    /// Demo staff.
    pub staff: Vec<(String, String, String, String)>,
}

struct Person {
    username: &'static str,
    name: &'static str,
    role: &'static str,
    team: &'static str,
    phone: &'static str,
    locale: Locale,
}

const TEAMS: &[(&str, Option<&str>)] = &[
    ("总部", None),
    ("华东分公司", Some("总部")),
    ("上海销售一部", Some("华东分公司")),
    ("上海销售二部", Some("华东分公司")),
    ("华北分公司", Some("总部")),
    ("北京销售部", Some("华北分公司")),
    ("计调中心", Some("总部")),
    ("客服中心", Some("总部")),
    ("财务部", Some("总部")),
    ("酒店前台", Some("总部")),
];

const PEOPLE: &[Person] = &[
    Person {
        username: "admin", name: "陈静", role: "admin", team: "总部", phone: "13801000001", locale: Locale::ZhCn
    },
    Person {
        username: "wangjianguo",
        name: "王建国",
        role: "manager",
        team: "华东分公司",
        phone: "13801000002",
        locale: Locale::ZhCn,
    },
    Person {
        username: "zhaomin",
        name: "赵敏",
        role: "manager",
        team: "华北分公司",
        phone: "13801000003",
        locale: Locale::ZhCn,
    },
    Person {
        username: "lina",
        name: "李娜",
        role: "sales",
        team: "上海销售一部",
        phone: "13801000004",
        locale: Locale::ZhCn,
    },
    Person {
        username: "zhangwei",
        name: "张伟",
        role: "sales",
        team: "上海销售一部",
        phone: "13801000005",
        locale: Locale::ZhCn,
    },
    Person {
        username: "liuyang",
        name: "刘洋",
        role: "sales",
        team: "上海销售二部",
        phone: "13801000006",
        locale: Locale::ZhCn,
    },
    Person {
        username: "sunli",
        name: "孙丽",
        role: "sales",
        team: "北京销售部",
        phone: "13801000007",
        locale: Locale::ZhCn,
    },
    Person {
        username: "zhoujie",
        name: "周杰",
        role: "operator",
        team: "计调中心",
        phone: "13801000008",
        locale: Locale::ZhCn,
    },
    Person {
        username: "wufang",
        name: "吴芳",
        role: "service",
        team: "客服中心",
        phone: "13801000009",
        locale: Locale::ZhCn,
    },
    Person {
        username: "zhengjie",
        name: "郑洁",
        role: "finance",
        team: "财务部",
        phone: "13801000010",
        locale: Locale::ZhCn,
    },
    Person {
        username: "heping",
        name: "何平",
        role: "front_desk",
        team: "酒店前台",
        phone: "13801000011",
        locale: Locale::ZhCn,
    },
    Person {
        username: "emily",
        name: "Emily Chen",
        role: "sales",
        team: "上海销售二部",
        phone: "13801000012",
        locale: Locale::En,
    },
];

/// Manager of each team.
const MANAGERS: &[(&str, &str)] = &[("总部", "admin"), ("华东分公司", "wangjianguo"), ("华北分公司", "zhaomin")];

/// 2026 public holidays and adjusted working days as announced by the State
/// Council General Office (国务院办公厅关于2026年部分节假日安排的通知).
const HOLIDAYS_2026: &[(&str, &str, DayKind)] = &[
    ("2026-01-01", "元旦", DayKind::Holiday),
    ("2026-01-02", "元旦", DayKind::Holiday),
    ("2026-01-03", "元旦", DayKind::Holiday),
    ("2026-01-04", "元旦调休上班", DayKind::Workday),
    ("2026-02-14", "春节调休上班", DayKind::Workday),
    ("2026-02-15", "春节", DayKind::Holiday),
    ("2026-02-16", "春节", DayKind::Holiday),
    ("2026-02-17", "春节", DayKind::Holiday),
    ("2026-02-18", "春节", DayKind::Holiday),
    ("2026-02-19", "春节", DayKind::Holiday),
    ("2026-02-20", "春节", DayKind::Holiday),
    ("2026-02-21", "春节", DayKind::Holiday),
    ("2026-02-22", "春节", DayKind::Holiday),
    ("2026-02-23", "春节", DayKind::Holiday),
    ("2026-02-28", "春节调休上班", DayKind::Workday),
    ("2026-04-04", "清明节", DayKind::Holiday),
    ("2026-04-05", "清明节", DayKind::Holiday),
    ("2026-04-06", "清明节", DayKind::Holiday),
    ("2026-05-01", "劳动节", DayKind::Holiday),
    ("2026-05-02", "劳动节", DayKind::Holiday),
    ("2026-05-03", "劳动节", DayKind::Holiday),
    ("2026-05-04", "劳动节", DayKind::Holiday),
    ("2026-05-05", "劳动节", DayKind::Holiday),
    ("2026-05-09", "劳动节调休上班", DayKind::Workday),
    ("2026-06-19", "端午节", DayKind::Holiday),
    ("2026-06-20", "端午节", DayKind::Holiday),
    ("2026-06-21", "端午节", DayKind::Holiday),
    ("2026-09-20", "国庆节调休上班", DayKind::Workday),
    ("2026-09-25", "中秋节", DayKind::Holiday),
    ("2026-09-26", "中秋节", DayKind::Holiday),
    ("2026-09-27", "中秋节", DayKind::Holiday),
    ("2026-10-01", "国庆节", DayKind::Holiday),
    ("2026-10-02", "国庆节", DayKind::Holiday),
    ("2026-10-03", "国庆节", DayKind::Holiday),
    ("2026-10-04", "国庆节", DayKind::Holiday),
    ("2026-10-05", "国庆节", DayKind::Holiday),
    ("2026-10-06", "国庆节", DayKind::Holiday),
    ("2026-10-07", "国庆节", DayKind::Holiday),
    ("2026-10-10", "国庆节调休上班", DayKind::Workday),
];

/// Fills an empty database. Returns `None` (and changes nothing) when staff
/// accounts already exist, so real data is never mixed with demo data.
pub async fn fill(store: &Store) -> anyhow::Result<Option<Loaded>> {
    if store::users::count(store).await? > 0 {
        return Ok(None);
    }
    let actor = Actor::system("demo data");
    let hash = web::hash_password(DEMO_PASSWORD).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let mut tx = store.begin().await?;

    let mut team_ids: Vec<(&str, TeamId)> = Vec::new();
    for (name, parent) in TEAMS {
        let parent_id = parent.and_then(|p| team_ids.iter().find(|(n, _)| *n == p).map(|(_, id)| *id));
        let id = store::teams::create(&mut tx, &actor, name, parent_id, None).await?;
        team_ids.push((name, id));
    }
    let team = |name: &str| team_ids.iter().find(|(n, _)| *n == name).map(|(_, id)| *id);

    let roles = store::roles::list(store).await?;
    let role = |code: &str| -> anyhow::Result<RoleId> {
        roles.iter().find(|r| r.code == code).map(|r| r.id).with_context(|| format!("built-in role {code} missing"))
    };
    let mut user_ids: Vec<(&str, UserId)> = Vec::new();
    let mut staff = Vec::new();
    // The system creates the first administrator; she sets up everyone else.
    let mut actor = actor;
    for p in PEOPLE {
        let id = store::users::create(
            &mut tx,
            &actor,
            &store::users::NewUser {
                username: Username::parse(p.username).map_err(|e| anyhow::anyhow!("{e}"))?,
                display_name: p.name.to_string(),
                email: Some(format!("{}@demo-travel.cn", p.username)),
                phone: Some(p.phone.to_string()),
                role_id: role(p.role)?,
                team_id: team(p.team),
                locale: p.locale,
                password_hash: hash.clone(),
            },
        )
        .await?;
        user_ids.push((p.username, id));
        staff.push((p.username.to_string(), p.name.to_string(), p.role.to_string(), p.team.to_string()));
        if p.username == "admin" {
            actor = staff_actor(id, p.name, p.username, team(p.team));
        }
    }
    let all_teams = team_versions(&mut tx).await?;
    for (team_name, manager) in MANAGERS {
        let (Some(tid), Some(uid)) = (team(team_name), user_ids.iter().find(|(u, _)| u == manager).map(|(_, id)| *id))
        else {
            continue;
        };
        let (version, parent) =
            all_teams.iter().find(|(id, _, _)| *id == tid).map(|(_, v, p)| (*v, *p)).unwrap_or((1, None));
        store::teams::update(&mut tx, &actor, tid, version, team_name, parent, Some(uid)).await?;
    }

    let mut profile = store::settings::profile(store).await?;
    profile.name = "上海客源国际旅行社有限公司".into();
    profile.short_name = Some("客源旅行社".into());
    profile.license_no = Some("L-SH-CJ00999".into());
    profile.address = Some("上海市黄浦区南京东路 100 号 8 楼".into());
    profile.phone = Some("021-63210000".into());
    profile.email = Some("service@demo-travel.cn".into());
    profile.website = Some("https://www.demo-travel.cn".into());
    store::settings::update_profile(&mut tx, &actor, &profile).await?;
    for (day, name, kind) in HOLIDAYS_2026 {
        let d = NaiveDate::parse_from_str(day, "%Y-%m-%d")?;
        store::settings::add_holiday(&mut tx, &actor, d, name, *kind).await?;
    }
    // A few everyday changes by staff, so team-scoped views of the audit
    // trail have something to show.
    for (username, new_phone) in [("lina", "13911110004"), ("liuyang", "13911110006"), ("sunli", "13911110007")] {
        let Some(&(_, id)) = user_ids.iter().find(|(u, _)| *u == username) else { continue };
        let u = store::users::get_in(&mut tx, id).await?;
        let mut ch = store::users::Changes::from(&u);
        ch.phone = Some(new_phone.to_string());
        let who = staff_actor(id, &u.display_name, &u.username, u.team_id);
        store::users::update(&mut tx, &who, id, u.version, &ch).await?;
    }
    tx.commit().await?;
    Ok(Some(Loaded { staff }))
}

fn staff_actor(id: UserId, name: &str, username: &str, team: Option<TeamId>) -> Actor {
    Actor { user_id: Some(id), name: format!("{name} ({username})"), team_id: team, ip: None, request_id: None }
}

/// Versions and parents of every team, read inside the demo transaction.
async fn team_versions(tx: &mut store::Tx) -> anyhow::Result<Vec<(TeamId, i64, Option<TeamId>)>> {
    Ok(store::teams::list_in(tx).await?.into_iter().map(|t| (t.id, t.version, t.parent_id)).collect())
}

/// Tells the person at the terminal how to log in.
pub fn print_instructions(loaded: Option<&Loaded>) {
    match loaded {
        None => println!("The database already has staff accounts; demo data was not loaded."),
        Some(l) => {
            println!("Demo data loaded. Every demo account's password is: {DEMO_PASSWORD}");
            println!("{:<14} {:<12} {:<11} team", "username", "name", "role");
            for (u, n, r, t) in &l.staff {
                println!("{u:<14} {n:<12} {r:<11} {t}");
            }
            println!("Log in as admin to see everything, or as lina (sales) to see a salesperson's view.");
        }
    }
}
