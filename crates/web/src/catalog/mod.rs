//! The catalogue: the resource library (attractions, accommodations,
//! transport, day-by-day routes), suppliers, products and tour departures
//! with their manifest, rooming list and calendar (`catalog.read`,
//! `catalog.write`).
//!
//! - `input`: the fields of each record as sent, checked into store drafts;
//! - `api`: `/api/v1/suppliers|resources|products|departures…`;
//! - `pages`: the HTML pages, the calendar and the XLSX exports.

mod api;
mod input;
mod pages;

use crate::ctx::Req;
use crate::error::AppError;
use crate::AppState;
use domain::access::Permission;
use domain::ids::DepartureId;
use store::departures::{Departure, ManifestRow};
use utoipa_axum::router::OpenApiRouter;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().merge(api::router()).merge(pages::router())
}

/// `true` / `false` of a query parameter; empty is no filter.
pub(crate) fn opt_bool(field: &str, v: Option<&str>) -> Result<Option<bool>, AppError> {
    match v.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some("true" | "1") => Ok(Some(true)),
        Some("false" | "0") => Ok(Some(false)),
        Some(_) => Err(AppError::field(field, "invalid", format!("{field} must be true or false"))),
    }
}

/// An id query parameter; empty is none.
pub(crate) fn opt_id_param(field: &str, v: Option<&str>) -> Result<Option<i64>, AppError> {
    match v.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(s) => {
            s.parse::<i64>().map(Some).map_err(|_| AppError::field(field, "invalid", format!("{field} must be an id")))
        }
    }
}

/// `2026-12` → its first day.
pub(crate) fn parse_month(m: &str) -> Result<chrono::NaiveDate, AppError> {
    chrono::NaiveDate::parse_from_str(&format!("{}-01", m.trim()), "%Y-%m-%d")
        .ok()
        .filter(|_| m.trim().len() == 7)
        .ok_or_else(|| AppError::field("month", "invalid_month", "month must be a year and month such as 2026-12"))
}

/// A departure and its manifest as the caller may see it: documents in
/// full only for customers their `customers.pii` grant reaches (audited).
pub(crate) async fn manifest_for(
    state: &AppState,
    req: &Req,
    id: DepartureId,
) -> Result<(Departure, Vec<ManifestRow>), AppError> {
    let dep = store::departures::get(&state.store, id).await?;
    let me = req.user()?;
    let pii = if me.can(Permission::CustomersPii) {
        Some(req.visibility(state, Permission::CustomersPii).await?)
    } else {
        None
    };
    let rows = store::departures::manifest(&state.store, &req.actor()?, id, pii.as_ref()).await?;
    Ok((dep, rows))
}

/// Interface texts: (key, 中文, English).
pub(crate) static TEXTS: &[(&str, &str, &str)] = &[
    ("catalog.active", "启用", "Active"),
    ("catalog.all", "全部", "All"),
    ("catalog.calendar", "团期日历", "Departure calendar"),
    ("catalog.departures", "团期", "Departures"),
    ("catalog.edit", "编辑", "Edit"),
    ("catalog.export_xlsx", "导出 Excel", "Export to Excel"),
    ("catalog.f.active", "启用", "Active"),
    ("catalog.f.address", "地址", "Address"),
    ("catalog.f.adult_price", "成人价", "Adult price"),
    ("catalog.f.booked", "已报名", "Booked"),
    ("catalog.f.capacity", "计划人数", "Capacity"),
    ("catalog.f.carrier", "承运商", "Carrier"),
    ("catalog.f.child_price", "儿童价", "Child price"),
    ("catalog.f.city", "城市", "City"),
    ("catalog.f.code", "编号", "Code"),
    ("catalog.f.commission", "佣金 (%)", "Commission (%)"),
    (
        "catalog.f.contacts",
        "联系人（每行：姓名 | 职务 | 手机 | 邮箱 | 微信）",
        "Contacts (one a line: name | role | mobile | e-mail | WeChat)",
    ),
    ("catalog.f.contract_from", "合同开始", "Contract from"),
    ("catalog.f.contract_no", "合同编号", "Contract no."),
    ("catalog.f.contract_to", "合同结束", "Contract to"),
    ("catalog.f.cost_price", "成本价", "Cost price"),
    ("catalog.f.country", "国家", "Country"),
    ("catalog.f.days", "天数", "Days"),
    (
        "catalog.f.days_plan",
        "行程（每行一天：标题 | 景点、景点 | 餐食如 早午晚 | 住宿）",
        "Itinerary (one day a line: title | stop, stop | meals such as BLD | lodging)",
    ),
    ("catalog.f.departure_date", "出发日期", "Departure date"),
    ("catalog.f.description", "介绍", "Description"),
    ("catalog.f.destination", "目的地", "Destination"),
    ("catalog.f.email", "邮箱", "E-mail"),
    ("catalog.f.exclusions", "费用不含", "Not included"),
    ("catalog.f.from", "出发地", "From"),
    ("catalog.f.guide_name", "导游", "Guide"),
    ("catalog.f.inclusions", "费用包含", "Included"),
    ("catalog.f.kind", "类别", "Kind"),
    ("catalog.f.leader", "领队", "Tour leader"),
    ("catalog.f.mode", "交通方式", "Mode"),
    ("catalog.f.month", "月份", "Month"),
    ("catalog.f.name", "名称", "Name"),
    ("catalog.f.notes", "备注", "Notes"),
    ("catalog.f.opening_hours", "开放时间", "Opening hours"),
    ("catalog.f.payment_terms", "结算方式", "Payment terms"),
    ("catalog.f.phone", "电话", "Phone"),
    ("catalog.f.product", "产品", "Product"),
    ("catalog.f.product_type", "产品类型", "Product type"),
    ("catalog.f.province", "省份", "Province"),
    ("catalog.f.q", "搜索", "Search"),
    ("catalog.f.region", "地区", "Region"),
    ("catalog.f.return_date", "返回日期", "Return date"),
    ("catalog.f.room_types", "房型（每行：房型名 | 可住人数）", "Room types (one a line: name | max occupancy)"),
    ("catalog.f.route", "线路", "Route"),
    ("catalog.f.seats_left", "余位", "Seats left"),
    ("catalog.f.service_no", "班次/航班号", "Service no."),
    ("catalog.f.star_rating", "星级", "Star rating"),
    ("catalog.f.status", "状态", "Status"),
    ("catalog.f.supplier", "供应商", "Supplier"),
    ("catalog.f.ticket_price", "门票价格", "Ticket price"),
    ("catalog.f.to", "目的地", "To"),
    ("catalog.inactive", "停用", "Inactive"),
    ("catalog.left", "余", "left"),
    ("catalog.manifest", "出团名单", "Manifest"),
    ("catalog.new", "新建", "New"),
    ("catalog.next_month", "下个月", "Next month"),
    ("catalog.next_page", "下一页", "Next page"),
    ("catalog.no", "否", "No"),
    ("catalog.none", "暂无记录", "Nothing here yet"),
    ("catalog.prev_month", "上个月", "Previous month"),
    ("catalog.products", "产品", "Products"),
    ("catalog.resources", "资源库", "Resource library"),
    ("catalog.rooming", "分房表", "Rooming list"),
    ("catalog.save", "保存", "Save"),
    ("catalog.search", "搜索", "Search"),
    ("catalog.search_hint", "名称或拼音首字母", "Name or pinyin initials"),
    ("catalog.suppliers", "供应商", "Suppliers"),
    ("catalog.t.birthday", "出生日期", "Birthday"),
    ("catalog.t.child", "儿童", "Child"),
    ("catalog.t.gender", "性别", "Gender"),
    ("catalog.t.id_card", "身份证", "ID card"),
    ("catalog.t.mobile", "手机", "Mobile"),
    ("catalog.t.name", "姓名", "Name"),
    ("catalog.t.order", "订单", "Order"),
    ("catalog.t.passport", "护照", "Passport"),
    ("catalog.t.room", "房间", "Room"),
    ("catalog.weekdays", "一 二 三 四 五 六 日", "Mon Tue Wed Thu Fri Sat Sun"),
    ("catalog.yes", "是", "Yes"),
    ("nav.departures", "团期", "Departures"),
    ("nav.products", "产品", "Products"),
    ("nav.resources", "资源库", "Resources"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_sorted_prefixed_and_unique() {
        let keys: Vec<&str> = TEXTS.iter().map(|(k, _, _)| *k).collect();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(keys, sorted);
        assert!(keys.iter().all(|k| k.starts_with("catalog.") || k.starts_with("nav.")));
    }

    #[test]
    fn months_parse_strictly() {
        assert_eq!(parse_month("2026-12").ok(), chrono::NaiveDate::from_ymd_opt(2026, 12, 1));
        for bad in ["2026-13", "2026-1", "2026", "12-2026", ""] {
            assert!(parse_month(bad).is_err(), "{bad}");
        }
    }
}
