//! The dashboard (工作台): the first page after login. Business areas add
//! their cards here as they land.

use crate::ctx::Req;
use crate::error::AppError;
use crate::page::{render, Shell};
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::Html;
use domain::access::{Permission, Scope};
use store::audit::{AuditRow, Filter};
use store::visibility::Visibility;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(dashboard))
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    shell: Shell,
    role_name: String,
    team_name: String,
    staff: i64,
    teams: usize,
    last_login: Option<i64>,
    recent: Vec<AuditRow>,
    /// Customers the person may see, and how many of them they own.
    customers: Option<(i64, i64)>,
}

/// The dashboard.
#[utoipa::path(get, path = "/", tag = "pages", security(("keyuan" = ["dashboard.view"])),
    responses((status = 200, description = "dashboard", content_type = "text/html")))]
async fn dashboard(State(state): State<AppState>, req: Req) -> Result<Html<String>, AppError> {
    let me = req.user()?;
    let role = store::roles::get(&state.store, me.user.role_id).await?;
    let role_name = match req.lang {
        crate::i18n::Lang::Zh => role.name_zh,
        crate::i18n::Lang::En => role.name_en,
    };
    let teams = store::teams::list(&state.store).await?;
    let team_name = me
        .user
        .team_id
        .and_then(|t| teams.iter().find(|x| x.id == t))
        .map(|t| t.name.clone())
        .unwrap_or_else(|| "—".into());
    let staff = store::users::list(
        &state.store,
        &store::users::Filter { active: Some(true), limit: 200, ..Default::default() },
    )
    .await?
    .items
    .len() as i64;
    // The person's own recent actions: useful to everyone, visible to everyone.
    let own = Visibility { scope: Scope::Own, user_id: me.user.id, teams: Vec::new() };
    let recent = store::audit::list(&state.store, &own, &Filter { limit: 8, ..Default::default() }).await?.items;
    let customers = if me.can(Permission::CustomersRead) {
        let vis = req.visibility(&state, Permission::CustomersRead).await?;
        let all = store::customers::Filter::default();
        let mine = store::customers::Filter { owner_id: Some(me.user.id.0), ..Default::default() };
        Some((
            store::customers::count(&state.store, &vis, &all).await?,
            store::customers::count(&state.store, &vis, &mine).await?,
        ))
    } else {
        None
    };
    let last_login = me.user.last_login_at;
    let shell = Shell::new(&state, req.principal.clone(), req.lang, "nav.dashboard").await;
    render(&DashboardPage { shell, role_name, team_name, staff, teams: teams.len(), last_login, recent, customers })
}
