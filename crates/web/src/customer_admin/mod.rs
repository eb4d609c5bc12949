//! Customer administration (客户管理): duplicates and merging
//! (`customers.merge`), moving customers to other owners
//! (`customers.reassign`), personal-data rights (`customers.privacy`) and the
//! configuration of required and custom fields (`customers.configure`).
//!
//! Each part has its pages and its JSON API side by side; this module merges
//! their routers and holds what they share: the short form of a customer,
//! field labels, and the interface texts.

mod duplicates;
mod fields;
mod privacy;
mod reassign;

use crate::ctx::Req;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::AppState;
use domain::access::Permission;
use domain::customer::{CustomerKind, Gender, LifecycleStage, PartnerType, SourceChannel};
use domain::ids::UserId;
use serde::Serialize;
use std::collections::HashMap;
use store::customers::Customer;
use utoipa_axum::router::OpenApiRouter;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(duplicates::router())
        .merge(reassign::router())
        .merge(privacy::router())
        .merge(fields::router())
}

/// A customer in short, as these pages and the API list it. Phones and
/// e-mail are masked unless the caller may see personal data
/// (`customers.pii`); documents are always masked here.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Brief {
    id: i64,
    /// Customer code (`C000123`).
    code: String,
    /// `individual`, `organization` or `partner`.
    kind: String,
    name: String,
    mobile: Option<String>,
    email: Option<String>,
    employer: Option<String>,
    /// Masked (`110105********1234`).
    id_card: Option<String>,
    /// Masked.
    passport: Option<String>,
    owner_id: i64,
    team_id: Option<i64>,
    /// Set on a customer merged into another.
    merged_into_id: Option<i64>,
    /// Personal data erased; kept for financial records.
    restricted: bool,
    /// Send back with a merge.
    version: i64,
}

impl Brief {
    pub(crate) fn of(c: &Customer, personal: bool) -> Brief {
        let d = &c.data;
        Brief {
            id: c.id.0,
            code: c.code.clone(),
            kind: d.kind.clone(),
            name: d.name.clone(),
            mobile: d.mobile.as_deref().map(|m| shown_phone(m, personal)),
            email: d.email.as_deref().map(|e| if personal { e.to_string() } else { domain::audit::mask(e) }),
            employer: d.employer.clone(),
            id_card: d.id_card_masked.clone(),
            passport: d.passport_masked.clone(),
            owner_id: d.owner_id.0,
            team_id: c.team_id.map(|t| t.0),
            merged_into_id: c.merged_into_id.map(|m| m.0),
            restricted: c.restricted,
            version: c.version,
        }
    }
}

fn shown_phone(p: &str, personal: bool) -> String {
    if personal {
        p.to_string()
    } else {
        domain::customer::mask_phone(p)
    }
}

/// Whether the caller sees phones and e-mail in full.
pub(crate) fn sees_personal(req: &Req) -> bool {
    req.principal.as_deref().is_some_and(|p| p.can(Permission::CustomersPii))
}

/// The label of a customer field (merge rows, required fields).
pub(crate) fn field_label(lang: Lang, field: &str) -> &'static str {
    lang.t(&format!("cadmin.f.{field}"))
}

/// A field's value as people read it: codes as labels, documents masked,
/// phones and e-mail masked unless `personal`. Empty is `None`.
pub(crate) fn field_value(c: &Customer, field: &str, lang: Lang, personal: bool) -> Option<String> {
    let d = &c.data;
    let zh = lang == Lang::Zh;
    let label = |code: &Option<String>, f: fn(&str) -> Option<&'static str>| {
        code.as_deref().map(|v| f(v).map(str::to_string).unwrap_or_else(|| v.to_string()))
    };
    let v: Option<String> = match field {
        "kind" => CustomerKind::from_code(&d.kind).map(|k| k.label(zh).to_string()).or(Some(d.kind.clone())),
        "name" => Some(d.name.clone()),
        "gender" => {
            if zh {
                label(&d.gender, |v| Gender::from_code(v).map(Gender::label_zh))
            } else {
                label(&d.gender, |v| Gender::from_code(v).map(Gender::label_en))
            }
        }
        "birthday" => d.birthday.clone(),
        "lunar_birthday" => d.lunar_birthday.clone(),
        "id_card" => d.id_card_masked.clone(),
        "passport" => d.passport_masked.as_ref().map(|p| match &d.passport_expiry {
            Some(e) => format!("{p} ({e})"),
            None => p.clone(),
        }),
        "employer" => d.employer.clone(),
        "title" => d.title.clone(),
        "mobile" => d.mobile.as_deref().map(|p| shown_phone(p, personal)),
        "mobile2" => d.mobile2.as_deref().map(|p| shown_phone(p, personal)),
        "landline" => d.landline.as_deref().map(|p| shown_phone(p, personal)),
        "email" => d.email.as_deref().map(|e| if personal { e.to_string() } else { domain::audit::mask(e) }),
        "wechat" => d.wechat.as_deref().map(|e| if personal { e.to_string() } else { domain::audit::mask(e) }),
        "fax" => d.fax.clone(),
        "province" => d.province.clone(),
        "city" => d.city.clone(),
        "district" => d.district.clone(),
        "address" => d.address.as_deref().map(|e| if personal { e.to_string() } else { domain::audit::mask(e) }),
        "hobbies" => d.hobbies.clone(),
        "diet" => d.diet.clone(),
        "room_pref" => d.room_pref.clone(),
        "seat_pref" => d.seat_pref.clone(),
        "source" => {
            if zh {
                label(&d.source, |v| SourceChannel::from_code(v).map(SourceChannel::label_zh))
            } else {
                label(&d.source, |v| SourceChannel::from_code(v).map(SourceChannel::label_en))
            }
        }
        "source_detail" => d.source_detail.clone(),
        "partner_type" => {
            if zh {
                label(&d.partner_type, |v| PartnerType::from_code(v).map(PartnerType::label_zh))
            } else {
                label(&d.partner_type, |v| PartnerType::from_code(v).map(PartnerType::label_en))
            }
        }
        "industry" => d.industry.clone(),
        "license_no" => d.license_no.clone(),
        "notes" => d.notes.clone(),
        "stage" => LifecycleStage::from_code(&d.stage).map(|s| s.label(zh).to_string()).or(Some(d.stage.clone())),
        "grade" => d.grade.clone(),
        "consent" => {
            let k = &d.consent;
            let on: Vec<&str> = [
                (k.email, "cadmin.consent.email"),
                (k.sms, "cadmin.consent.sms"),
                (k.wechat, "cadmin.consent.wechat"),
                (k.phone, "cadmin.consent.phone"),
            ]
            .into_iter()
            .filter(|(on, _)| *on)
            .map(|(_, key)| lang.t(key))
            .collect();
            (!on.is_empty()).then(|| on.join("、"))
        }
        _ => field
            .strip_prefix("custom.")
            .and_then(|k| d.custom.get(k))
            .map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())),
    };
    v.filter(|s| !s.trim().is_empty())
}

/// Display names of every staff account, active or not (owners may have left).
pub(crate) async fn staff_names(state: &AppState) -> Result<HashMap<UserId, String>, AppError> {
    let page = store::users::list(&state.store, &store::users::Filter { limit: 10_000, ..Default::default() }).await?;
    Ok(page.items.into_iter().map(|u| (u.id, u.display_name)).collect())
}

/// Texts of the customer administration pages: (key, 中文, English), sorted by key.
pub(crate) static TEXTS: &[(&str, &str, &str)] = &[
    ("cadmin.a", "客户 A（保留）", "Customer A (kept)"),
    ("cadmin.add_field", "添加自定义字段", "Add a custom field"),
    ("cadmin.all_of_person", "某人的全部客户", "All customers of a person"),
    ("cadmin.approve", "批准并删除个人信息", "Approve and erase"),
    ("cadmin.b", "客户 B（并入 A）", "Customer B (merged into A)"),
    ("cadmin.builtin_required", "必填的内置字段", "Required built-in fields"),
    ("cadmin.choices", "选项（每行一个）", "Choices (one per line)"),
    ("cadmin.compare", "比较并合并", "Compare and merge"),
    ("cadmin.consent", "营销许可", "Marketing consent"),
    ("cadmin.consent.email", "邮件", "E-mail"),
    ("cadmin.consent.phone", "电话", "Phone"),
    ("cadmin.consent.sms", "短信", "SMS"),
    ("cadmin.consent.wechat", "微信", "WeChat"),
    ("cadmin.custom_fields", "自定义字段", "Custom fields"),
    ("cadmin.customer", "客户", "Customer"),
    ("cadmin.decide", "处理", "Decide"),
    ("cadmin.decided", "已处理", "Decided"),
    ("cadmin.decision", "处理结果", "Decision"),
    ("cadmin.decision.approved", "已批准（已删除）", "Approved (erased)"),
    ("cadmin.decision.pending", "待处理", "Pending"),
    ("cadmin.decision.rejected", "已拒绝", "Rejected"),
    ("cadmin.decision_note", "处理理由", "Reason for the decision"),
    ("cadmin.download_json", "下载全部个人信息（JSON）", "Download all personal data (JSON)"),
    ("cadmin.duplicates", "疑似重复客户", "Likely duplicates"),
    (
        "cadmin.duplicates_hint",
        "以下客户可能是同一人或同一单位。比较后可合并，合并不会丢失任何记录。",
        "These customers may be the same person or company. Compare them and merge; a merge loses nothing.",
    ),
    (
        "cadmin.erase_confirm",
        "批准后该客户的个人信息将被永久删除，且无法恢复。确定吗？",
        "Approving erases this customer's personal data for good. Continue?",
    ),
    ("cadmin.erased", "个人信息已删除（受限记录）", "Personal data erased (restricted record)"),
    ("cadmin.erasure_request", "登记删除请求", "Record an erasure request"),
    ("cadmin.error.already_decided", "该请求已处理", "This request was already decided"),
    ("cadmin.error.already_merged", "该客户已被合并到其他客户", "This customer was already merged into another"),
    ("cadmin.error.erased", "该客户的个人信息已删除，无法进行此操作", "This customer's personal data was erased"),
    ("cadmin.error.inactive", "该员工账号已停用", "That staff account is deactivated"),
    ("cadmin.error.invalid", "格式不正确", "The value is not valid"),
    ("cadmin.error.invalid_choice", "不是可选的值", "Not one of the choices"),
    ("cadmin.error.no_members", "该团队没有可接收客户的在职成员", "The team has no active member to receive customers"),
    ("cadmin.error.not_found", "所选的记录不存在", "The chosen record does not exist"),
    ("cadmin.error.required", "必填", "Required"),
    ("cadmin.error.reserved", "与内置字段重名", "The name of a built-in field"),
    ("cadmin.error.same_customer", "不能把客户合并到自身", "A customer cannot be merged into itself"),
    ("cadmin.error.taken", "已被占用", "Already taken"),
    ("cadmin.error.too_long", "内容过长", "Too long"),
    ("cadmin.error.unknown_field", "未知字段", "Unknown field"),
    ("cadmin.f.address", "地址", "Address"),
    ("cadmin.f.birthday", "生日", "Birthday"),
    ("cadmin.f.city", "城市", "City"),
    ("cadmin.f.consent", "营销许可", "Marketing consent"),
    ("cadmin.f.diet", "饮食偏好", "Diet"),
    ("cadmin.f.district", "区县", "District"),
    ("cadmin.f.email", "邮箱", "E-mail"),
    ("cadmin.f.employer", "工作单位", "Employer"),
    ("cadmin.f.fax", "传真", "Fax"),
    ("cadmin.f.gender", "性别", "Gender"),
    ("cadmin.f.grade", "客户等级", "Grade"),
    ("cadmin.f.hobbies", "兴趣爱好", "Hobbies"),
    ("cadmin.f.id_card", "身份证号", "ID card"),
    ("cadmin.f.industry", "行业", "Industry"),
    ("cadmin.f.kind", "客户类型", "Kind"),
    ("cadmin.f.landline", "固定电话", "Landline"),
    ("cadmin.f.license_no", "营业执照号", "Business licence no."),
    ("cadmin.f.lunar_birthday", "农历生日", "Lunar birthday"),
    ("cadmin.f.mobile", "手机", "Mobile"),
    ("cadmin.f.mobile2", "手机 2", "Second mobile"),
    ("cadmin.f.name", "名称", "Name"),
    ("cadmin.f.notes", "备注", "Notes"),
    ("cadmin.f.owner_id", "负责人", "Owner"),
    ("cadmin.f.partner_type", "同业类型", "Partner type"),
    ("cadmin.f.passport", "护照（有效期）", "Passport (expiry)"),
    ("cadmin.f.province", "省份", "Province"),
    ("cadmin.f.room_pref", "房型偏好", "Room preference"),
    ("cadmin.f.seat_pref", "座位偏好", "Seat preference"),
    ("cadmin.f.source", "客户来源", "Source"),
    ("cadmin.f.source_detail", "来源说明", "Source detail"),
    ("cadmin.f.stage", "生命周期阶段", "Lifecycle stage"),
    ("cadmin.f.title", "职务", "Job title"),
    ("cadmin.f.wechat", "微信号", "WeChat"),
    ("cadmin.field", "字段", "Field"),
    ("cadmin.field_key", "字段标识", "Key"),
    (
        "cadmin.field_key_hint",
        "小写字母开头，可含小写字母、数字和下划线，最多 32 位；创建后不能修改",
        "a-z first, then a-z, 0-9 or _, up to 32; cannot change later",
    ),
    ("cadmin.field_type", "类型", "Type"),
    ("cadmin.fields_title", "客户字段设置", "Customer fields"),
    ("cadmin.from_user", "原负责人", "Current owner"),
    ("cadmin.keep", "保留哪一方", "Keep"),
    ("cadmin.kind.individual", "散客", "Individual"),
    ("cadmin.kind.organization", "集团/企业", "Organization"),
    ("cadmin.kind.partner", "同业", "Trade partner"),
    ("cadmin.label_en", "英文名称", "English label"),
    ("cadmin.label_zh", "中文名称", "Chinese label"),
    ("cadmin.merge", "合并", "Merge"),
    (
        "cadmin.merge_confirm",
        "确定把客户 B 合并到客户 A 吗？B 的全部记录将转到 A。",
        "Merge customer B into customer A? All of B's records move to A.",
    ),
    (
        "cadmin.merge_hint",
        "B 的接触记录、联系人、意向、标签和请求将全部转到 A。A 为空的字段默认取 B 的值，也可逐项选择。B 会保留为“已合并”记录。",
        "B's interactions, contacts, intentions, tags and requests all move to A. Fields empty on A take B's value unless you choose otherwise. B is kept, marked as merged.",
    ),
    ("cadmin.merge_title", "合并客户", "Merge customers"),
    ("cadmin.moved", "已转移客户数：", "Customers moved: "),
    ("cadmin.nav.fields", "客户字段", "Customer fields"),
    ("cadmin.no_pairs", "没有发现疑似重复的客户", "No likely duplicates found"),
    ("cadmin.personal_data", "个人信息全览", "All personal data held"),
    ("cadmin.position", "排序", "Position"),
    ("cadmin.print", "打印", "Print"),
    ("cadmin.privacy", "个人信息权利", "Personal-data rights"),
    (
        "cadmin.privacy_hint",
        "依据《个人信息保护法》，客户可要求查阅或删除其个人信息。删除后保留客户编号和财务记录，记录标记为受限。",
        "Under the PIPL a customer may ask for a copy or the erasure of their personal data. Erasure keeps the customer code and financial records and marks the record restricted.",
    ),
    ("cadmin.reason.same_email", "邮箱相同", "Same e-mail"),
    ("cadmin.reason.same_id_card", "身份证号相同", "Same ID card"),
    ("cadmin.reason.same_mobile", "手机号相同", "Same mobile"),
    ("cadmin.reason.same_name_same_company", "姓名和单位相同", "Same name and company"),
    ("cadmin.reason.same_name_similar_phone", "姓名相同、电话相近", "Same name, similar phone"),
    ("cadmin.reason.same_passport", "护照号相同", "Same passport"),
    ("cadmin.reasons", "依据", "Why"),
    ("cadmin.reassign", "转移客户", "Reassign"),
    (
        "cadmin.reassign_hint",
        "员工离职或调岗时，把其客户整体转给一位同事，或在团队的在职成员之间平均分配（客户最少者优先，轮流分配）。",
        "When someone leaves, move all their customers to one colleague or spread them evenly across a team's active members (least loaded first, in turn).",
    ),
    ("cadmin.reassign_title", "转移客户负责人", "Reassign customers"),
    ("cadmin.reject", "拒绝", "Reject"),
    ("cadmin.request_reason", "申请理由", "Reason given"),
    ("cadmin.requested_by", "申请人", "Requested by"),
    ("cadmin.requests", "个人信息请求记录", "Personal-data requests"),
    ("cadmin.required", "必填", "Required"),
    ("cadmin.restricted", "受限", "Restricted"),
    ("cadmin.save_required", "保存必填设置", "Save required fields"),
    ("cadmin.section.audit_trail", "操作记录", "Audit trail"),
    ("cadmin.section.consent", "营销许可", "Marketing consent"),
    ("cadmin.section.contacts", "联系人", "Contacts"),
    ("cadmin.section.customer", "基本资料", "Profile"),
    ("cadmin.section.intentions", "出行意向", "Travel intentions"),
    ("cadmin.section.interactions", "接触记录", "Interactions"),
    ("cadmin.section.merged_records", "已并入的记录", "Records merged into this one"),
    ("cadmin.section.requests", "个人信息请求", "Personal-data requests"),
    ("cadmin.section.tags", "标签", "Tags"),
    ("cadmin.spread_team", "平均分配给团队成员", "Spread across a team"),
    ("cadmin.swap", "交换 A 和 B", "Swap A and B"),
    ("cadmin.to_team", "接收团队", "Receiving team"),
    ("cadmin.to_user", "新负责人", "New owner"),
    ("cadmin.type.choice", "选项", "Choice"),
    ("cadmin.type.date", "日期", "Date"),
    ("cadmin.type.number", "数字", "Number"),
    ("cadmin.type.text", "文本", "Text"),
    ("cadmin.value_a", "A 的值", "A's value"),
    ("cadmin.value_b", "B 的值", "B's value"),
    ("cadmin.view_printable", "查看可打印版本", "View a printable copy"),
];

/// Form errors to show next to their fields: in Chinese, translated by code
/// from these texts where a translation exists; in English, the store's and
/// domain's own messages, which are more specific.
pub(crate) fn errors_of(f: &domain::FieldErrors, lang: Lang) -> crate::admin::Errors {
    let shown: Vec<domain::FieldError> =
        f.0.iter()
            .map(|e| {
                let key = format!("cadmin.error.{}", e.code);
                let message = match TEXTS.iter().find(|(k, _, _)| *k == key) {
                    Some((_, zh, _)) if lang == Lang::Zh => (*zh).to_string(),
                    _ => e.message.clone(),
                };
                domain::FieldError::new(e.field.clone(), e.code, message)
            })
            .collect();
    // `Errors::of` in English keeps each message as it is.
    crate::admin::Errors::of(&domain::FieldErrors(shown), Lang::En)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_sorted_prefixed_and_unique() {
        let keys: Vec<&str> = TEXTS.iter().map(|(k, _, _)| *k).collect();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        assert_eq!(keys, sorted);
        let mut seen = std::collections::HashSet::new();
        for (k, _, _) in TEXTS {
            assert!(k.starts_with("cadmin."), "{k}");
            assert!(seen.insert(*k), "{k} twice");
        }
    }

    #[test]
    fn every_field_a_merge_or_the_settings_name_has_a_label() {
        let idx: std::collections::HashSet<&str> = TEXTS.iter().map(|(k, _, _)| *k).collect();
        let fields = store::customer_merge::FIELDS.iter().map(|(f, _)| *f);
        for f in fields.chain(store::customer_fields::REQUIRABLE.iter().copied()).chain(["consent", "owner_id"]) {
            assert!(idx.contains(format!("cadmin.f.{f}").as_str()), "label of {f}");
        }
        for r in [
            store::customer_dupes::SAME_MOBILE,
            store::customer_dupes::SAME_ID_CARD,
            store::customer_dupes::SAME_PASSPORT,
            store::customer_dupes::SAME_EMAIL,
            store::customer_dupes::SAME_NAME_SIMILAR_PHONE,
            store::customer_dupes::SAME_NAME_SAME_COMPANY,
        ] {
            assert!(idx.contains(format!("cadmin.reason.{r}").as_str()), "reason {r}");
        }
        for s in ["customer", "consent", "tags", "contacts", "intentions", "interactions", "requests"]
            .into_iter()
            .chain(["merged_records", "audit_trail"])
        {
            assert!(idx.contains(format!("cadmin.section.{s}").as_str()), "section {s}");
        }
    }
}
