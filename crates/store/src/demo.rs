//! Demo data of the travel business, written straight into the tables (the
//! command line's `demo` makes staff and customers through the store's own
//! functions first): the demo agency's year of business: products, a departure of each tour
//! every month from a year ago to three months ahead, the orders booked on
//! them (and direct orders, tickets and hotel stays), the receipts, refunds
//! and a few overdue balances, and open opportunities.
//!
//! Dates are relative to today in Shanghai, so the statements of this month
//! and the aging of receivables always have something to show; the choices
//! come from a fixed seed, so every run tells the same story.

use crate::Tx;
use chrono::{Datelike, Duration, NaiveDate};
use domain::money::Money;

/// (code, name, type, country, region, city, days, adult, child, cost) in 分.
type ProductRow =
    (&'static str, &'static str, &'static str, &'static str, &'static str, &'static str, i64, i64, i64, i64);

const PRODUCTS: &[ProductRow] = &[
    ("SY5D", "三亚五日亲子游", "long_haul", "中国", "海南", "三亚", 5, 399_900, 299_900, 280_000),
    ("YN6D", "云南昆明大理丽江六日游", "long_haul", "中国", "云南", "丽江", 6, 459_900, 359_900, 320_000),
    ("JP6D", "日本本州经典六日游", "international", "日本", "", "东京", 6, 899_900, 799_900, 650_000),
    ("TH5D", "泰国曼谷芭提雅五日游", "international", "泰国", "", "曼谷", 5, 459_900, 399_900, 330_000),
    ("ZJ2D", "舟山普陀山二日游", "nearby", "中国", "浙江", "舟山", 2, 89_900, 69_900, 62_000),
    ("HZ1D", "杭州西湖一日游", "day_trip", "中国", "浙江", "杭州", 1, 29_900, 19_900, 18_000),
    ("CUST", "私人定制游", "custom", "中国", "", "", 1, 0, 0, 0),
    ("SYHT", "三亚湾大酒店海景房", "hotel_stay", "中国", "海南", "三亚", 1, 98_000, 0, 70_000),
    ("SHDS", "上海迪士尼乐园门票", "ticket", "中国", "上海", "上海", 1, 59_900, 44_900, 52_000),
];

/// Tours with a departure every month (code, capacity).
const TOURS: &[(&str, i64)] = &[("SY5D", 30), ("YN6D", 30), ("JP6D", 20), ("TH5D", 25), ("ZJ2D", 40)];

const METHODS: &[&str] = &["wechat_pay", "alipay", "bank_transfer", "card", "cash"];
const SOURCES: &[&str] = &["referral", "wechat", "walk_in", "website", "partner", "campaign"];

/// A small deterministic stream (SplitMix64), so the demo is the same on every run.
struct Seed(u64);

impl Seed {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// Midnight-plus-`hour` of a date in Shanghai, epoch milliseconds.
fn at(date: NaiveDate, hour: u32) -> i64 {
    date.and_hms_opt(hour, 0, 0).map(|t| t.and_utc().timestamp_millis() - 8 * 3_600_000).unwrap_or_default()
}

struct Buyer {
    id: i64,
    owner: i64,
    team: Option<i64>,
}

struct Ctx {
    today: NaiveDate,
    seed: Seed,
    buyers: Vec<Buyer>,
    orders: usize,
    /// Orders each buyer has placed so far.
    placed: Vec<u32>,
}

impl Ctx {
    /// Who places an order made on `day`. Customer bases are uneven, and the
    /// value engine needs that to have something to say: a few regulars
    /// travel often (picks lean towards the front of the list), one in three
    /// of the others has travelled with us once, and one in five stopped
    /// booking about ten months ago.
    fn buyer_for(&mut self, day: NaiveDate) -> usize {
        let n = self.buyers.len();
        let mut b = 0;
        for _ in 0..50 {
            let u = self.seed.below(10_000) as f64 / 10_000.0;
            b = ((u * u * n as f64) as usize).min(n - 1);
            let lapsed = b % 5 == 4 && day > self.today - Duration::days(300);
            let once = b % 3 == 2 && b >= 6 && self.placed[b] >= 1;
            // Even the busiest regular books a few times a month at most.
            let busy = self.placed[b] >= 36;
            if !lapsed && !once && !busy {
                break;
            }
        }
        self.placed[b] += 1;
        b
    }
}

/// Loads the year of business (inside the demo's transaction).
pub async fn fill_business(tx: &mut Tx, today: NaiveDate) -> crate::Result<()> {
    let rows: Vec<(i64, i64, Option<i64>)> =
        sqlx::query_as("SELECT id, owner_id, team_id FROM customers WHERE kind = 'individual' ORDER BY id")
            .fetch_all(&mut ***tx)
            .await?;
    let buyers = rows.into_iter().map(|(id, owner, team)| Buyer { id, owner, team }).collect::<Vec<_>>();
    if buyers.len() < 5 {
        return Ok(());
    }
    let placed = vec![0; buyers.len()];
    let mut ctx = Ctx { today, seed: Seed(2026), buyers, orders: 0, placed };
    let mut products = Vec::new();
    for (code, name, kind, country, region, city, days, adult, child, cost) in PRODUCTS {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO products (code, name, name_pinyin, product_type, country, region, city, destination, days, \
             adult_price, child_price, cost_price, inclusions, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) RETURNING id",
        )
        .bind(*code)
        .bind(*name)
        .bind(domain::customer::to_pinyin(name).0)
        .bind(*kind)
        .bind(*country)
        .bind(Some(*region).filter(|r| !r.is_empty()))
        .bind(Some(*city).filter(|c| !c.is_empty()))
        .bind(Some(*city).filter(|c| !c.is_empty()))
        .bind(*days)
        .bind(*adult)
        .bind(*child)
        .bind(*cost)
        .bind("往返交通、行程所列住宿与门票、导游服务、旅游意外险")
        .bind(at(today - Duration::days(400), 9))
        .fetch_one(&mut ***tx)
        .await?;
        products.push((*code, id));
    }
    let product = |code: &str| products.iter().find(|(c, _)| *c == code).map(|(_, id)| *id).unwrap_or_default();

    // A departure of each tour in every month from a year ago to three
    // months ahead, on the 8th or the 22nd.
    let first = NaiveDate::from_ymd_opt(today.year() - 1, today.month(), 1).unwrap_or(today);
    for month in 0..16 {
        let start = first.checked_add_months(chrono::Months::new(month)).unwrap_or(first);
        for (i, (code, capacity)) in TOURS.iter().enumerate() {
            let (.., days, adult, child, _) = PRODUCTS.iter().find(|p| p.0 == *code).copied().unwrap_or(PRODUCTS[0]);
            let day = if i % 2 == 0 { 8 } else { 22 };
            let out = start.with_day(day).unwrap_or(start);
            let back = out + Duration::days(days - 1);
            departure(tx, &mut ctx, product(code), code, out, back, *capacity, adult, child).await?;
        }
    }
    // Direct business: custom trips, tickets and hotel stays.
    for n in 0..36 {
        let date = today - Duration::days(5 + (n * 10) as i64);
        let b = ctx.buyer_for(date);
        match n % 3 {
            0 => {
                let amount = 1_200_000 + (ctx.seed.below(60) as i64) * 50_000;
                let dest = ["新疆", "西藏", "欧洲", "北欧"][n % 4];
                direct(tx, &mut ctx, b, product("CUST"), "custom", dest, date, date + Duration::days(30), 2, 0, amount)
                    .await?;
            }
            1 => {
                let (a, c) = (2, ctx.seed.below(3) as i64);
                let amount = a * 59_900 + c * 44_900;
                direct(
                    tx,
                    &mut ctx,
                    b,
                    product("SHDS"),
                    "ticket",
                    "上海迪士尼",
                    date,
                    date + Duration::days(7),
                    a,
                    c,
                    amount,
                )
                .await?;
            }
            _ => hotel_stay(tx, &mut ctx, b, product("SYHT"), date).await?,
        }
    }
    // Open opportunities, and some closed ones.
    let stages = ["new", "qualified", "quoted", "negotiating", "won", "lost"];
    let wishes = [("三亚", "long_haul"), ("日本", "international"), ("云南", "long_haul"), ("泰国", "international")];
    for n in 0..18usize {
        let b = &ctx.buyers[(n * 7 + 3) % ctx.buyers.len()];
        let stage = stages[n % stages.len()];
        let (dest, kind) = wishes[n % wishes.len()];
        let created = today - Duration::days(3 + (n as i64) * 4);
        sqlx::query(
            "INSERT INTO opportunities (customer_id, title, product_type, destination, adults, children, budget, \
             expected_value, close_date, stage, lost_reason, source, owner_id, team_id, closed_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16)",
        )
        .bind(b.id)
        .bind(format!("{dest}{}", ["家庭游", "蜜月", "公司团建", "亲子游"][n % 4]))
        .bind(kind)
        .bind(dest)
        .bind(2 + (n % 3) as i64)
        .bind((n % 2) as i64)
        .bind(1_000_000 + (n as i64) * 100_000)
        .bind(900_000 + (n as i64) * 120_000)
        .bind((today + Duration::days(10 + n as i64 * 3)).to_string())
        .bind(stage)
        .bind((stage == "lost").then_some("预算不够，选择了更便宜的同行产品"))
        .bind(SOURCES[n % SOURCES.len()])
        .bind(b.owner)
        .bind(b.team)
        .bind(matches!(stage, "won" | "lost").then(|| at(created + Duration::days(2), 15)))
        .bind(at(created, 10))
        .execute(&mut ***tx)
        .await?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn departure(
    tx: &mut Tx,
    ctx: &mut Ctx,
    product_id: i64,
    code: &str,
    out: NaiveDate,
    back: NaiveDate,
    capacity: i64,
    adult: i64,
    child: i64,
) -> crate::Result<()> {
    let today = ctx.today;
    let status = if back < today {
        "returned"
    } else if out <= today {
        "departed"
    } else {
        "open"
    };
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO departures (code, product_id, departure_date, return_date, leader_name, guide_name, capacity, \
         booked, adult_price, child_price, status, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9, $10, $11, $11) RETURNING id",
    )
    .bind(format!("{code}-{}", out.format("%Y%m%d")))
    .bind(product_id)
    .bind(out.to_string())
    .bind(back.to_string())
    .bind(["陈晓", "王磊", "刘芳"][(out.month() as usize) % 3])
    .bind(["阿香", "小李", "Kenji", "Somchai"][(out.day() as usize) % 4])
    .bind(capacity)
    .bind(adult)
    .bind(child)
    .bind(status)
    .bind(at(out - Duration::days(90), 9))
    .fetch_one(&mut ***tx)
    .await?;
    // Far-off departures are still filling up; one a year sells out.
    let ahead = (out - today).num_days();
    let mut wanted = if ahead > 60 {
        capacity / 5
    } else if ahead > 0 {
        capacity / 2
    } else {
        capacity * 3 / 4
    };
    if out.month() == 2 && code == "SY5D" {
        wanted = capacity;
    }
    let mut booked = 0;
    while booked < wanted {
        let party = (1 + ctx.seed.below(4) as i64).min(wanted - booked).min(capacity - booked);
        if party == 0 {
            break;
        }
        let ordered = out - Duration::days(10 + ctx.seed.below(60) as i64);
        if ordered > today {
            break;
        }
        let b = ctx.buyer_for(ordered);
        let children = if party > 2 { party - 2 } else { 0 };
        let adults = party - children;
        let amount = adults * adult + children * child;
        let cancelled = ctx.seed.chance(5);
        let status = if cancelled {
            "cancelled"
        } else if back < today {
            "completed"
        } else if out <= today {
            "travelling"
        } else if ctx.seed.chance(70) {
            "confirmed"
        } else {
            "pending"
        };
        let order = insert_order(
            tx,
            ctx,
            OrderRow {
                buyer: b,
                product_id,
                departure_id: Some(id),
                product_type: PRODUCTS.iter().find(|p| p.0 == code).map(|p| p.2).unwrap_or("long_haul"),
                destination: PRODUCTS.iter().find(|p| p.0 == code).map(|p| p.5).unwrap_or(""),
                ordered,
                travel: out,
                back,
                adults,
                children,
                amount,
                due: out - Duration::days(7),
                status,
            },
        )
        .await?;
        // The buyer travels, with other customers of the agency as companions.
        for n in 0..party {
            let who = if n == 0 { b } else { ctx.seed.below(ctx.buyers.len() as u64) as usize };
            sqlx::query(
                "INSERT INTO order_travellers (order_id, departure_id, customer_id, is_child, room, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $6)",
            )
            .bind(order)
            .bind(id)
            .bind(ctx.buyers[who].id)
            .bind(i64::from(n >= adults))
            .bind(format!("{}", 801 + booked / 2 + n / 2))
            .bind(at(ordered, 11))
            .execute(&mut ***tx)
            .await?;
        }
        pay(tx, ctx, order, b, amount, ordered, out - Duration::days(7), status).await?;
        if !cancelled {
            booked += party;
        }
    }
    if booked > 0 {
        let full = booked == capacity && out > today;
        sqlx::query(
            "UPDATE departures SET booked = $1, status = CASE WHEN $2 = 1 THEN 'full' ELSE status END WHERE id = $3",
        )
        .bind(booked)
        .bind(i64::from(full))
        .bind(id)
        .execute(&mut ***tx)
        .await?;
    }
    Ok(())
}

struct OrderRow {
    buyer: usize,
    product_id: i64,
    departure_id: Option<i64>,
    product_type: &'static str,
    destination: &'static str,
    ordered: NaiveDate,
    travel: NaiveDate,
    back: NaiveDate,
    adults: i64,
    children: i64,
    amount: i64,
    due: NaiveDate,
    status: &'static str,
}

async fn insert_order(tx: &mut Tx, ctx: &mut Ctx, o: OrderRow) -> crate::Result<i64> {
    let number = crate::numbers::next(tx, "D", o.ordered.year(), "orders", "order_no").await?;
    let b = &ctx.buyers[o.buyer];
    ctx.orders += 1;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO orders (order_no, customer_id, departure_id, product_id, product_type, destination, order_date, \
         travel_date, return_date, adults, children, amount, cost, due_date, status, source, owner_id, team_id, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
         $18, $19, $19) RETURNING id",
    )
    .bind(number)
    .bind(b.id)
    .bind(o.departure_id)
    .bind(o.product_id)
    .bind(o.product_type)
    .bind(Some(o.destination).filter(|d| !d.is_empty()))
    .bind(o.ordered.to_string())
    .bind(o.travel.to_string())
    .bind(o.back.to_string())
    .bind(o.adults)
    .bind(o.children)
    .bind(o.amount)
    .bind(o.amount * 7 / 10)
    .bind(o.due.to_string())
    .bind(o.status)
    .bind(SOURCES[ctx.orders % SOURCES.len()])
    .bind(b.owner)
    .bind(b.team)
    .bind(at(o.ordered, 10))
    .fetch_one(&mut ***tx)
    .await?;
    Ok(id)
}

/// A deposit when booked and the balance before it is due; a few customers
/// still owe part of a finished trip, and cancelled orders are refunded.
#[allow(clippy::too_many_arguments)]
async fn pay(
    tx: &mut Tx,
    ctx: &mut Ctx,
    order: i64,
    buyer: usize,
    amount: i64,
    ordered: NaiveDate,
    due: NaiveDate,
    status: &str,
) -> crate::Result<()> {
    if amount == 0 || status == "pending" {
        return Ok(());
    }
    let deposit =
        Money(amount).share(domain::money::BasisPoints::new(3000).unwrap_or(domain::money::BasisPoints::FULL));
    let method = METHODS[ctx.seed.below(METHODS.len() as u64) as usize];
    receipt(tx, ctx, order, buyer, "receipt", method, deposit.0, ordered).await?;
    let today = ctx.today;
    match status {
        "cancelled" => {
            receipt(tx, ctx, order, buyer, "refund", method, deposit.0, ordered + Duration::days(3)).await?;
        }
        // About one in twelve finished trips still has an open balance.
        "completed" | "travelling" => {
            let owes = ctx.seed.chance(8);
            let rest = if owes { 0 } else { amount - deposit.0 };
            receipt(tx, ctx, order, buyer, "receipt", "bank_transfer", rest, due.min(today)).await?;
        }
        _ if due <= today => {
            receipt(tx, ctx, order, buyer, "receipt", "bank_transfer", amount - deposit.0, due).await?;
        }
        _ => {}
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn receipt(
    tx: &mut Tx,
    ctx: &mut Ctx,
    order: i64,
    buyer: usize,
    kind: &str,
    method: &str,
    amount: i64,
    on: NaiveDate,
) -> crate::Result<()> {
    if amount <= 0 {
        return Ok(());
    }
    let on = on.min(ctx.today);
    let number = crate::numbers::next(tx, "R", on.year(), "receipts", "receipt_no").await?;
    sqlx::query(
        "INSERT INTO receipts (receipt_no, order_id, customer_id, kind, method, amount, received_on, created_at, \
         updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
    )
    .bind(number)
    .bind(order)
    .bind(ctx.buyers[buyer].id)
    .bind(kind)
    .bind(method)
    .bind(amount)
    .bind(on.to_string())
    .bind(at(on, 14))
    .execute(&mut ***tx)
    .await?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn direct(
    tx: &mut Tx,
    ctx: &mut Ctx,
    buyer: usize,
    product_id: i64,
    product_type: &'static str,
    destination: &'static str,
    ordered: NaiveDate,
    travel: NaiveDate,
    adults: i64,
    children: i64,
    amount: i64,
) -> crate::Result<()> {
    let today = ctx.today;
    let status = if travel < today { "completed" } else { "confirmed" };
    let order = insert_order(
        tx,
        ctx,
        OrderRow {
            buyer,
            product_id,
            departure_id: None,
            product_type,
            destination,
            ordered,
            travel,
            back: travel,
            adults,
            children,
            amount,
            due: travel - Duration::days(3),
            status,
        },
    )
    .await?;
    pay(tx, ctx, order, buyer, amount, ordered, travel - Duration::days(3), status).await
}

async fn hotel_stay(tx: &mut Tx, ctx: &mut Ctx, buyer: usize, product_id: i64, arrive: NaiveDate) -> crate::Result<()> {
    let nights = 2 + ctx.seed.below(4) as i64;
    let leave = arrive + Duration::days(nights);
    let rate = 98_000;
    let spend = [("room", rate * nights), ("fnb", 20_000 + ctx.seed.below(40) as i64 * 1_000), ("spa", 58_000)];
    let with_spa = ctx.seed.chance(40);
    let total: i64 = spend.iter().filter(|(o, _)| *o != "spa" || with_spa).map(|(_, a)| a).sum();
    let status = if leave < ctx.today { "completed" } else { "confirmed" };
    let order = insert_order(
        tx,
        ctx,
        OrderRow {
            buyer,
            product_id,
            departure_id: None,
            product_type: "hotel_stay",
            destination: "三亚",
            ordered: arrive - Duration::days(14),
            travel: arrive,
            back: leave,
            adults: 2,
            children: 0,
            amount: total,
            due: leave,
            status,
        },
    )
    .await?;
    sqlx::query(
        "UPDATE orders SET room_type = '海景大床房', room_number = $1, check_in = $2, check_out = $3, nightly_rate = $4 \
         WHERE id = $5",
    )
    .bind(format!("{}", 1201 + ctx.seed.below(30)))
    .bind(arrive.to_string())
    .bind(leave.to_string())
    .bind(rate)
    .bind(order)
    .execute(&mut ***tx)
    .await?;
    for (outlet, amount) in spend.iter().filter(|(o, _)| *o != "spa" || with_spa) {
        sqlx::query(
            "INSERT INTO order_charges (order_id, outlet, description, amount, charged_on, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind(order)
        .bind(*outlet)
        .bind(match *outlet {
            "room" => format!("海景大床房 {nights} 晚"),
            "fnb" => "海鲜自助晚餐".to_string(),
            _ => "双人 SPA".to_string(),
        })
        .bind(*amount)
        .bind(leave.min(ctx.today).to_string())
        .bind(at(leave.min(ctx.today), 12))
        .execute(&mut ***tx)
        .await?;
    }
    if status == "completed" {
        let method = METHODS[ctx.seed.below(METHODS.len() as u64) as usize];
        receipt(tx, ctx, order, buyer, "receipt", method, total, leave).await?;
    }
    Ok(())
}
