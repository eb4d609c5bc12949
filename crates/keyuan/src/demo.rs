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
    add_customers(&mut tx, store, &user_ids).await?;
    let today = store::customer_import::today_in_china();
    store::demo::fill_business(&mut tx, today).await?;
    tx.commit().await?;
    add_quotes(store, &user_ids, today).await?;
    // Two evaluations a quarter apart, so grades, their movements, the
    // P(alive) history, alerts and the call list have something to show.
    let evaluator = Actor::system("demo data");
    for as_of in [today - chrono::Duration::days(91), today] {
        store::value::evaluate(store, &evaluator, as_of, store::value::Trigger::Cli, &|_: &str| {}).await?;
    }
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

// ---------------------------------------------------------------------------
// Customers

/// Given names with the gender they usually go with.
const GIVEN: &[(&str, &str)] = &[
    ("秀英", "female"),
    ("建华", "male"),
    ("晓燕", "female"),
    ("志强", "male"),
    ("海燕", "female"),
    ("国庆", "male"),
    ("雨桐", "female"),
    ("俊杰", "male"),
    ("婷婷", "female"),
    ("博文", "male"),
    ("春梅", "female"),
    ("立新", "male"),
    ("欣怡", "female"),
    ("浩然", "male"),
    ("丽华", "female"),
    ("文斌", "male"),
    ("佳琪", "female"),
    ("子轩", "male"),
    ("淑珍", "female"),
    ("振宇", "male"),
];

const SURNAMES: &[&str] = &[
    "王", "李", "张", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林", "罗",
    "梁", "谢", "宋", "唐", "韩", "冯", "邓", "曹", "曾", "彭", "萧",
];

/// (province, city, district, ID card region code).
const PLACES: &[(&str, &str, &str, &str)] = &[
    ("上海", "上海", "浦东新区", "310115"),
    ("上海", "上海", "徐汇区", "310104"),
    ("浙江", "杭州", "西湖区", "330106"),
    ("江苏", "南京", "鼓楼区", "320106"),
    ("江苏", "苏州", "姑苏区", "320508"),
    ("北京", "北京", "朝阳区", "110105"),
    ("北京", "北京", "海淀区", "110108"),
    ("广东", "广州", "天河区", "440106"),
    ("四川", "成都", "武侯区", "510107"),
    ("湖北", "武汉", "江汉区", "420103"),
];

const EMPLOYERS: &[(&str, &str)] = &[
    ("上海申华电气有限公司", "工程师"),
    ("华东师范大学", "教师"),
    ("浦江证券营业部", "客户经理"),
    ("杭州西溪科技有限公司", "产品经理"),
    ("南京金陵制药有限公司", "财务主管"),
    ("北京华夏建工集团", "项目经理"),
];

const TAGS: &[&str] = &["VIP", "亲子", "老年团", "摄影爱好者", "海岛", "蜜月", "自由行", "商务"];
const DIETS: &[&str] = &["素食", "不吃辣", "清真", "海鲜过敏"];
const ROOMS: &[&str] = &["无羽毛枕头", "高楼层", "无烟房", "双床"];
const SEATS: &[&str] = &["靠窗", "过道"];
const HOBBIES: &[&str] = &["摄影", "徒步", "高尔夫", "美食", "书法"];
const DESTINATIONS: &[(&str, &str)] = &[
    ("云南", "2027年春节"),
    ("三亚", "寒假"),
    ("日本", "2027年4月赏樱"),
    ("桂林", "国庆"),
    ("新疆", "2027年暑假"),
    ("泰国", "2027年元旦"),
    ("张家界", "2027年5月"),
    ("欧洲", "2027年秋天"),
];
const SALES: &[&str] = &["lina", "zhangwei", "liuyang", "sunli", "emily"];

/// (name, industry, province, city, contacts: (name, role, title, mobile)).
type Org =
    (&'static str, &'static str, &'static str, &'static str, &'static [(&'static str, &'static str, &'static str)]);
const ORGANIZATIONS: &[Org] = &[
    (
        "上海申华电气有限公司",
        "制造业",
        "上海",
        "上海",
        &[("钱卫东", "union_chair", "工会主席"), ("沈佳", "office_director", "办公室主任")],
    ),
    (
        "杭州西溪科技有限公司",
        "互联网",
        "浙江",
        "杭州",
        &[("陆一鸣", "hr", "人事经理"), ("顾晓婷", "secretary", "总经理秘书")],
    ),
    ("南京金陵制药有限公司", "医药", "江苏", "南京", &[("蒋国强", "union_chair", "工会主席")]),
    (
        "苏州星海实验中学",
        "教育",
        "江苏",
        "苏州",
        &[("沈美华", "office_director", "办公室主任"), ("吕志远", "union_chair", "工会主席")],
    ),
    ("北京华夏建工集团", "建筑", "北京", "北京", &[("邵建军", "office_director", "办公室主任")]),
    (
        "浦江证券上海营业部",
        "金融",
        "上海",
        "上海",
        &[("范思琪", "office_director", "综合部主任"), ("方振华", "general_manager", "总经理")],
    ),
    ("广州珠江医院", "医疗", "广东", "广州", &[("梁淑仪", "union_chair", "工会主席")]),
    ("深圳蓝海物流有限公司", "物流", "广东", "深圳", &[("任浩", "hr", "行政人事总监"), ("袁丽", "secretary", "秘书")]),
];

/// (name, partner type, province, city, licence, contact name, contact title).
const PARTNERS: &[(&str, &str, &str, &str, &str, &str, &str)] = &[
    ("桂林漓江国际旅行社", "ground_handler", "广西", "桂林", "L-GX-CJ00128", "莫小兰", "计调经理"),
    ("西安古都旅行社", "ground_handler", "陕西", "西安", "L-SNX-00376", "贺建民", "地接部经理"),
    ("昆明彩云之南旅行社", "ground_handler", "云南", "昆明", "L-YN-CJ00219", "段丽", "计调"),
    ("北京环球国际旅行社", "upstream_agency", "北京", "北京", "L-BJ-CJ00451", "白雪", "同业销售总监"),
    ("上海悠途旅游咨询有限公司", "agent", "上海", "上海", "L-SH-00892", "孔令辉", "合伙人"),
];

/// A fixed instant in Shanghai time (the demo is the same on every run).
fn shanghai(date: &str, hour: u32) -> i64 {
    let offset = chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8");
    NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(hour, 0, 0))
        .and_then(|t| t.and_local_timezone(offset).single())
        .map(|t| t.timestamp_millis())
        .unwrap_or_default()
}

/// An ID card number with its check digit, found by the domain's own check.
fn id_card(region: &str, birthday: NaiveDate, seq: u32, male: bool) -> Option<domain::customer::IdCardNo> {
    let seq = if (seq % 2 == 1) == male { seq } else { seq + 1 } % 1000;
    let first17 = format!("{region}{}{seq:03}", birthday.format("%Y%m%d"));
    let far = NaiveDate::from_ymd_opt(2100, 1, 1)?;
    "0123456789X".chars().find_map(|c| domain::customer::IdCardNo::parse("id_card", &format!("{first17}{c}"), far).ok())
}

fn empty_draft(kind: &str, name: &str, owner: UserId) -> store::customers::Draft {
    store::customers::Draft::new(kind, name, owner)
}

/// (channel, direction, department, staff username, summary).
type Touch = (&'static str, &'static str, &'static str, Option<&'static str>, &'static str);
const TOUCHES: &[Touch] = &[
    ("phone", "outbound", "sales", None, "电话回访，询问春节出游计划，客户对云南线路感兴趣"),
    ("wechat", "inbound", "sales", None, "微信咨询三亚亲子游报价，已发送行程"),
    ("face_to_face", "inbound", "sales", None, "到店面谈，带回日本赏樱行程单"),
    ("call_centre", "inbound", "service", Some("wufang"), "来电询问签证材料，已告知所需清单"),
    ("phone", "outbound", "service", Some("wufang"), "出游后回访，对导游服务满意"),
    ("face_to_face", "inbound", "front_desk", Some("heping"), "入住登记，提出需要无羽毛枕头"),
    ("face_to_face", "inbound", "food_beverage", Some("heping"), "早餐时说明不吃辣"),
    ("email", "outbound", "operations", Some("zhoujie"), "发送出团通知书和集合时间"),
    ("sms", "outbound", "sales", None, "生日祝福短信"),
];

/// About 60 individuals, 8 organizations with their contact persons and 5
/// trade partners, owned by the demo salespeople, with travel intentions and
/// interactions from several departments. Deterministic: every run gives the
/// same customers.
async fn add_customers(tx: &mut store::Tx, store: &Store, users: &[(&str, UserId)]) -> anyhow::Result<()> {
    let mut actors = std::collections::HashMap::new();
    for (username, id) in users {
        let u = store::users::get_in(tx, *id).await?;
        actors.insert(*username, staff_actor(*id, &u.display_name, username, u.team_id));
    }
    let who = |username: &str| actors.get(username).cloned().with_context(|| format!("demo user {username}"));
    let id_of = |username: &str| {
        users.iter().find(|(u, _)| *u == username).map(|(_, id)| *id).with_context(|| format!("demo user {username}"))
    };
    let sources = domain::customer::SourceChannel::ALL;
    let stages = ["potential", "opportunity", "repeat", "loyal", "potential", "opportunity", "churned"];
    let mut touched = 0usize;

    for i in 0..60usize {
        let (given, gender) = GIVEN[(i * 7) % GIVEN.len()];
        let name = format!("{}{given}", SURNAMES[i % SURNAMES.len()]);
        let owner_name = SALES[i % SALES.len()];
        let owner = id_of(owner_name)?;
        let actor = who(owner_name)?;
        let (province, city, district, region) = PLACES[(i * 3) % PLACES.len()];
        let birthday =
            NaiveDate::from_ymd_opt(1955 + (i * 7 % 45) as i32, (i * 5 % 12) as u32 + 1, (i * 11 % 28) as u32 + 1)
                .context("demo birthday")?;
        let mut d = empty_draft("individual", &name, owner);
        d.gender = Some(gender.into());
        d.birthday = Some(birthday.to_string());
        if i % 9 == 4 {
            d.lunar_birthday = Some(["八月十五", "正月初八", "腊月二十"][i % 3].into());
        }
        d.mobile = Some(format!(
            "1{}{}{:08}",
            [3, 5, 8, 9, 7][i % 5],
            i % 10,
            (i as u64 * 7_654_321 + 12_345_678) % 100_000_000
        ));
        if i % 8 == 3 {
            d.mobile2 = Some(format!("139{:08}", 20_000_000 + i * 1_111));
        }
        if i % 4 == 0 {
            d.email = Some(format!("{}@example.cn", domain::customer::to_pinyin(&name).0));
        }
        if i % 3 != 2 {
            d.wechat = Some(format!("wx_{}{}", domain::customer::to_pinyin(&name).1, 1980 + i));
        }
        d.province = Some(province.into());
        d.city = Some(city.into());
        d.district = Some(district.into());
        if i % 5 == 0 {
            d.address = Some(format!("{district}{}路{}号", ["世纪大道", "文三", "中山北", "建国"][i % 4], 10 + i));
        }
        if i % 2 == 0 {
            let (employer, title) = EMPLOYERS[i % EMPLOYERS.len()];
            d.employer = Some(employer.into());
            d.title = Some(title.into());
        }
        if i % 6 == 0 {
            if let Some(id) = id_card(region, birthday, 100 + i as u32 * 3, gender == "male") {
                d.id_card_masked = Some(id.masked());
                d.id_card = store::customers::Sealed::Set(id.as_str().to_string());
            }
        }
        if i % 7 == 0 {
            let number = format!("E{:08}", 10_000_000 + i * 97_531);
            let p = domain::customer::PassportNo::parse("passport", &number).map_err(|e| anyhow::anyhow!("{e}"))?;
            d.passport_masked = Some(p.masked());
            d.passport = store::customers::Sealed::Set(p.as_str().to_string());
            d.passport_expiry = Some(["2027-02-10", "2025-12-01", "2031-06-30", "2029-09-15"][i % 4].into());
        }
        if i % 5 == 1 {
            d.diet = Some(DIETS[i % DIETS.len()].into());
        }
        if i % 4 == 2 {
            d.room_pref = Some(ROOMS[i % ROOMS.len()].into());
        }
        if i % 6 == 3 {
            d.seat_pref = Some(SEATS[i % SEATS.len()].into());
        }
        if i % 3 == 1 {
            d.hobbies = Some(HOBBIES[i % HOBBIES.len()].into());
        }
        let source = sources[i % sources.len()];
        d.source = Some(source.code().into());
        d.source_detail = match source.code() {
            "newspaper_ad" => Some("新民晚报旅游版".into()),
            "referral" => Some(format!("老客户{}介绍", SURNAMES[(i + 5) % SURNAMES.len()])),
            "campaign" => Some("2026 秋季旅游博览会".into()),
            _ => None,
        };
        d.consent =
            store::customers::Consent { email: i % 2 == 0, sms: i % 3 != 0, wechat: i % 5 != 4, phone: i % 4 == 0 };
        d.stage = stages[i % stages.len()].into();
        d.grade = match i % 10 {
            0 | 7 => Some("A".into()),
            1 | 4 | 8 => Some("B".into()),
            2 | 5 => Some("C".into()),
            3 => Some("D".into()),
            _ => None,
        };
        d.tags = [TAGS[i % TAGS.len()], TAGS[(i * 3 + 1) % TAGS.len()]]
            .iter()
            .take(1 + i % 2)
            .map(|t| t.to_string())
            .collect();
        d.tags.dedup();
        let c = store::customers::create(tx, store, &actor, &d, None).await?;

        if i % 3 == 0 {
            let (destination, period) = DESTINATIONS[i % DESTINATIONS.len()];
            let intention = store::customers::IntentionDraft {
                destination: destination.into(),
                period: Some(period.into()),
                budget_fen: Some(((5 + i % 6) * 200_000) as i64),
                party_size: Some((1 + i % 4) as i64),
                status: ["open", "open", "booked", "dropped"][i % 4].into(),
                notes: (i % 2 == 0).then(|| "希望住得舒适一些".to_string()),
            };
            store::customers::add_intention(tx, &actor, &c, &intention).await?;
        }
        for k in 0..(1 + i % 3) {
            let (channel, direction, department, staff, summary) = TOUCHES[touched % TOUCHES.len()];
            touched += 1;
            let staff_name = staff.unwrap_or(owner_name);
            let day = 1 + (i * 2 + k * 9) % 28;
            let month = [9, 10, 11][(i + k) % 3];
            let day = if month == 11 { day.min(20) } else { day };
            let interaction = store::customers::InteractionDraft {
                channel: channel.into(),
                direction: direction.into(),
                department: department.into(),
                summary: summary.into(),
                occurred_at: shanghai(&format!("2026-{month:02}-{day:02}"), 9 + (i % 8) as u32),
                staff_id: Some(id_of(staff_name)?),
            };
            store::customers::add_interaction(tx, &who(staff_name)?, &c, &interaction).await?;
        }
    }

    for (i, (name, industry, province, city, contacts)) in ORGANIZATIONS.iter().enumerate() {
        let owner_name = SALES[(i + 2) % SALES.len()];
        let actor = who(owner_name)?;
        let mut d = empty_draft("organization", name, id_of(owner_name)?);
        d.industry = Some(industry.to_string());
        d.province = Some(province.to_string());
        d.city = Some(city.to_string());
        d.landline =
            Some(format!("0{}-{}", ["21", "571", "25", "512", "10", "21", "20", "755"][i], 62_345_600 + i * 17));
        d.source = Some(["referral", "campaign", "website", "walk_in"][i % 4].into());
        d.stage = ["opportunity", "repeat", "loyal", "potential"][i % 4].into();
        d.grade = Some(["A", "B", "A", "C"][i % 4].into());
        d.tags = vec!["团建".into(), ["年度疗休养", "奖励旅游", "会议会展"][i % 3].into()];
        d.consent = store::customers::Consent { email: true, sms: false, wechat: true, phone: true };
        let c = store::customers::create(tx, store, &actor, &d, None).await?;
        for (k, (person, role, title)) in contacts.iter().enumerate() {
            let contact = store::customers::ContactDraft {
                name: person.to_string(),
                role: role.to_string(),
                title: Some(title.to_string()),
                mobile: Some(format!("136{:08}", 31_000_000 + i * 1_000 + k)),
                is_primary: k == 0,
                ..Default::default()
            };
            store::customers::add_contact(tx, &actor, &c, &contact).await?;
        }
        let intention = store::customers::IntentionDraft {
            destination: ["黄山", "千岛湖", "厦门", "云南"][i % 4].into(),
            period: Some("2027年工会疗休养".into()),
            budget_fen: Some(((40 + i * 10) * 1_000_000) as i64),
            party_size: Some((30 + i * 15) as i64),
            status: "open".into(),
            notes: None,
        };
        store::customers::add_intention(tx, &actor, &c, &intention).await?;
        let touch = store::customers::InteractionDraft {
            channel: "face_to_face".into(),
            direction: "outbound".into(),
            department: "sales".into(),
            summary: format!("拜访{}，沟通明年团建方案", contacts[0].0),
            occurred_at: shanghai(&format!("2026-10-{:02}", 10 + i), 14),
            staff_id: Some(id_of(owner_name)?),
        };
        store::customers::add_interaction(tx, &actor, &c, &touch).await?;
    }

    for (i, (name, kind, province, city, licence, person, title)) in PARTNERS.iter().enumerate() {
        let owner_name = SALES[(i + 1) % SALES.len()];
        let actor = who(owner_name)?;
        let mut d = empty_draft("partner", name, id_of(owner_name)?);
        d.partner_type = Some(kind.to_string());
        d.license_no = Some(licence.to_string());
        d.province = Some(province.to_string());
        d.city = Some(city.to_string());
        d.source = Some("partner".into());
        d.stage = "repeat".into();
        d.tags = vec!["同业合作".into()];
        let c = store::customers::create(tx, store, &actor, &d, None).await?;
        let contact = store::customers::ContactDraft {
            name: person.to_string(),
            role: "other".into(),
            title: Some(title.to_string()),
            mobile: Some(format!("137{:08}", 52_000_000 + i * 313)),
            is_primary: true,
            ..Default::default()
        };
        store::customers::add_contact(tx, &actor, &c, &contact).await?;
        let touch = store::customers::InteractionDraft {
            channel: "phone".into(),
            direction: "outbound".into(),
            department: "operations".into(),
            summary: format!("与{person}确认明年合作价格和接待标准"),
            occurred_at: shanghai(&format!("2026-11-{:02}", 2 + i), 10),
            staff_id: Some(id_of("zhoujie")?),
        };
        store::customers::add_interaction(tx, &who("zhoujie")?, &c, &touch).await?;
    }
    Ok(())
}

/// Quotes for the opportunities being negotiated: a first offer, then a
/// second version with a discount, sent to the customer.
async fn add_quotes(store: &Store, users: &[(&str, UserId)], today: NaiveDate) -> anyhow::Result<()> {
    use domain::money::{BasisPoints, Money};
    use domain::travel::opportunity::OpportunityStage;
    use domain::travel::quote::{Discount, Extra, QuoteLine, QuoteLineKind, QuoteStatus};
    use domain::travel::Party;
    use store::opportunities::{self, Filter};
    use store::quotes::{self, Content, Draft};
    let everyone =
        store::visibility::Visibility { scope: domain::access::Scope::All, user_id: UserId(0), teams: Vec::new() };
    let mut tx = store.begin().await?;
    for stage in [OpportunityStage::Quoted, OpportunityStage::Negotiating] {
        let filter = Filter { stage: Some(stage), limit: 100, ..Filter::default() };
        let page = opportunities::list(store, &everyone, &filter).await?;
        for o in page.items {
            let Some(&(username, owner)) = users.iter().find(|(_, id)| *id == o.owner_id) else { continue };
            let who = staff_actor(owner, username, username, o.team_id);
            let party = Party::new(o.adults.max(1), o.children).map_err(|e| anyhow::anyhow!("{e}"))?;
            let fare = |adult: i64, child: i64, discount: Discount| QuoteLine {
                key: 0,
                kind: QuoteLineKind::Product,
                description: format!("{}（{}成人 {}儿童）", o.title, party.adults(), party.children()),
                party,
                adult_price: Money(adult),
                child_price: Money(child),
                discount,
                extras: vec![Extra {
                    description: "旅游意外险".into(),
                    amount: Money(2_000 * i64::from(party.total())),
                }],
            };
            let content = Content {
                title: o.title.clone(),
                valid_until: today + chrono::Duration::days(14),
                notes: Some("价格含往返机票、酒店及行程所列景点首道门票。".into()),
                lines: vec![fare(459_900, 359_900, Discount::None)],
            };
            let d = Draft { customer_id: o.customer_id, opportunity_id: Some(o.id), content: content.clone() };
            let q = quotes::create(&mut tx, &who, &everyone, &everyone, &d, today).await?;
            // The same line (key 1, the first line's), now with 5 % off.
            let mut second = content;
            let rate = BasisPoints::new(500).unwrap_or(BasisPoints::FULL);
            second.lines = vec![QuoteLine { key: 1, ..fare(459_900, 359_900, Discount::Percent(rate)) }];
            let q = quotes::revise(&mut tx, &who, &everyone, q.id, q.version, &second, today).await?;
            quotes::set_status(&mut tx, &who, &everyone, q.id, q.version, QuoteStatus::Sent, today).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}
