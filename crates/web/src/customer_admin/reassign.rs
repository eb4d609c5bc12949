//! Moving customers to another owner: one customer, a selection, or every
//! customer of a person (someone leaving), to one colleague or spread evenly
//! across the active members of a team. Only customers the manager may see
//! move; each move is audited and shown on the customer's timeline.

use super::{errors_of, staff_names};
use crate::admin::{see_other, Errors, Opt};
use crate::ctx::Req;
use crate::error::AppError;
use crate::json::{ApiJson, ApiQuery, PageForm};
use crate::page::{render, Shell};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use domain::access::{Permission, Scope};
use domain::ids::{CustomerId, TeamId, UserId};
use domain::{FieldError, FieldErrors};
use serde::{Deserialize, Serialize};
use store::visibility::Visibility;
use store::StoreError;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(reassign_page, reassign_submit))
        .routes(routes!(reassign_one_submit))
        .routes(routes!(api_reassign))
}

/// Where the customers go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// All to one person.
    User(UserId),
    /// Spread across a team's active members.
    Team(TeamId),
}

/// Which customers move.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    /// These (all must be visible, or nothing moves).
    Ids(Vec<CustomerId>),
    /// Every customer of this person the caller may see.
    OwnedBy(UserId),
}

/// Hands out `customers` to `members` in turn, the least loaded member
/// first (`load`: how many customers each has now), so that the split is
/// even and the first extra customers go to those with fewest.
fn round_robin(customers: &[CustomerId], members: &[(UserId, i64)]) -> Vec<(UserId, Vec<CustomerId>)> {
    let mut order: Vec<(UserId, i64)> = members.to_vec();
    order.sort_by_key(|(id, load)| (*load, *id));
    let mut out: Vec<(UserId, Vec<CustomerId>)> = order.iter().map(|(u, _)| (*u, Vec::new())).collect();
    if out.is_empty() {
        return out;
    }
    let n = out.len();
    for (i, c) in customers.iter().enumerate() {
        out[i % n].1.push(*c);
    }
    out
}

/// A person who may receive customers: exists and is active.
async fn check_receiver(state: &AppState, field: &str, id: UserId) -> Result<(), AppError> {
    match store::users::get(&state.store, id).await {
        Ok(u) if u.active => Ok(()),
        Ok(_) => Err(AppError::field(field, "inactive", "that staff account is deactivated")),
        Err(StoreError::NotFound) => Err(AppError::field(field, "not_found", "no such staff account")),
        Err(e) => Err(e.into()),
    }
}

/// The active members of a team with how many customers each owns now.
async fn team_members(state: &AppState, team: TeamId, except: Option<UserId>) -> Result<Vec<(UserId, i64)>, AppError> {
    let page = store::users::list(
        &state.store,
        &store::users::Filter { team_id: Some(team.0), active: Some(true), limit: 10_000, ..Default::default() },
    )
    .await?;
    let everyone = Visibility { scope: Scope::All, user_id: UserId(0), teams: Vec::new() };
    let mut out = Vec::new();
    for u in page.items.into_iter().filter(|u| Some(u.id) != except) {
        out.push((u.id, owned_count(state, &everyone, u.id).await?));
    }
    Ok(out)
}

/// How many live customers `owner` has, within `vis`.
async fn owned_count(state: &AppState, vis: &Visibility, owner: UserId) -> Result<i64, AppError> {
    let f = store::customers::Filter { owner_id: Some(owner.0), page: 1, per_page: 1, ..Default::default() };
    Ok(store::customers::list(&state.store, vis, &f).await?.total)
}

/// Moves the customers; answers how many changed owner.
async fn reassign(state: &AppState, req: &Req, source: Source, target: Target) -> Result<u64, AppError> {
    let vis = req.visibility(state, Permission::CustomersReassign).await?;
    let (ids, from) = match source {
        Source::Ids(ids) => (ids, None),
        Source::OwnedBy(u) => (store::customers::ids_owned_by(&state.store, &vis, u).await?, Some(u)),
    };
    let plan = match target {
        Target::User(u) => {
            check_receiver(state, "to_user_id", u).await?;
            vec![(u, ids)]
        }
        Target::Team(t) => {
            store::teams::get(&state.store, t).await.map_err(|e| match e {
                StoreError::NotFound => AppError::field("to_team_id", "not_found", "no such team"),
                e => e.into(),
            })?;
            let members = team_members(state, t, from).await?;
            if members.is_empty() {
                return Err(AppError::field(
                    "to_team_id",
                    "no_members",
                    "the team has no active member to receive customers",
                ));
            }
            round_robin(&ids, &members)
        }
    };
    let actor = req.actor()?;
    let mut tx = state.store.begin().await?;
    let mut moved = 0;
    for (owner, ids) in &plan {
        if !ids.is_empty() {
            moved += store::customers::reassign(&mut tx, &actor, &vis, ids, *owner).await?;
        }
    }
    tx.commit().await?;
    Ok(moved)
}

// ---------------------------------------------------------------------------
// JSON API

/// Which customers move and where. Give `ids` or `from_user_id`, and
/// `to_user_id` or `to_team_id`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ReassignBody {
    /// These customers (every one must be visible to you, or nothing moves: 404).
    #[serde(default)]
    ids: Option<Vec<i64>>,
    /// Every customer of this person that you may see.
    #[serde(default)]
    from_user_id: Option<i64>,
    /// All to this person.
    #[serde(default)]
    to_user_id: Option<i64>,
    /// Spread evenly across this team's active members, least loaded first.
    #[serde(default)]
    to_team_id: Option<i64>,
}

/// How many customers changed owner.
#[derive(Serialize, utoipa::ToSchema)]
struct Moved {
    moved: u64,
}

fn source_target(
    ids: Option<Vec<i64>>,
    from: Option<i64>,
    to_user: Option<i64>,
    to_team: Option<i64>,
) -> Result<(Source, Target), FieldErrors> {
    let mut errors = FieldErrors::new();
    let source = match (ids, from) {
        (Some(ids), None) if !ids.is_empty() => Some(Source::Ids(ids.into_iter().map(CustomerId).collect())),
        (None, Some(u)) => Some(Source::OwnedBy(UserId(u))),
        (Some(_), Some(_)) => {
            errors.push(FieldError::new("ids", "invalid", "give ids or from_user_id, not both"));
            None
        }
        _ => {
            errors.push(FieldError::new("ids", "required", "give the customers' ids or from_user_id"));
            None
        }
    };
    let target = match (to_user, to_team) {
        (Some(u), None) => Some(Target::User(UserId(u))),
        (None, Some(t)) => Some(Target::Team(TeamId(t))),
        (Some(_), Some(_)) => {
            errors.push(FieldError::new("to_user_id", "invalid", "give to_user_id or to_team_id, not both"));
            None
        }
        (None, None) => {
            errors.push(FieldError::new("to_user_id", "required", "give to_user_id or to_team_id"));
            None
        }
    };
    errors.into_result()?;
    match (source, target) {
        (Some(s), Some(t)) => Ok((s, t)),
        _ => Err(FieldErrors(vec![FieldError::required("ids")])),
    }
}

/// Moves customers to another owner or spreads them across a team.
#[utoipa::path(post, path = "/api/v1/customers/reassign", tag = "customers",
    security(("keyuan" = ["customers.reassign"])), request_body = ReassignBody,
    responses((status = 200, body = Moved), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn api_reassign(
    State(state): State<AppState>,
    req: Req,
    ApiJson(b): ApiJson<ReassignBody>,
) -> Result<Json<Moved>, AppError> {
    let (source, target) = source_target(b.ids, b.from_user_id, b.to_user_id, b.to_team_id)?;
    let moved = reassign(&state, &req, source, target).await?;
    Ok(Json(Moved { moved }))
}

// ---------------------------------------------------------------------------
// Pages

#[derive(Template)]
#[template(path = "customer_admin_reassign.html")]
struct ReassignPage {
    shell: Shell,
    from_users: Vec<Opt>,
    to_users: Vec<Opt>,
    teams: Vec<Opt>,
    to_team: bool,
    moved: Option<String>,
    errors: Errors,
}

/// `?moved=N` after a reassignment.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct MovedQuery {
    /// How many customers the last reassignment moved.
    moved: Option<u64>,
}

/// What the page's form carried, to show it again.
#[derive(Default)]
struct Typed {
    from: String,
    to_user: String,
    to_team: String,
    spread: bool,
}

async fn page_view(
    state: &AppState,
    req: &Req,
    typed: Typed,
    moved: Option<u64>,
    errors: Errors,
) -> Result<Html<String>, AppError> {
    let lang = req.lang;
    let vis = req.visibility(state, Permission::CustomersReassign).await?;
    let names = staff_names(state).await?;
    // Owners who have left stay in the list: they are who this page is for.
    let mut owners: Vec<(UserId, String, i64)> = Vec::new();
    for (id, name) in &names {
        let n = owned_count(state, &vis, *id).await?;
        if n > 0 {
            owners.push((*id, name.clone(), n));
        }
    }
    owners.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
    let mut from_users = vec![Opt::new("", lang.t("admin.none"), &typed.from)];
    from_users.extend(owners.iter().map(|(id, name, n)| Opt::new(id, format!("{name} ({n})"), &typed.from)));
    let mut to_users = vec![Opt::new("", lang.t("admin.none"), &typed.to_user)];
    to_users.extend(
        store::users::all_active(&state.store)
            .await?
            .iter()
            .map(|u| Opt::new(u.id, format!("{} ({})", u.display_name, u.username), &typed.to_user)),
    );
    let mut teams = vec![Opt::new("", lang.t("admin.none"), &typed.to_team)];
    let mut all_teams = store::teams::list(&state.store).await?;
    all_teams.sort_by(|a, b| a.name.cmp(&b.name));
    teams.extend(all_teams.iter().map(|t| Opt::new(t.id, t.name.clone(), &typed.to_team)));
    let shell = Shell::new(state, req.principal.clone(), lang, "cadmin.reassign").await;
    render(&ReassignPage {
        shell,
        from_users,
        to_users,
        teams,
        to_team: typed.spread,
        moved: moved.map(|n| n.to_string()),
        errors,
    })
}

/// Pick a person and move all their customers to a colleague or a team.
#[utoipa::path(get, path = "/customers/reassign", tag = "pages", security(("keyuan" = ["customers.reassign"])),
    params(MovedQuery), responses((status = 200, description = "reassignment form", content_type = "text/html")))]
async fn reassign_page(
    State(state): State<AppState>,
    req: Req,
    ApiQuery(q): ApiQuery<MovedQuery>,
) -> Result<Html<String>, AppError> {
    page_view(&state, &req, Typed::default(), q.moved, Errors::default()).await
}

/// The reassignment form: `ids` (repeated, from a list selection) or
/// `from_user_id`; `to` = `user` or `team`; `to_user_id` or `to_team_id`.
#[allow(dead_code)]
#[derive(utoipa::ToSchema)]
struct ReassignForm {
    ids: Vec<i64>,
    from_user_id: Option<i64>,
    to: String,
    to_user_id: Option<i64>,
    to_team_id: Option<i64>,
    /// Where to go afterwards (a path on this site), instead of this page.
    back: Option<String>,
}

fn form_int(field: &str, v: &str, errors: &mut FieldErrors) -> Option<i64> {
    let v = v.trim();
    if v.is_empty() {
        return None;
    }
    match v.parse::<i64>() {
        Ok(n) => Some(n),
        Err(_) => {
            errors.push(FieldError::new(field, "invalid", format!("{field} must be an id")));
            None
        }
    }
}

/// A local path to return to (never another site).
fn local_path(p: &str) -> Option<&str> {
    (p.starts_with('/') && !p.starts_with("//") && !p.contains('\\')).then_some(p)
}

/// Moves a selection (from the customer list) or all of a person's customers.
#[utoipa::path(post, path = "/customers/reassign", tag = "pages", security(("keyuan" = ["customers.reassign"])),
    request_body(content = ReassignForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "moved"), (status = 404, description = "a customer is not visible"),
        (status = 422, description = "the page with the problems", content_type = "text/html")))]
async fn reassign_submit(
    State(state): State<AppState>,
    req: Req,
    PageForm(pairs): PageForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str()).unwrap_or("");
    let mut errors = FieldErrors::new();
    let mut ids = Vec::new();
    for (k, v) in pairs.iter().filter(|(k, _)| k == "ids") {
        for part in v.split(',').filter(|s| !s.trim().is_empty()) {
            ids.extend(form_int(k, part, &mut errors));
        }
    }
    let from = form_int("from_user_id", get("from_user_id"), &mut errors);
    let spread = get("to") == "team";
    let to_user = if spread { None } else { form_int("to_user_id", get("to_user_id"), &mut errors) };
    let to_team = if spread { form_int("to_team_id", get("to_team_id"), &mut errors) } else { None };
    let typed = Typed {
        from: get("from_user_id").to_string(),
        to_user: get("to_user_id").to_string(),
        to_team: get("to_team_id").to_string(),
        spread,
    };
    let ids = (!ids.is_empty()).then_some(ids);
    let result = match errors.into_result() {
        Ok(()) => match source_target(ids, from, to_user, to_team) {
            Ok((s, t)) => reassign(&state, &req, s, t).await,
            Err(e) => Err(e.into()),
        },
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(n) => match local_path(get("back")) {
            Some(back) => Ok(see_other(back)),
            None => Ok(see_other(&format!("/customers/reassign?moved={n}"))),
        },
        Err(AppError::Invalid(f)) => {
            let page = page_view(&state, &req, typed, None, errors_of(&f, req.lang)).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e),
    }
}

/// The new owner of one customer.
#[derive(Deserialize, utoipa::ToSchema)]
struct OneForm {
    #[serde(default)]
    to_user_id: String,
}

/// Moves one customer to another owner (from the customer's page).
#[utoipa::path(post, path = "/customers/{id}/reassign", tag = "pages", security(("keyuan" = ["customers.reassign"])),
    params(("id" = i64, Path, description = "customer id")),
    request_body(content = OneForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "moved; back to the customer"), (status = 404, description = "not visible"),
        (status = 422, description = "no valid new owner")))]
async fn reassign_one_submit(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    PageForm(f): PageForm<OneForm>,
) -> Result<Response, AppError> {
    let mut errors = FieldErrors::new();
    let to = form_int("to_user_id", &f.to_user_id, &mut errors);
    errors.into_result()?;
    let to = to.ok_or_else(|| AppError::from(FieldError::required("to_user_id")))?;
    reassign(&state, &req, Source::Ids(vec![CustomerId(id)]), Target::User(UserId(to))).await?;
    Ok(see_other(&format!("/customers/{id}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_team_spread_is_even_and_starts_with_the_least_loaded() {
        let customers: Vec<CustomerId> = (1..=7).map(CustomerId).collect();
        let members = [(UserId(10), 5), (UserId(11), 0), (UserId(12), 2)];
        let plan = round_robin(&customers, &members);
        let sizes: Vec<(i64, usize)> = plan.iter().map(|(u, c)| (u.0, c.len())).collect();
        assert_eq!(sizes, vec![(11, 3), (12, 2), (10, 2)]);
        assert_eq!(plan[0].1, vec![CustomerId(1), CustomerId(4), CustomerId(7)]);
        assert!(round_robin(&customers, &[]).is_empty());
    }

    #[test]
    fn exactly_one_source_and_one_target() {
        assert!(source_target(Some(vec![1]), None, Some(2), None).is_ok());
        assert!(matches!(source_target(None, Some(1), None, Some(3)), Ok((Source::OwnedBy(_), Target::Team(_)))));
        let e = source_target(Some(vec![1]), Some(1), None, None).unwrap_err();
        let fields: Vec<&str> = e.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["ids", "to_user_id"]);
        assert!(source_target(Some(vec![]), None, Some(2), None).is_err());
    }

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(local_path("/customers?page=2"), Some("/customers?page=2"));
        assert_eq!(local_path("//evil.example"), None);
        assert_eq!(local_path("https://evil.example"), None);
    }
}
