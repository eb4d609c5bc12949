//! Interface texts in Simplified Chinese (default) and English.
//!
//! Texts are looked up by key; a test checks that every key used in a
//! template exists and that no text is missing in either language.

use axum::extract::Request;
use domain::user::Locale;
use std::collections::HashMap;
use std::sync::OnceLock;

/// The interface language of one response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// 简体中文.
    #[default]
    Zh,
    /// English.
    En,
}

impl Lang {
    /// From a user's stored preference.
    pub fn from_locale(l: Locale) -> Lang {
        match l {
            Locale::ZhCn => Lang::Zh,
            Locale::En => Lang::En,
        }
    }

    /// For visitors not logged in: `?lang=`, then the language cookie, then Chinese.
    pub fn from_request(req: &Request) -> Lang {
        let q = req.uri().query().unwrap_or("");
        if q.split('&').any(|kv| kv == "lang=en") {
            return Lang::En;
        }
        if q.split('&').any(|kv| kv == "lang=zh-CN" || kv == "lang=zh") {
            return Lang::Zh;
        }
        match crate::ctx::cookie(req.headers(), crate::ctx::LANG_COOKIE) {
            Some("en") => Lang::En,
            _ => Lang::Zh,
        }
    }

    /// The `lang` attribute of the page.
    pub fn html_lang(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The text for `key` (`??` if unknown; a test prevents that).
    pub fn t(self, key: &str) -> &'static str {
        match index().get(key) {
            Some((zh, en)) => match self {
                Lang::Zh => zh,
                Lang::En => en,
            },
            None => {
                tracing::warn!(key, "missing interface text");
                "??"
            }
        }
    }
}

/// Each area keeps its own texts next to its code; they are merged here.
fn tables() -> [&'static [(&'static str, &'static str, &'static str)]; 13] {
    [
        TEXTS,
        crate::account::TEXTS,
        crate::admin::TEXTS,
        crate::audit::TEXTS,
        crate::settings::TEXTS,
        crate::customers::TEXTS,
        crate::customer_import::TEXTS,
        crate::customer_admin::TEXTS,
        crate::catalog::TEXTS,
        crate::sales::TEXTS,
        crate::orders::TEXTS,
        crate::finance::TEXTS,
        crate::value::TEXTS,
    ]
}

type Index = HashMap<&'static str, (&'static str, &'static str)>;

fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| tables().iter().flat_map(|t| t.iter()).map(|(k, zh, en)| (*k, (*zh, *en))).collect())
}

/// Shared texts: (key, 中文, English), sorted by key.
pub(crate) static TEXTS: &[(&str, &str, &str)] = &[
    ("account.api_tokens", "API 令牌", "API tokens"),
    ("account.change_password", "修改密码", "Change password"),
    ("account.current_password", "当前密码", "Current password"),
    ("account.language", "界面语言", "Interface language"),
    ("account.language_saved", "界面语言已更新", "Interface language updated"),
    ("account.login_history", "我的登录记录", "My login history"),
    ("account.new_password", "新密码（12 至 128 个字符）", "New password (12 to 128 characters)"),
    ("account.new_token", "新建令牌", "New token"),
    (
        "account.password_changed",
        "密码已修改，其他设备上的登录已退出",
        "Password changed; other sessions were signed out",
    ),
    ("account.title", "我的账户", "My account"),
    (
        "account.token_created",
        "令牌已创建。请立即复制，它不会再次显示：",
        "Token created. Copy it now; it will not be shown again:",
    ),
    ("account.token_name", "令牌名称", "Token name"),
    ("account.wrong_password", "当前密码不正确", "The current password is wrong"),
    ("action.create", "新建", "Create"),
    ("action.delete", "删除", "Delete"),
    ("action.export", "导出", "Export"),
    ("action.reveal", "查看敏感信息", "Reveal"),
    ("action.update", "修改", "Update"),
    ("audit.action", "操作", "Action"),
    ("audit.actor", "操作人", "By"),
    ("audit.changes", "字段变更", "Changes"),
    ("audit.entity", "对象", "Record"),
    ("audit.summary", "摘要", "Summary"),
    ("audit.title", "操作日志", "Audit trail"),
    ("common.active", "启用", "Active"),
    ("common.add", "添加", "Add"),
    ("common.all", "全部", "All"),
    ("common.back", "返回", "Back"),
    ("common.cancel", "取消", "Cancel"),
    ("common.filter", "筛选", "Filter"),
    ("common.inactive", "已停用", "Deactivated"),
    ("common.ip", "IP 地址", "IP address"),
    ("common.name", "名称", "Name"),
    ("common.next_page", "下一页", "Next page"),
    ("common.no", "否", "No"),
    ("common.none", "暂无记录", "Nothing here yet"),
    ("common.revoke", "吊销", "Revoke"),
    ("common.save", "保存", "Save"),
    ("common.saved", "已保存", "Saved"),
    ("common.stale", "该记录已被他人修改，请刷新后重试", "Someone else changed this record; reload and try again"),
    ("common.status", "状态", "Status"),
    ("common.time", "时间", "Time"),
    ("common.yes", "是", "Yes"),
    ("dashboard.hello", "您好", "Hello"),
    ("dashboard.last_login", "上次登录", "Last login"),
    ("dashboard.recent_activity", "最近操作", "Recent activity"),
    ("dashboard.role", "角色", "Role"),
    ("dashboard.staff", "在职员工", "Active staff"),
    ("dashboard.team", "所属团队", "Team"),
    ("dashboard.teams", "团队", "Teams"),
    ("dashboard.title", "工作台", "Dashboard"),
    ("error.400", "请求有误", "Bad request"),
    ("error.401", "请先登录", "Please log in"),
    ("error.403", "您没有权限访问此页面", "You do not have access to this page"),
    ("error.404", "页面不存在", "Page not found"),
    ("error.409", "记录已被他人修改", "The record was changed by someone else"),
    ("error.413", "提交的内容过大", "The request is too large"),
    ("error.422", "填写的内容有误", "Some fields are invalid"),
    ("error.429", "尝试次数过多，请稍后再试", "Too many attempts; try again later"),
    ("error.500", "系统出错了，我们已记录此问题", "Something went wrong; it has been logged"),
    ("error.home", "返回工作台", "Back to the dashboard"),
    ("error.request_id", "请求编号", "Request id"),
    ("holiday.add", "添加日期", "Add date"),
    ("holiday.date", "日期", "Date"),
    ("holiday.holiday", "放假", "Holiday"),
    ("holiday.kind", "类型", "Kind"),
    ("holiday.title", "节假日与调休", "Holidays and adjusted working days"),
    ("holiday.workday", "调休上班", "Adjusted working day"),
    ("hours.close", "下班", "Closes"),
    ("hours.closed", "休息", "Closed"),
    ("hours.open", "上班", "Opens"),
    ("hours.title", "营业时间", "Business hours"),
    ("login.expired", "登录已过期，请重新登录", "Your session expired; please log in again"),
    ("login.failed", "用户名或密码错误", "Wrong username or password"),
    ("login.password", "密码", "Password"),
    ("login.submit", "登录", "Log in"),
    ("login.throttled", "失败次数过多，请稍后再试", "Too many failed attempts; try again later"),
    ("login.title", "员工登录", "Staff login"),
    ("login.username", "用户名", "Username"),
    ("logins.failure", "失败", "Failed"),
    ("logins.reason", "原因", "Reason"),
    ("logins.success", "成功", "Succeeded"),
    ("logins.title", "登录记录", "Login history"),
    ("nav.account", "我的账户", "My account"),
    ("nav.audit", "操作日志", "Audit trail"),
    ("nav.company", "公司信息", "Company"),
    ("nav.customers", "客户档案", "Customers"),
    ("nav.dashboard", "工作台", "Dashboard"),
    ("nav.holidays", "节假日", "Holidays"),
    ("nav.logins", "登录记录", "Login history"),
    ("nav.logout", "退出", "Log out"),
    ("nav.menu", "菜单", "Menu"),
    ("nav.roles", "角色权限", "Roles"),
    ("nav.teams", "团队", "Teams"),
    ("nav.users", "员工账号", "Staff"),
    ("perm.audit.view", "查看操作日志", "Browse the audit trail"),
    ("perm.dashboard.view", "查看工作台", "See the dashboard"),
    ("perm.logins.view", "查看他人登录记录", "Browse others' login history"),
    ("perm.settings.manage", "管理公司设置", "Manage company settings"),
    ("perm.users.manage", "管理员工、团队与角色", "Manage staff, teams and roles"),
    ("customers.link_duplicates", "查找重复客户", "Find duplicates"),
    ("customers.link_privacy", "个人信息权利", "Personal-data rights"),
    ("customers.link_reassign", "调整归属", "Reassign"),
    ("perm.catalog.read", "查看资源库、产品和团期", "See the resource library, products and departures"),
    ("perm.catalog.write", "维护资源库、产品和团期", "Edit the resource library, products and departures"),
    ("perm.customers.read", "查看客户档案", "See customers"),
    ("perm.customers.write", "新建和修改客户、记录接触", "Create and edit customers, record contacts"),
    ("perm.customers.export", "导出客户名单", "Export customer lists"),
    ("perm.customers.reassign", "调整客户归属", "Reassign customers"),
    ("perm.customers.merge", "合并重复客户", "Merge duplicate customers"),
    ("perm.customers.pii", "查看完整证件号码", "See full ID and passport numbers"),
    ("perm.customers.privacy", "处理个人信息请求（导出、删除）", "Handle personal-data requests (export, erasure)"),
    ("perm.customers.configure", "配置客户字段", "Configure customer fields"),
    ("perm.sales.read", "查看商机、报价和订单", "See opportunities, quotes and orders"),
    ("perm.sales.write", "新建和修改商机、报价和订单", "Create and change opportunities, quotes and orders"),
    ("perm.finance.read", "查看应收、收款和报表", "See receivables, receipts and statements"),
    ("perm.finance.write", "登记收款和退款", "Record receipts and refunds"),
    ("perm.value.manage", "运行客户价值盘点、锁定客户等级", "Run value evaluations and pin grades"),
    ("perm.value.read", "查看客户价值、预警和回访名单", "See customer value, alerts and the call list"),
    ("profile.address", "地址", "Address"),
    ("profile.email", "邮箱", "E-mail"),
    ("profile.license_no", "旅行社业务经营许可证号", "Travel agency licence no."),
    ("profile.name", "公司名称", "Company name"),
    ("profile.phone", "电话", "Phone"),
    ("profile.short_name", "简称", "Short name"),
    ("profile.timezone", "时区", "Time zone"),
    ("profile.title", "公司信息", "Company profile"),
    ("profile.website", "网站", "Website"),
    ("role.builtin", "内置", "Built-in"),
    ("role.code", "角色代码", "Role code"),
    ("role.name_en", "英文名称", "English name"),
    ("role.name_zh", "中文名称", "Chinese name"),
    ("role.new", "新建角色", "New role"),
    ("role.permissions", "权限与数据范围", "Permissions and reach"),
    ("role.title", "角色权限", "Roles"),
    ("scope.all", "全部", "All"),
    ("scope.none", "无", "None"),
    ("scope.own", "本人", "Own"),
    ("scope.team", "本团队及下级", "Team and below"),
    ("team.manager", "负责人", "Manager"),
    ("team.new", "新建团队", "New team"),
    ("team.parent", "上级团队", "Parent team"),
    ("team.title", "团队与分支机构", "Teams and branches"),
    ("user.display_name", "姓名", "Name"),
    ("user.email", "邮箱", "E-mail"),
    ("user.last_login", "最近登录", "Last login"),
    ("user.locale", "界面语言", "Language"),
    ("user.new", "新建员工账号", "New staff account"),
    ("user.password", "初始密码（12 至 128 个字符）", "Initial password (12 to 128 characters)"),
    ("user.phone", "手机", "Phone"),
    ("user.role", "角色", "Role"),
    ("user.team", "团队", "Team"),
    ("user.title", "员工账号", "Staff accounts"),
    ("user.username", "用户名", "Username"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_translated() {
        let mut seen = std::collections::HashSet::new();
        for table in tables() {
            for (k, zh, en) in table {
                assert!(seen.insert(*k), "{k} is defined twice");
                assert!(!zh.is_empty() && !en.is_empty(), "{k}");
            }
        }
        assert_eq!(Lang::Zh.t("nav.dashboard"), "工作台");
        assert_eq!(Lang::En.t("nav.dashboard"), "Dashboard");
    }

    #[test]
    fn every_key_used_in_templates_and_code_exists() {
        let mut missing = Vec::new();
        let mut files = Vec::new();
        for dir in
            ["templates", "src", "src/admin", "src/customers", "src/customer_import", "src/customer_admin", "src/value"]
        {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
            for entry in std::fs::read_dir(dir).into_iter().flatten() {
                let path = entry.unwrap().path();
                if path.is_file() {
                    files.push(path);
                }
            }
        }
        for path in files {
            {
                let text = std::fs::read_to_string(&path).unwrap();
                // Method calls only (`shell.t("…")`, `lang.t("…")`).
                for part in text.split(".t(\"").skip(1) {
                    let key = part.split('"').next().unwrap();
                    if key.contains('.') && !index().contains_key(key) {
                        missing.push(format!("{}: {key}", path.display()));
                    }
                }
            }
        }
        assert!(missing.is_empty(), "missing texts: {missing:?}");
    }
}
