//! Selling: opportunities (商机) as a list and a board, and versioned quotes
//! (报价单) with their history, the difference between two versions and a
//! printable A4 page (`sales.read`, `sales.write`).
//!
//! - `input`: an opportunity's and a quote's fields as typed (form or JSON),
//!   checked into store drafts with every problem named by field;
//! - `opportunity_api`, `opportunity_pages`: `/api/v1/opportunities…` and
//!   the list, board, form and detail pages;
//! - `quote_api`, `quote_pages`: `/api/v1/quotes…` and the quote, version,
//!   difference, print, form and customer history pages.
//!
//! Visibility is the caller's `sales.read` / `sales.write` grant on the
//! record's owner and team, applied in the store's queries; the customer of
//! a new record must be one the caller's `customers.read` lets them see.

mod input;
mod opportunity_api;
mod opportunity_pages;
mod quote_api;
mod quote_pages;

use crate::ctx::Req;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::AppState;
use chrono::NaiveDate;
use domain::access::{Permission, Scope};
use domain::travel::opportunity::OpportunityStage;
use domain::travel::quote::QuoteStatus;
use domain::{FieldError, FieldErrors};
use utoipa_axum::router::OpenApiRouter;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(opportunity_api::router())
        .merge(opportunity_pages::router())
        .merge(quote_api::router())
        .merge(quote_pages::router())
}

/// Today in the company's time zone.
pub(crate) async fn today(state: &AppState) -> Result<NaiveDate, AppError> {
    Ok(crate::customers::today_in(crate::customers::company_tz(state).await?))
}

/// Whether the caller is a manager for selling: their `sales.write` reaches
/// a team or everyone. Only managers reopen closed opportunities or give one
/// to a colleague.
pub(crate) fn is_manager(req: &Req) -> bool {
    req.user().ok().and_then(|p| p.grants.scope(Permission::SalesWrite)).is_some_and(|s| s != Scope::Own)
}

pub(crate) fn stage_label(s: OpportunityStage, lang: Lang) -> &'static str {
    s.label(lang == Lang::Zh)
}

pub(crate) fn status_label(s: QuoteStatus, lang: Lang) -> &'static str {
    s.label(lang == Lang::Zh)
}

/// The label of a field in the reader's language (`sales.f.<field>`; a
/// quote line's field `lines.2.adult_price` reads "第3行 成人价").
pub(crate) fn field_label(field: &str, lang: Lang) -> String {
    if let Some(rest) = field.strip_prefix("lines.") {
        let mut parts = rest.splitn(2, '.');
        let row = parts.next().and_then(|n| n.parse::<usize>().ok());
        if let (Some(n), Some(inner)) = (row, parts.next()) {
            let inner = inner.split('.').next_back().unwrap_or(inner);
            let row = match lang {
                Lang::Zh => format!("第{}行", n + 1),
                Lang::En => format!("Line {}", n + 1),
            };
            return format!("{row} {}", field_label(inner, lang));
        }
    }
    let key = format!("sales.f.{field}");
    match TEXTS.iter().find(|(k, _, _)| *k == key) {
        Some((_, zh, en)) => (if lang == Lang::Zh { zh } else { en }).to_string(),
        None => field.to_string(),
    }
}

fn message(e: &FieldError, lang: Lang) -> String {
    if lang == Lang::En {
        return e.message.clone();
    }
    let key = format!("sales.error.{}", e.code);
    TEXTS.iter().find(|(k, _, _)| *k == key).map(|(_, zh, _)| (*zh).to_string()).unwrap_or_else(|| e.message.clone())
}

/// Problems of a form, in the reader's language.
#[derive(Default)]
pub(crate) struct Errors {
    pub general: Option<String>,
    fields: Vec<(String, String)>,
}

impl Errors {
    pub(crate) fn of(f: &FieldErrors, lang: Lang) -> Errors {
        Errors {
            general: None,
            fields: f
                .0
                .iter()
                .map(|e| (e.field.clone(), format!("{}: {}", field_label(&e.field, lang), message(e, lang))))
                .collect(),
        }
    }

    /// From a failed save: field problems and stale versions are shown on
    /// the form; anything else is an error page.
    pub(crate) fn from_error(e: AppError, lang: Lang) -> Result<(axum::http::StatusCode, Errors), AppError> {
        use axum::http::StatusCode;
        match e {
            AppError::Invalid(f) => Ok((StatusCode::UNPROCESSABLE_ENTITY, Errors::of(&f, lang))),
            AppError::Stale { .. } => {
                Ok((StatusCode::CONFLICT, Errors { general: Some(lang.t("common.stale").into()), fields: vec![] }))
            }
            other => Err(other),
        }
    }

    pub(crate) fn all(&self) -> Vec<&str> {
        self.fields.iter().map(|(_, m)| m.as_str()).collect()
    }

    /// Whether `field` (or a part of it) has a problem.
    pub(crate) fn has(&self, field: &str) -> bool {
        self.fields.iter().any(|(f, _)| f == field || f.starts_with(&format!("{field}.")))
    }

    pub(crate) fn any(&self) -> bool {
        self.general.is_some() || !self.fields.is_empty()
    }
}

/// Interface texts: (key, 中文, English), sorted by key.
pub(crate) static TEXTS: &[(&str, &str, &str)] = &[
    ("nav.opportunities", "商机", "Opportunities"),
    ("sales.add_rows", "增加行", "Add rows"),
    ("sales.all_open", "全部进行中", "All open"),
    ("sales.board", "商机看板", "Pipeline board"),
    (
        "sales.board_hint",
        "拖动卡片到另一列即可改变阶段；不使用脚本时，可在卡片上选择阶段后提交。",
        "Drag a card to another column to change its stage; without scripts, choose the stage on the card and submit.",
    ),
    ("sales.close_month", "预计成交月份", "Expected close month"),
    ("sales.created_by", "修改人", "By"),
    ("sales.customer_quotes", "客户报价历史", "Quotes of the customer"),
    ("sales.diff", "版本对比", "Compare versions"),
    ("sales.diff_added", "新增的行", "Lines added"),
    ("sales.diff_changed", "修改的行", "Lines changed"),
    ("sales.diff_header", "抬头变更", "Header changes"),
    ("sales.diff_none", "两个版本内容相同。", "The two versions are the same."),
    ("sales.diff_removed", "删除的行", "Lines removed"),
    ("sales.edit_opportunity", "编辑商机", "Edit opportunity"),
    ("sales.edit_quote", "修改报价（生成新版本）", "Revise the quote (new version)"),
    ("sales.error.accepted_is_final", "客户已接受此报价，请新建报价", "the quote was accepted; make a new one"),
    ("sales.error.before_issue_date", "不能早于报价日期", "must not be before the issue date"),
    ("sales.error.discount_exceeds_fare", "优惠金额超过了团费", "the discount is more than the fare"),
    ("sales.error.forbidden", "只有经理可以指定其他负责人", "only a manager may choose another owner"),
    ("sales.error.in_past", "有效期已过，请设置更晚的日期", "the validity has passed; set a later date"),
    ("sales.error.inactive", "该员工账号已停用", "the account is deactivated"),
    ("sales.error.invalid", "格式不正确", "is invalid"),
    ("sales.error.invalid_count", "必须是整数", "must be a whole number"),
    ("sales.error.invalid_date", "日期格式应为 2027-01-31", "must be a date such as 2027-01-31"),
    ("sales.error.invalid_money", "金额格式应为 1280.00", "must be an amount such as 1280.00"),
    ("sales.error.invalid_percent", "必须是 0 到 100 之间的百分比", "must be a percentage from 0 to 100"),
    ("sales.error.invalid_transition", "不能转到该状态", "cannot move to that state"),
    (
        "sales.error.manager_required",
        "只有经理可以重新打开已成交或已输单的商机",
        "only a manager can reopen a won or lost opportunity",
    ),
    ("sales.error.negative", "不能为负数", "must not be negative"),
    ("sales.error.no_travellers", "至少需要一位成人或儿童", "at least one adult or child"),
    ("sales.error.not_found", "不存在或无权查看", "not found"),
    ("sales.error.other_customer", "该商机属于其他客户", "belongs to another customer"),
    ("sales.error.required", "必填", "is required"),
    ("sales.error.too_large", "数额过大", "is too large"),
    ("sales.error.too_long", "内容过长", "is too long"),
    ("sales.expected_value_sum", "预计金额合计", "Expected value in all"),
    ("sales.f.adult_price", "成人价", "Adult price"),
    ("sales.f.adults", "成人", "Adults"),
    ("sales.f.amount", "金额", "Amount"),
    ("sales.f.budget", "预算", "Budget"),
    ("sales.f.child_price", "儿童价", "Child price"),
    ("sales.f.children", "儿童", "Children"),
    ("sales.f.close_date", "预计成交日期", "Expected close date"),
    ("sales.f.customer_id", "客户", "Customer"),
    ("sales.f.description", "项目说明", "Description"),
    ("sales.f.destination", "目的地", "Destination"),
    ("sales.f.discount", "优惠", "Discount"),
    ("sales.f.discount_type", "优惠方式", "Discount type"),
    ("sales.f.expected_value", "预计金额", "Expected value"),
    ("sales.f.extras", "附加费用", "Extras"),
    ("sales.f.key", "行号", "Line key"),
    ("sales.f.kind", "类型", "Kind"),
    ("sales.f.lines", "报价明细", "Lines"),
    ("sales.f.lost_reason", "输单原因", "Reason for losing"),
    ("sales.f.notes", "备注", "Notes"),
    ("sales.f.opportunity_id", "商机", "Opportunity"),
    ("sales.f.owner_id", "负责人", "Owner"),
    ("sales.f.product_id", "产品编号", "Product id"),
    ("sales.f.product_type", "产品类型", "Product type"),
    ("sales.f.source", "来源", "Source"),
    ("sales.f.stage", "阶段", "Stage"),
    ("sales.f.status", "状态", "Status"),
    ("sales.f.title", "标题", "Title"),
    ("sales.f.total", "小计", "Line total"),
    ("sales.f.travellers", "人数", "Travellers"),
    ("sales.f.valid_until", "有效期至", "Valid until"),
    ("sales.f.version", "版本", "Version"),
    ("sales.fare", "团费", "Fare"),
    ("sales.history", "版本历史", "Version history"),
    ("sales.make_order", "生成订单", "Make an order"),
    ("sales.move", "移动", "Move"),
    ("sales.move_refused", "无法移动", "Move refused"),
    ("sales.new_opportunity", "新建商机", "New opportunity"),
    ("sales.new_quote", "新建报价", "New quote"),
    ("sales.next_page", "下一页", "Next page"),
    (
        "sales.no_js_lines",
        "空白行会被忽略；需要更多行时点击“增加行”。",
        "Blank rows are ignored; use “Add rows” for more.",
    ),
    ("sales.open_version", "查看", "Open"),
    ("sales.opportunities", "商机", "Opportunities"),
    ("sales.opportunity", "商机", "Opportunity"),
    ("sales.percent", "百分比 %", "Percent %"),
    ("sales.print", "打印报价单", "Print"),
    ("sales.print_customer", "客户", "Customer"),
    ("sales.print_sign", "客户确认（签字/盖章）", "Accepted by the customer (signature / seal)"),
    ("sales.print_title", "报价单", "Quotation"),
    ("sales.quote", "报价单", "Quote"),
    ("sales.quote_number", "报价单号", "Quote number"),
    ("sales.quotes", "报价", "Quotes"),
    ("sales.reason_prompt", "请填写输单原因：", "Why was it lost?"),
    ("sales.search", "搜索客户名称或标题", "Search customer or title"),
    ("sales.set_status", "更改状态", "Change status"),
    ("sales.total", "合计", "Total"),
    ("sales.version_n", "版本", "Version"),
    ("sales.weighted_value", "加权金额", "Weighted value"),
    ("sales.yuan", "元", "CNY"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_sorted_and_prefixed() {
        let keys: Vec<&str> = TEXTS.iter().map(|(k, _, _)| *k).collect();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        assert_eq!(keys, sorted);
        assert!(keys.iter().all(|k| k.starts_with("sales.") || *k == "nav.opportunities"));
    }

    #[test]
    fn line_fields_read_as_row_and_label() {
        assert_eq!(field_label("lines.1.adult_price", Lang::Zh), "第2行 成人价");
        assert_eq!(field_label("lines.0.extras.0.amount", Lang::En), "Line 1 Amount");
        assert_eq!(field_label("lost_reason", Lang::Zh), "输单原因");
        assert_eq!(field_label("unheard_of", Lang::En), "unheard_of");
    }
}
