//! The page shell shared by every HTML page: navigation for the person's
//! role, language, company name, time zone, CSRF token.

use crate::ctx::Principal;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::AppState;
use askama::Template;
use axum::response::Html;
use chrono_tz::Tz;
use domain::access::Permission;
use std::sync::Arc;

/// One navigation link.
pub struct NavItem {
    /// Target.
    pub href: &'static str,
    /// Text key.
    pub key: &'static str,
    /// The current page.
    pub active: bool,
}

/// (href, text key, what it needs; `None` = every logged-in person).
const NAV: &[(&str, &str, Option<Permission>)] = &[
    ("/", "nav.dashboard", Some(Permission::DashboardView)),
    ("/customers", "nav.customers", Some(Permission::CustomersRead)),
    ("/opportunities", "nav.opportunities", Some(Permission::SalesRead)),
    ("/orders", "nav.orders", Some(Permission::SalesRead)),
    ("/departures", "nav.departures", Some(Permission::CatalogRead)),
    ("/products", "nav.products", Some(Permission::CatalogRead)),
    ("/resources", "nav.resources", Some(Permission::CatalogRead)),
    ("/finance", "nav.finance", Some(Permission::FinanceRead)),
    ("/value", "nav.value", Some(Permission::ValueRead)),
    ("/admin/users", "nav.users", Some(Permission::UsersManage)),
    ("/admin/teams", "nav.teams", Some(Permission::UsersManage)),
    ("/admin/roles", "nav.roles", Some(Permission::UsersManage)),
    ("/audit", "nav.audit", Some(Permission::AuditView)),
    ("/admin/logins", "nav.logins", Some(Permission::LoginsView)),
    ("/settings/company", "nav.company", Some(Permission::SettingsManage)),
    ("/settings/holidays", "nav.holidays", Some(Permission::SettingsManage)),
    ("/settings/value", "nav.value_settings", Some(Permission::SettingsManage)),
    ("/settings/customer-fields", "cadmin.nav.fields", Some(Permission::CustomersConfigure)),
    ("/account", "nav.account", None),
];

/// Everything the layout needs.
pub struct Shell {
    /// Interface language.
    pub lang: Lang,
    /// The person, if logged in.
    pub principal: Option<Arc<Principal>>,
    /// Company name for the header.
    pub company: String,
    /// Display time zone.
    pub tz: Tz,
    /// Links this person may follow.
    pub nav: Vec<NavItem>,
}

impl Shell {
    /// Builds the shell for a page (reads the company profile for name and zone).
    pub async fn new(state: &AppState, principal: Option<Arc<Principal>>, lang: Lang, active: &'static str) -> Shell {
        let (company, tz) = match store::settings::profile(&state.store).await {
            Ok(p) => (
                p.short_name.filter(|s| !s.is_empty()).unwrap_or(p.name),
                p.timezone.parse::<Tz>().unwrap_or(chrono_tz::Asia::Shanghai),
            ),
            Err(_) => ("客源 Keyuan".to_string(), chrono_tz::Asia::Shanghai),
        };
        let nav = match &principal {
            None => Vec::new(),
            Some(p) => NAV
                .iter()
                .filter(|(_, _, need)| need.is_none_or(|n| p.can(n)))
                .map(|(href, key, _)| NavItem { href, key, active: *key == active })
                .collect(),
        };
        Shell { lang, principal, company, tz, nav }
    }

    /// An interface text.
    pub fn t(&self, key: &str) -> &'static str {
        self.lang.t(key)
    }

    /// Epoch milliseconds as local date and time (`2026-11-23 15:04`).
    pub fn time(&self, ms: &i64) -> String {
        chrono::DateTime::from_timestamp_millis(*ms)
            .map(|t| t.with_timezone(&self.tz).format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default()
    }

    /// Like [`Shell::time`], empty for `None`.
    pub fn opt_time(&self, ms: &Option<i64>) -> String {
        ms.as_ref().map(|m| self.time(m)).unwrap_or_else(|| "—".into())
    }

    /// Whether the person's role grants the permission with this code (for
    /// showing links; the routes check again).
    pub fn can(&self, code: &str) -> bool {
        match (Permission::from_code(code), self.principal.as_deref()) {
            (Some(p), Some(who)) => who.can(p),
            _ => false,
        }
    }

    /// The CSRF token for forms.
    pub fn csrf(&self) -> &str {
        self.principal.as_deref().map(Principal::csrf).unwrap_or("")
    }

    /// The person's display name.
    pub fn me(&self) -> &str {
        self.principal.as_deref().map(|p| p.user.display_name.as_str()).unwrap_or("")
    }

    /// The zone's name, shown next to times.
    pub fn tz_name(&self) -> &str {
        self.tz.name()
    }
}

/// The answer to a successful form post: 303 See Other to `to`, so that a
/// reload does not post again.
pub(crate) fn see_other(to: &str) -> axum::response::Response {
    use axum::response::IntoResponse;
    axum::response::Redirect::to(to).into_response()
}

/// Renders a template to an HTML response.
pub fn render<T: Template>(t: &T) -> Result<Html<String>, AppError> {
    t.render().map(Html).map_err(|e| AppError::Internal(format!("template: {e}")))
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    shell: &'a Shell,
    status: u16,
    title: &'static str,
    message: &'a str,
    request_id: &'a str,
}

/// The friendly error page.
pub fn error_page(shell: &Shell, status: u16, _code: &str, message: &str, request_id: &str) -> String {
    let key = match status {
        400 | 401 | 403 | 404 | 409 | 413 | 422 | 429 => format!("error.{status}"),
        s if s >= 500 => "error.500".to_string(),
        _ => "error.400".to_string(),
    };
    let title = shell.t(&key);
    // Internal details never reach the page; the request id finds them in the log.
    let message = if status >= 500 { "" } else { message };
    ErrorPage { shell, status, title, message, request_id }
        .render()
        .unwrap_or_else(|_| format!("<!doctype html><title>{status}</title><h1>{status}</h1>"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shell(lang: Lang) -> Shell {
        Shell {
            lang, principal: None, company: "客源旅行社".into(), tz: chrono_tz::Asia::Shanghai, nav: Vec::new()
        }
    }

    #[test]
    fn server_errors_show_the_request_id_never_the_detail() {
        let html = error_page(&shell(Lang::Zh), 500, "internal", "no such table: customers (SQL)", "req-42");
        assert!(html.contains("系统出错了") && html.contains("req-42"));
        assert!(!html.contains("no such table"), "internals stay in the log");
        let html = error_page(&shell(Lang::En), 404, "not_found", "no such page", "req-43");
        assert!(html.contains("Page not found") && html.contains("lang=\"en\""));
    }

    #[test]
    fn times_are_local_to_the_configured_zone() {
        let s = shell(Lang::Zh);
        // 2026-11-23 00:30 UTC is 08:30 in Shanghai.
        let ms = chrono::DateTime::parse_from_rfc3339("2026-11-23T00:30:00Z").unwrap().timestamp_millis();
        assert_eq!(s.time(&ms), "2026-11-23 08:30");
        assert_eq!(s.opt_time(&None), "—");
    }
}
