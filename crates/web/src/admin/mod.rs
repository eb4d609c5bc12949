//! Staff administration: accounts, teams and roles (permission `users.manage`).
//!
//! Each part has its pages and its JSON API side by side; this module merges
//! their routers and holds what the three share: inline form errors in the
//! reader's language, select options, and the interface texts.

mod roles;
mod teams;
mod users;

use crate::error::AppError;
use crate::i18n::Lang;
use crate::AppState;
use axum::http::StatusCode;
use domain::{FieldError, FieldErrors};
use serde::{Deserialize, Deserializer};
use utoipa_axum::router::OpenApiRouter;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().merge(users::router()).merge(teams::router()).merge(roles::router())
}

/// One `<option>` of a `<select>`.
pub(crate) struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

impl Opt {
    pub(crate) fn new(value: impl ToString, label: impl Into<String>, current: &str) -> Opt {
        let value = value.to_string();
        let selected = value == current;
        Opt { value, label: label.into(), selected }
    }
}

/// Form errors to show next to their fields, already in the reader's language.
#[derive(Default)]
pub(crate) struct Errors {
    /// A message for the whole form (stale version, …).
    pub general: Option<String>,
    fields: Vec<(String, String)>,
}

impl Errors {
    /// Errors for `fields`, each message translated by its code where a
    /// translation exists (English keeps the domain's own, more specific text).
    pub(crate) fn of(fields: &FieldErrors, lang: Lang) -> Errors {
        let fields = fields.0.iter().map(|e| (e.field.clone(), message(e, lang))).collect();
        Errors { general: None, fields }
    }

    /// A message for the whole form.
    pub(crate) fn general(text: &str) -> Errors {
        Errors { general: Some(text.to_string()), fields: Vec::new() }
    }

    /// The message for `field`, if any.
    pub(crate) fn get(&self, field: &str) -> Option<&str> {
        self.fields.iter().find(|(f, _)| f == field).map(|(_, m)| m.as_str())
    }

    /// Every field message, for a summary at the top of a page.
    pub(crate) fn all(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().map(|(_, m)| m.as_str())
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
    let key = format!("admin.error.{}", e.code);
    match TEXTS.iter().find(|(k, _, _)| *k == key) {
        Some((_, zh, _)) => (*zh).to_string(),
        None => e.message.clone(),
    }
}

/// How a page answers a failed form: field problems and stale versions are
/// shown on the form again; anything else is an ordinary error page.
pub(crate) enum FormProblem {
    /// 422 with these errors.
    Invalid(Errors),
    /// 409: someone else saved first.
    Stale,
}

impl FormProblem {
    pub(crate) fn from_error(e: AppError, lang: Lang) -> Result<FormProblem, AppError> {
        match e {
            AppError::Invalid(f) => Ok(FormProblem::Invalid(Errors::of(&f, lang))),
            AppError::Stale { .. } => Ok(FormProblem::Stale),
            other => Err(other),
        }
    }

    pub(crate) fn status(&self) -> StatusCode {
        match self {
            FormProblem::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            FormProblem::Stale => StatusCode::CONFLICT,
        }
    }

    pub(crate) fn into_errors(self, lang: Lang) -> Errors {
        match self {
            FormProblem::Invalid(e) => e,
            FormProblem::Stale => Errors::general(lang.t("common.stale")),
        }
    }
}

/// 303 to `to`: the browser follows with a GET, so reloading the result page
/// never submits the form twice.
pub(crate) use crate::page::see_other;

/// A form's optional id field: empty means none.
pub(crate) fn form_id(field: &str, v: &str) -> Result<Option<i64>, FieldError> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    v.parse::<i64>().map(Some).map_err(|_| FieldError::new(field, "invalid", format!("{field} must be an id")))
}

/// A form's version field.
pub(crate) fn form_version(v: &str) -> Result<i64, AppError> {
    v.trim().parse::<i64>().map_err(|_| AppError::BadRequest("the form's version field is missing or invalid".into()))
}

/// For JSON fields that may be absent (keep), `null` (clear) or a value.
pub(crate) fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Texts of the administration pages: (key, 中文, English), sorted by key.
/// Field labels reuse the shared `user.*`, `team.*` and `role.*` keys.
pub(crate) static TEXTS: &[(&str, &str, &str)] = &[
    ("admin.account", "账号信息", "Account"),
    ("admin.active_only", "仅启用", "Active only"),
    ("admin.created_at", "创建时间", "Created"),
    ("admin.edit", "编辑", "Edit"),
    ("admin.error.contains_username", "密码不能包含用户名", "The password must not contain the username"),
    ("admin.error.cycle", "不能把团队移到它自己或其下级团队之下", "A team cannot be placed below itself"),
    ("admin.error.invalid", "格式不正确", "The value is not valid"),
    ("admin.error.invalid_email", "邮箱地址格式不正确", "Not an e-mail address"),
    ("admin.error.invalid_length", "长度不符合要求", "The length is not allowed"),
    ("admin.error.invalid_phone", "电话号码格式不正确", "Not a phone number"),
    ("admin.error.not_empty", "团队中仍有成员或下级团队，请先移走", "The team still has members or teams below it"),
    ("admin.error.not_found", "所选的记录不存在", "The chosen record does not exist"),
    ("admin.error.not_scoped", "此权限只能授予或不授予", "This permission is either granted or not"),
    ("admin.error.required", "必填", "Required"),
    ("admin.error.self_deactivate", "不能停用自己的账号", "You cannot deactivate your own account"),
    (
        "admin.error.self_lockout",
        "不能从自己的角色中移除“管理员工、团队与角色”权限",
        "You cannot remove staff management from your own role",
    ),
    ("admin.error.taken", "已被占用", "Already taken"),
    ("admin.error.too_common", "密码过于常见，容易被猜到，请换一个", "The password is too easy to guess"),
    ("admin.error.too_long", "内容过长", "Too long"),
    ("admin.error.too_short", "密码至少需要 12 个字符", "The password is too short"),
    ("admin.error.unknown", "未知的权限", "Unknown permission"),
    ("admin.fix_errors", "请修改标出的内容后重新提交", "Please correct the marked fields and submit again"),
    ("admin.granted", "授予", "Granted"),
    ("admin.members", "成员", "Members"),
    (
        "admin.move_first",
        "只能删除没有成员和下级团队的团队",
        "Only a team without members or teams below it can be deleted",
    ),
    ("admin.no_grants", "尚未授予任何权限", "No permissions granted yet"),
    ("admin.none", "（无）", "(none)"),
    ("admin.password_hint", "设置后，该账号在所有设备上的登录都会退出", "Setting it signs the account out everywhere"),
    ("admin.password_set", "密码已重置，该账号的登录已全部退出", "Password set; the account was signed out everywhere"),
    ("admin.q", "搜索用户名或姓名", "Search username or name"),
    (
        "admin.role_code_hint",
        "小写字母开头，可含小写字母、数字和下划线，2 至 32 位",
        "2–32 characters: a-z first, then a-z, 0-9 or _",
    ),
    ("admin.set_password", "重置密码", "Set a new password"),
    ("admin.team_delete_confirm", "确定删除该团队吗？", "Delete this team?"),
    ("admin.team_edit", "修改团队", "Edit team"),
    ("admin.top_level", "（顶级）", "(top level)"),
    ("admin.user_edit", "编辑员工账号", "Edit staff account"),
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
        assert!(keys.iter().all(|k| k.starts_with("admin.")));
    }

    #[test]
    fn form_errors_are_translated_by_code_in_chinese_only() {
        let f = FieldErrors(vec![FieldError::new("email", "invalid_email", "email is not an e-mail address")]);
        assert_eq!(Errors::of(&f, Lang::Zh).get("email"), Some("邮箱地址格式不正确"));
        assert_eq!(Errors::of(&f, Lang::En).get("email"), Some("email is not an e-mail address"));
        let odd = FieldErrors(vec![FieldError::new("x", "something_new", "x is odd")]);
        assert_eq!(Errors::of(&odd, Lang::Zh).get("x"), Some("x is odd"), "falls back to the message");
    }

    #[test]
    fn empty_form_ids_mean_none() {
        assert_eq!(form_id("team_id", " ").unwrap(), None);
        assert_eq!(form_id("team_id", "7").unwrap(), Some(7));
        assert_eq!(form_id("team_id", "x").unwrap_err().field, "team_id");
    }
}
