//! The customer archive (客户档案): the list with its search box, filters and
//! remembered view, the forms of the three kinds of customer, the 360° page
//! with contacts, intentions and one timeline, interactions, and the JSON API
//! for all of it.
//!
//! Visibility comes from the caller's grant for each action (read, write,
//! pii) and is applied inside the store's queries, so a customer the caller
//! may not see is "not found" everywhere. Every change is audited by the store.
//!
//! - [`query`]: the list's query string, shared with the export;
//! - `input`: one customer's fields as typed, checked into a store draft;
//! - `list`, `form`, `detail`, `interactions`: the pages;
//! - `api`: `/api/v1/customers…`.

mod api;
mod contacts;
mod detail;
mod form;
pub(crate) mod input;
mod interactions;
mod list;
pub(crate) mod query;

use crate::admin::Opt;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::AppState;
use chrono::NaiveDate;
use chrono_tz::Tz;
use domain::customer::{
    Channel, ContactRole, CustomerKind, Department, Direction, Gender, LifecycleStage, PartnerType, SourceChannel,
};
use domain::{FieldError, FieldErrors};
use std::collections::HashMap;
use store::customer_fields::FieldDef;
use store::StoreError;
use utoipa_axum::router::OpenApiRouter;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(list::router())
        .merge(form::router())
        .merge(detail::router())
        .merge(interactions::router())
        .merge(contacts::router())
        .merge(api::router())
}

/// The company's time zone (dates such as "today" and local times are in it).
pub(crate) async fn company_tz(state: &AppState) -> Result<Tz, AppError> {
    let p = store::settings::profile(&state.store).await?;
    Ok(p.timezone.parse::<Tz>().unwrap_or(chrono_tz::Asia::Shanghai))
}

/// Today in the company's time zone: birthdays and ID numbers may not be
/// after it.
pub(crate) fn today_in(tz: Tz) -> NaiveDate {
    chrono::Utc::now().with_timezone(&tz).date_naive()
}

/// Builds `label(code, lang)` functions for the domain's code enums; unknown
/// codes (data from an older version) are shown as they are.
macro_rules! labels {
    ($($name:ident: $t:ty),+ $(,)?) => {
        $(
            pub(crate) fn $name(code: &str, lang: Lang) -> String {
                <$t>::from_code(code).map(|v| v.label(lang == Lang::Zh).to_string()).unwrap_or_else(|| code.to_string())
            }
        )+
    };
}

labels!(
    kind_label: CustomerKind,
    gender_label: Gender,
    stage_label: LifecycleStage,
    source_label: SourceChannel,
    partner_type_label: PartnerType,
    channel_label: Channel,
    direction_label: Direction,
    department_label: Department,
    contact_role_label: ContactRole,
);

/// `<option>`s for one of the domain's code enums, optionally led by an
/// empty choice with `empty` as its text.
macro_rules! enum_options {
    ($t:ty, $current:expr, $lang:expr, $empty:expr) => {{
        let current: &str = $current;
        let zh = $lang == crate::i18n::Lang::Zh;
        let mut out: Vec<crate::admin::Opt> = Vec::new();
        if let Some(e) = $empty {
            out.push(crate::admin::Opt::new("", e, current));
        }
        out.extend(<$t>::ALL.iter().map(|v| crate::admin::Opt::new(v.code(), v.label(zh), current)));
        out
    }};
}
pub(crate) use enum_options;

/// Value grades, best first.
pub(crate) const GRADES: [&str; 4] = ["A", "B", "C", "D"];

/// Statuses of a travel intention.
pub(crate) const INTENTION_STATUSES: [&str; 3] = ["open", "booked", "dropped"];

fn intention_status_label(code: &str, lang: Lang) -> String {
    match code {
        "open" | "booked" | "dropped" => lang.t(&format!("customers.intention_status.{code}")).to_string(),
        other => other.to_string(),
    }
}

fn grade_options(current: &str, lang: Lang) -> Vec<Opt> {
    let mut out = vec![Opt::new("", lang.t("customers.no_grade"), current)];
    out.extend(GRADES.iter().map(|g| Opt::new(g, *g, current)));
    out
}

/// Built-in fields with a label (`customers.f.<field>`), in form order.
const FIELDS: &[&str] = &[
    "kind",
    "name",
    "gender",
    "birthday",
    "lunar_birthday",
    "id_card",
    "passport",
    "passport_expiry",
    "employer",
    "title",
    "industry",
    "partner_type",
    "license_no",
    "mobile",
    "mobile2",
    "landline",
    "email",
    "wechat",
    "fax",
    "province",
    "city",
    "district",
    "address",
    "diet",
    "room_pref",
    "seat_pref",
    "hobbies",
    "source",
    "source_detail",
    "owner_id",
    "stage",
    "grade",
    "tags",
    "notes",
    "consent",
    "version",
    "channel",
    "direction",
    "department",
    "summary",
    "occurred_at",
    "preference",
    "preference_kind",
    "destination",
    "period",
    "budget",
    "party_size",
    "status",
    "role",
    "is_primary",
    "contact",
];

/// The label of a field in the reader's language: a built-in field's text,
/// a custom field's own label, or the name itself.
pub(crate) fn field_label(field: &str, lang: Lang, defs: &[FieldDef]) -> String {
    if let Some(key) = field.strip_prefix("custom.") {
        if let Some(d) = defs.iter().find(|d| d.key == key) {
            return match lang {
                Lang::Zh => d.label_zh.clone(),
                Lang::En => d.label_en.clone(),
            };
        }
        return key.to_string();
    }
    if FIELDS.contains(&field) {
        return lang.t(&format!("customers.f.{field}")).to_string();
    }
    field.to_string()
}

/// Form errors shown next to their fields and summed up above the form, in
/// the reader's language.
#[derive(Default)]
pub(crate) struct Errors {
    /// A message for the whole form (stale version …).
    pub general: Option<String>,
    /// (field, label, message).
    fields: Vec<(String, String, String)>,
}

impl Errors {
    /// Errors for `fields`; Chinese messages are translated by code where a
    /// translation exists, English keeps the domain's own, more specific text.
    pub(crate) fn of(fields: &FieldErrors, lang: Lang, defs: &[FieldDef]) -> Errors {
        let fields =
            fields.0.iter().map(|e| (e.field.clone(), field_label(&e.field, lang, defs), message(e, lang))).collect();
        Errors { general: None, fields }
    }

    /// A message for the whole form.
    pub(crate) fn general(text: &str) -> Errors {
        Errors { general: Some(text.to_string()), fields: Vec::new() }
    }

    /// The message for `field`, if any.
    pub(crate) fn get(&self, field: &str) -> Option<&str> {
        self.fields.iter().find(|(f, _, _)| f == field).map(|(_, _, m)| m.as_str())
    }

    /// Every field's problem as "label: message".
    pub(crate) fn all(&self) -> Vec<String> {
        self.fields.iter().map(|(_, l, m)| format!("{l}: {m}")).collect()
    }

    /// Whether there is anything to show.
    pub(crate) fn any(&self) -> bool {
        self.general.is_some() || !self.fields.is_empty()
    }
}

fn message(e: &FieldError, lang: Lang) -> String {
    if lang == Lang::En {
        return e.message.clone();
    }
    let own = format!("customers.error.{}", e.code);
    let shared = format!("admin.error.{}", e.code);
    TEXTS
        .iter()
        .find(|(k, _, _)| *k == own)
        .or_else(|| crate::admin::TEXTS.iter().find(|(k, _, _)| *k == shared))
        .map(|(_, zh, _)| (*zh).to_string())
        .unwrap_or_else(|| e.message.clone())
}

/// How a page answers a failed form: field problems and stale versions are
/// shown on the form again; anything else is an ordinary error page.
pub(crate) enum Problem {
    /// 422 with these errors.
    Invalid(FieldErrors),
    /// 409: someone else saved first.
    Stale,
}

impl Problem {
    pub(crate) fn from_error(e: AppError) -> Result<Problem, AppError> {
        match e {
            AppError::Invalid(f) => Ok(Problem::Invalid(f)),
            AppError::Stale { .. } => Ok(Problem::Stale),
            other => Err(other),
        }
    }

    pub(crate) fn status(&self) -> axum::http::StatusCode {
        match self {
            Problem::Invalid(_) => axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            Problem::Stale => axum::http::StatusCode::CONFLICT,
        }
    }

    pub(crate) fn errors(&self, lang: Lang, defs: &[FieldDef]) -> Errors {
        match self {
            Problem::Invalid(f) => Errors::of(f, lang, defs),
            Problem::Stale => Errors::general(lang.t("common.stale")),
        }
    }
}

/// Display names of staff, looked up once per request.
#[derive(Default)]
pub(crate) struct Names(HashMap<i64, String>);

impl Names {
    /// The display name of `id` (a deleted account shows its id).
    pub(crate) async fn of(&mut self, state: &AppState, id: domain::ids::UserId) -> Result<String, AppError> {
        if let Some(n) = self.0.get(&id.0) {
            return Ok(n.clone());
        }
        let name = match store::users::get(&state.store, id).await {
            Ok(u) => u.display_name,
            Err(StoreError::NotFound) => format!("#{id}"),
            Err(e) => return Err(e.into()),
        };
        self.0.insert(id.0, name.clone());
        Ok(name)
    }
}

/// Text limited to `max` characters; empty is `None`.
pub(crate) fn text(field: &str, s: &str, max: usize) -> Result<Option<String>, FieldError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    if s.chars().count() > max {
        return Err(FieldError::new(field, "too_long", format!("{field} must have at most {max} characters")));
    }
    Ok(Some(s.to_string()))
}

/// Interface texts of the customer archive: (key, 中文, English), sorted by key.
pub(crate) static TEXTS: &[(&str, &str, &str)] = &[
    ("customers.about", "约", "about"),
    ("customers.add_contact", "添加联系人", "Add a contact person"),
    ("customers.add_intention", "添加出游意向", "Add a travel intention"),
    ("customers.back_to_list", "← 客户列表", "← Customer list"),
    ("customers.birthday_month", "生日月份", "Birthday month"),
    ("customers.clear_view", "清除筛选", "Clear filters"),
    ("customers.consent.email", "邮件", "E-mail"),
    ("customers.consent.phone", "电话", "Phone"),
    ("customers.consent.sms", "短信", "SMS"),
    ("customers.consent.wechat", "微信", "WeChat"),
    ("customers.contacted_within_days", "近几天内接触过", "Contacted within (days)"),
    ("customers.contacts", "联系人", "Contact persons"),
    ("customers.created", "建档时间", "Created"),
    ("customers.custom_value", "自定义字段的值", "Custom field value"),
    ("customers.dashboard_mine", "我负责的客户", "My customers"),
    ("customers.dashboard_visible", "我可查看的客户", "Customers I can see"),
    ("customers.doc_remove", "删除已存的号码", "Remove the stored number"),
    ("customers.doc_stored", "已存（留空则保持不变）：", "Stored (leave empty to keep):"),
    ("customers.dup.same_email", "邮箱相同", "same e-mail"),
    ("customers.dup.same_id_card", "身份证号相同", "same ID card number"),
    ("customers.dup.same_mobile", "手机相同", "same mobile"),
    ("customers.dup.same_name_same_company", "同名且单位相同", "same name and employer"),
    ("customers.dup.same_name_similar_phone", "同名且电话相近", "same name, similar phone"),
    ("customers.dup.same_passport", "护照号相同", "same passport number"),
    ("customers.dup.save_anyway", "不是重复客户，仍然保存", "Not a duplicate: save anyway"),
    (
        "customers.dup.title",
        "以下客户可能与您要建的是同一人或同一单位，请先核对：",
        "These customers look like the same person or company; please check them first:",
    ),
    ("customers.edit", "编辑客户", "Edit customer"),
    (
        "customers.erased",
        "该客户的个人信息已按本人要求删除（财务记录保留）",
        "This customer's personal data was erased on request (financial records are kept)",
    ),
    (
        "customers.error.birthday_mismatch",
        "与身份证号码中的出生日期不一致",
        "Does not match the date of birth in the ID card number",
    ),
    (
        "customers.error.erased",
        "该客户的个人信息已删除，不能再修改",
        "The customer's personal data was erased; it can no longer be edited",
    ),
    ("customers.error.immutable", "建档后不能修改", "Cannot change after creation"),
    ("customers.error.in_future", "不能晚于今天", "Must not be in the future"),
    (
        "customers.error.inactive",
        "该员工账号已停用，请选择在职同事",
        "The account is deactivated; choose an active colleague",
    ),
    (
        "customers.error.invalid_birth_date",
        "身份证号码中的出生日期无效",
        "The ID number contains no valid date of birth",
    ),
    ("customers.error.invalid_checksum", "身份证号码校验位不正确，请核对", "The ID number's check digit is wrong"),
    ("customers.error.invalid_choice", "不是可选的值", "Not one of the choices"),
    ("customers.error.invalid_date", "日期格式不正确，例如 1990-08-15", "Not a date such as 1990-08-15"),
    ("customers.error.invalid_format", "应为 17 位数字加一位数字或 X", "Must be 17 digits and a digit or X"),
    (
        "customers.error.invalid_landline",
        "固定电话需带区号，例如 010-62345678",
        "A landline needs its area code, e.g. 010-62345678",
    ),
    ("customers.error.invalid_length", "身份证号码应为 18 位", "The ID number must have 18 characters"),
    (
        "customers.error.invalid_mobile",
        "手机号码应为 13 至 19 开头的 11 位数字",
        "A mobile number has 11 digits starting 13 to 19",
    ),
    ("customers.error.invalid_money", "金额格式不正确，例如 12000.00", "Not an amount such as 12000.00"),
    ("customers.error.invalid_number", "应为数字", "Must be a number"),
    ("customers.error.invalid_passport", "护照号码格式不正确", "Not a passport number"),
    ("customers.error.invalid_region", "身份证号码的地区码无效", "The ID number has no valid region code"),
    ("customers.error.invalid_tag", "标签不能包含逗号、分号等分隔符", "A tag must not contain commas or semicolons"),
    ("customers.error.invalid_type", "类型不正确", "Wrong type"),
    (
        "customers.error.not_allowed",
        "选择其他归属人需要“调整客户归属”权限",
        "Choosing another owner needs the reassign permission",
    ),
    ("customers.error.not_for_kind", "此类客户没有该项", "Not a field of this kind of customer"),
    ("customers.error.out_of_range", "超出允许的范围", "Out of range"),
    ("customers.error.requires_passport", "请先填写护照号码", "Enter the passport number first"),
    ("customers.error.too_early", "不能早于 1900-01-01", "Must not be before 1900-01-01"),
    ("customers.error.too_far_in_future", "护照有效期最长 10 年，请核对", "Passports are valid for at most 10 years"),
    ("customers.error.unknown_field", "没有这个字段", "No such field"),
    ("customers.f.address", "地址", "Address"),
    ("customers.f.birthday", "生日", "Birthday"),
    ("customers.f.budget", "预算（元）", "Budget (CNY)"),
    ("customers.f.channel", "接触方式", "Channel"),
    ("customers.f.city", "城市", "City"),
    ("customers.f.code", "客户编号", "Code"),
    ("customers.f.consent", "营销许可", "Marketing consent"),
    ("customers.f.contact", "联系人", "Contact person"),
    ("customers.f.department", "部门", "Department"),
    ("customers.f.destination", "目的地", "Destination"),
    ("customers.f.diet", "饮食偏好", "Diet"),
    ("customers.f.direction", "呼入/呼出", "Direction"),
    ("customers.f.district", "区县", "District"),
    ("customers.f.email", "邮箱", "E-mail"),
    ("customers.f.employer", "工作单位", "Employer"),
    ("customers.f.fax", "传真", "Fax"),
    ("customers.f.gender", "性别", "Gender"),
    ("customers.f.grade", "客户等级", "Grade"),
    ("customers.f.hobbies", "兴趣爱好", "Hobbies"),
    ("customers.f.id_card", "身份证号", "ID card no."),
    ("customers.f.industry", "行业", "Industry"),
    ("customers.f.is_primary", "主要联系人", "Primary contact"),
    ("customers.f.kind", "客户类型", "Kind"),
    ("customers.f.landline", "固定电话", "Landline"),
    ("customers.f.license_no", "经营许可证号", "Licence no."),
    ("customers.f.lunar_birthday", "农历生日", "Lunar birthday"),
    ("customers.f.mobile", "手机", "Mobile"),
    ("customers.f.mobile2", "备用手机", "Second mobile"),
    ("customers.f.name", "姓名/名称", "Name"),
    ("customers.f.notes", "备注", "Notes"),
    ("customers.f.occurred_at", "接触时间", "When"),
    ("customers.f.owner_id", "归属人", "Owner"),
    ("customers.f.partner_type", "同业类型", "Partner type"),
    ("customers.f.party_size", "出行人数", "Travellers"),
    ("customers.f.passport", "护照号", "Passport no."),
    ("customers.f.passport_expiry", "护照有效期至", "Passport valid until"),
    ("customers.f.period", "出行时间", "Travel period"),
    ("customers.f.preference", "记下偏好", "Preference to note"),
    ("customers.f.preference_kind", "偏好类别", "Preference for"),
    ("customers.f.province", "省份", "Province"),
    ("customers.f.role", "角色", "Role"),
    ("customers.f.room_pref", "客房偏好", "Room preference"),
    ("customers.f.seat_pref", "座位偏好", "Seat preference"),
    ("customers.f.source", "客户来源", "Source"),
    ("customers.f.source_detail", "来源说明", "Source details"),
    ("customers.f.stage", "生命周期", "Lifecycle stage"),
    ("customers.f.status", "状态", "Status"),
    ("customers.f.summary", "接触内容", "Summary"),
    ("customers.f.tags", "标签", "Tags"),
    ("customers.f.title", "职务", "Job title"),
    ("customers.f.version", "版本", "Version"),
    ("customers.f.wechat", "微信号", "WeChat ID"),
    ("customers.fix_errors", "请修改标出的内容后重新提交", "Please correct the marked fields and submit again"),
    ("customers.intention_status.booked", "已成交", "Booked"),
    ("customers.intention_status.dropped", "已放弃", "Dropped"),
    ("customers.intention_status.open", "意向中", "Open"),
    ("customers.intentions", "出游意向", "Travel intentions"),
    ("customers.last_contact", "最近接触", "Last contact"),
    ("customers.lunar_hint", "例如：八月十五", "e.g. 八月十五 (15th day of the 8th month)"),
    ("customers.make_primary", "设为主要联系人", "Make primary"),
    ("customers.merged_into", "该客户已合并到：", "This customer was merged into:"),
    ("customers.new", "新建客户", "New customer"),
    ("customers.new_opportunity", "新建商机", "New opportunity"),
    ("customers.new_order", "新建订单", "New order"),
    ("customers.new_quote", "新建报价", "New quote"),
    ("customers.no_custom_filter", "（不按自定义字段）", "(no custom field)"),
    ("customers.no_grade", "未评级", "Not graded"),
    ("customers.not_contacted_days", "超过几天未接触", "Not contacted for (days)"),
    ("customers.not_given", "（未填）", "(not given)"),
    ("customers.now_if_empty", "留空为当前时间", "Empty means now"),
    ("customers.page", "页码", "Page"),
    ("customers.passport_expired", "护照已过期", "Passport expired"),
    ("customers.passport_expiring", "护照将在 6 个月内到期", "Passport expires within 6 months"),
    ("customers.per_page", "每页条数", "Rows per page"),
    ("customers.place", "省市", "Province and city"),
    (
        "customers.preference_hint",
        "将写入客户档案，各部门都能看到",
        "Goes into the customer profile every department sees",
    ),
    ("customers.preferences", "偏好", "Preferences"),
    ("customers.prev_page", "上一页", "Previous page"),
    ("customers.primary", "主要联系人", "Primary"),
    ("customers.profile", "基本资料", "Profile"),
    ("customers.quick_entry", "记录接触", "Record contact"),
    ("customers.quote_history", "报价历史", "Quote history"),
    ("customers.reach", "联系方式", "How to reach"),
    ("customers.record_interaction", "记录一次接触", "Record an interaction"),
    ("customers.refine", "结果较多，请输入更多字以缩小范围", "many matches: type more to narrow the search"),
    ("customers.remove_contact_confirm", "确定删除该联系人吗？", "Remove this contact person?"),
    ("customers.reveal", "显示完整号码", "Show"),
    (
        "customers.reveal_hint",
        "每次查看完整号码都会记入操作日志",
        "Every time a full number is shown, it is written to the audit trail",
    ),
    ("customers.search", "搜索", "Search"),
    (
        "customers.search_hint",
        "姓名、拼音或首字母、电话或尾号、单位、编号",
        "Name, pinyin or initials, phone or last 4 digits, company, code",
    ),
    ("customers.section.address", "地址", "Address"),
    ("customers.section.basic", "基本信息", "Basics"),
    ("customers.section.custom", "自定义字段", "Custom fields"),
    ("customers.section.documents", "证件", "Documents"),
    ("customers.section.relationship", "来源与归属", "Source and ownership"),
    ("customers.section.work", "工作", "Work"),
    ("customers.tag", "标签", "Tag"),
    ("customers.tags_hint", "多个标签用逗号、顿号或分号分开", "Separate tags with commas or semicolons"),
    ("customers.team", "团队", "Team"),
    ("customers.timeline", "客户时间线", "Timeline"),
    ("customers.timeline.change", "变更", "Change"),
    ("customers.timeline.detail", "详情", "Details"),
    ("customers.timeline.interaction", "接触", "Interaction"),
    ("customers.timeline.kind", "类型", "Kind"),
    ("customers.timeline.opportunity", "商机", "Opportunity"),
    ("customers.timeline.order", "订单", "Order"),
    ("customers.timeline.quote", "报价", "Quote"),
    ("customers.timeline.receipt", "收付款", "Payment"),
    ("customers.title", "客户档案", "Customers"),
    ("customers.total", "符合条件的客户", "Matching customers"),
    ("customers.value_card", "客户价值", "Customer value"),
    ("customers.value_pending", "价值评分将随价值引擎上线", "Scores arrive with the value engine"),
    ("customers.view_restored", "已恢复您上次的列表视图。", "Your last view of the list was restored."),
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
        assert!(keys.iter().all(|k| k.starts_with("customers.")));
    }

    #[test]
    fn every_field_and_choice_has_a_label() {
        for f in FIELDS {
            let key = format!("customers.f.{f}");
            assert!(TEXTS.iter().any(|(k, _, _)| *k == key), "{key}");
        }
        for s in INTENTION_STATUSES {
            assert_ne!(intention_status_label(s, Lang::Zh), s);
        }
        assert_eq!(field_label("mobile", Lang::Zh, &[]), "手机");
        assert_eq!(field_label("custom.vip", Lang::En, &[]), "vip");
        assert_eq!(kind_label("partner", Lang::Zh), "同业");
        assert_eq!(kind_label("robot", Lang::Zh), "robot");
    }

    #[test]
    fn chinese_messages_come_from_the_code() {
        let e = FieldErrors(vec![
            FieldError::new("mobile", "invalid_mobile", "mobile must be a mainland mobile number"),
            FieldError::new("email", "invalid_email", "email is not an e-mail address"),
            FieldError::new("x", "brand_new", "x is odd"),
        ]);
        let zh = Errors::of(&e, Lang::Zh, &[]);
        assert_eq!(zh.get("mobile"), Some("手机号码应为 13 至 19 开头的 11 位数字"));
        assert_eq!(zh.get("email"), Some("邮箱地址格式不正确"), "shared admin texts");
        assert_eq!(zh.get("x"), Some("x is odd"));
        assert_eq!(zh.all()[0], "手机: 手机号码应为 13 至 19 开头的 11 位数字");
        assert_eq!(Errors::of(&e, Lang::En, &[]).get("mobile"), Some("mobile must be a mainland mobile number"));
    }
}
