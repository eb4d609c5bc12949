//! Teams and branches: the organisation tree with managers and member counts.
//! A team moves anywhere except below itself, and only an empty team can be
//! deleted (the store enforces both and names the field).

use super::{form_id, form_version, nullable, see_other, Errors, FormProblem, Opt};
use crate::ctx::Req;
use crate::error::AppError;
use crate::json::{rfc3339, ApiJson, ApiQuery, PageForm};
use crate::page::{render, Shell};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use domain::ids::{TeamId, UserId};
use domain::{FieldError, FieldErrors};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use store::teams::Team;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(tree_page, create_submit))
        .routes(routes!(edit_submit))
        .routes(routes!(delete_submit))
        .routes(routes!(api_list, api_create))
        .routes(routes!(api_get, api_patch, api_delete))
}

/// The teams in tree order (each parent before its children, siblings by
/// name) with their depth. Teams whose parent is missing count as roots.
pub(super) fn tree(teams: &[Team]) -> Vec<(usize, &Team)> {
    let ids: HashSet<TeamId> = teams.iter().map(|t| t.id).collect();
    let mut out = Vec::with_capacity(teams.len());
    let mut seen = HashSet::new();
    fn walk<'a>(
        teams: &'a [Team],
        parent: TeamId,
        depth: usize,
        out: &mut Vec<(usize, &'a Team)>,
        seen: &mut HashSet<TeamId>,
    ) {
        for t in teams.iter().filter(|t| t.parent_id == Some(parent)) {
            if seen.insert(t.id) {
                out.push((depth, t));
                walk(teams, t.id, depth + 1, out, seen);
            }
        }
    }
    let roots = teams.iter().filter(|t| t.parent_id.is_none_or(|p| !ids.contains(&p)));
    // Teams caught in a cycle (which the store refuses to make) would have no
    // root; listing them last keeps them reachable for repair.
    for root in roots.chain(teams.iter()) {
        if seen.insert(root.id) {
            out.push((0, root));
            walk(teams, root.id, 1, &mut out, &mut seen);
        }
    }
    out
}

/// Teams as select options, indented by depth, leaving out `exclude` and
/// everything below it (where a team may not be moved).
pub(super) fn tree_options(teams: &[Team], current: &str, exclude: Option<TeamId>) -> Vec<Opt> {
    let mut out = Vec::new();
    let mut skip_below: Option<usize> = None;
    for (depth, t) in tree(teams) {
        if let Some(d) = skip_below {
            if depth > d {
                continue;
            }
            skip_below = None;
        }
        if Some(t.id) == exclude {
            skip_below = Some(depth);
            continue;
        }
        out.push(Opt::new(t.id, format!("{}{}", "— ".repeat(depth), t.name), current));
    }
    out
}

/// The display names of the teams' managers, whether active or not.
async fn manager_names(state: &AppState, teams: &[Team]) -> Result<HashMap<UserId, String>, AppError> {
    let mut names = HashMap::new();
    for id in teams.iter().filter_map(|t| t.manager_id) {
        if let std::collections::hash_map::Entry::Vacant(e) = names.entry(id) {
            match store::users::get(&state.store, id).await {
                Ok(u) => {
                    e.insert(u.display_name);
                }
                Err(store::StoreError::NotFound) => {}
                Err(other) => return Err(other.into()),
            }
        }
    }
    Ok(names)
}

// ---------------------------------------------------------------------------
// JSON API

/// A team or branch.
#[derive(Serialize, utoipa::ToSchema)]
struct TeamOut {
    id: i64,
    name: String,
    parent_id: Option<i64>,
    manager_id: Option<i64>,
    manager_name: Option<String>,
    /// Accounts in this team (active or not), not counting teams below.
    members: i64,
    /// Send back when changing or deleting the team.
    version: i64,
    created_at: String,
    updated_at: String,
}

fn team_out(t: Team, counts: &HashMap<TeamId, i64>, managers: &HashMap<UserId, String>) -> TeamOut {
    TeamOut {
        id: t.id.0,
        members: counts.get(&t.id).copied().unwrap_or(0),
        manager_name: t.manager_id.and_then(|m| managers.get(&m).cloned()),
        name: t.name,
        parent_id: t.parent_id.map(|p| p.0),
        manager_id: t.manager_id.map(|m| m.0),
        version: t.version,
        created_at: rfc3339(t.created_at),
        updated_at: rfc3339(t.updated_at),
    }
}

async fn one_out(state: &AppState, t: Team) -> Result<TeamOut, AppError> {
    let counts = store::teams::member_counts(&state.store).await?;
    let managers = manager_names(state, std::slice::from_ref(&t)).await?;
    Ok(team_out(t, &counts, &managers))
}

/// Every team, in tree order.
#[derive(Serialize, utoipa::ToSchema)]
struct TeamList {
    items: Vec<TeamOut>,
    /// Always `null`: the tree comes whole.
    next: Option<String>,
}

/// Lists every team, parents before their children.
#[utoipa::path(get, path = "/api/v1/teams", tag = "teams", security(("keyuan" = ["users.manage"])),
    responses((status = 200, body = TeamList), (status = 403, body = crate::error::ErrorBody)))]
async fn api_list(State(state): State<AppState>) -> Result<Json<TeamList>, AppError> {
    let teams = store::teams::list(&state.store).await?;
    let counts = store::teams::member_counts(&state.store).await?;
    let managers = manager_names(&state, &teams).await?;
    let items = tree(&teams).into_iter().map(|(_, t)| team_out(t.clone(), &counts, &managers)).collect();
    Ok(Json(TeamList { items, next: None }))
}

/// A new team.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewTeamBody {
    name: String,
    #[serde(default)]
    parent_id: Option<i64>,
    #[serde(default)]
    manager_id: Option<i64>,
}

/// Creates a team.
#[utoipa::path(post, path = "/api/v1/teams", tag = "teams", security(("keyuan" = ["users.manage"])),
    request_body = NewTeamBody,
    responses((status = 201, body = TeamOut), (status = 422, body = crate::error::ErrorBody)))]
async fn api_create(
    State(state): State<AppState>,
    req: Req,
    ApiJson(b): ApiJson<NewTeamBody>,
) -> Result<(StatusCode, Json<TeamOut>), AppError> {
    let team = create(&state, &req, &b.name, b.parent_id, b.manager_id).await?;
    Ok((StatusCode::CREATED, Json(one_out(&state, team).await?)))
}

async fn create(
    state: &AppState,
    req: &Req,
    name: &str,
    parent: Option<i64>,
    manager: Option<i64>,
) -> Result<Team, AppError> {
    let mut tx = state.store.begin().await?;
    let id = store::teams::create(&mut tx, &req.actor()?, name, parent.map(TeamId), manager.map(UserId)).await?;
    tx.commit().await?;
    Ok(store::teams::get(&state.store, id).await?)
}

/// Reads one team.
#[utoipa::path(get, path = "/api/v1/teams/{id}", tag = "teams", security(("keyuan" = ["users.manage"])),
    params(("id" = i64, Path, description = "team id")),
    responses((status = 200, body = TeamOut), (status = 404, body = crate::error::ErrorBody)))]
async fn api_get(State(state): State<AppState>, Path(id): Path<i64>) -> Result<Json<TeamOut>, AppError> {
    let team = store::teams::get(&state.store, TeamId(id)).await?;
    Ok(Json(one_out(&state, team).await?))
}

/// Changes to a team: any subset of the fields, plus the `version` read.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct TeamPatch {
    version: i64,
    #[serde(default)]
    name: Option<String>,
    /// `null` makes it a top-level team.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    parent_id: Option<Option<i64>>,
    /// `null` leaves it without a manager.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    manager_id: Option<Option<i64>>,
}

async fn update(
    state: &AppState,
    req: &Req,
    current: &Team,
    version: i64,
    name: Option<String>,
    parent: Option<Option<i64>>,
    manager: Option<Option<i64>>,
) -> Result<Team, AppError> {
    let name = name.unwrap_or_else(|| current.name.clone());
    let parent = parent.map(|p| p.map(TeamId)).unwrap_or(current.parent_id);
    let manager = manager.map(|m| m.map(UserId)).unwrap_or(current.manager_id);
    let mut tx = state.store.begin().await?;
    let team = store::teams::update(&mut tx, &req.actor()?, current.id, version, &name, parent, manager).await?;
    tx.commit().await?;
    Ok(team)
}

/// Renames, moves or re-manages a team; a stale `version` is 409, a move
/// below itself 422 naming `parent_id`.
#[utoipa::path(patch, path = "/api/v1/teams/{id}", tag = "teams", security(("keyuan" = ["users.manage"])),
    params(("id" = i64, Path, description = "team id")), request_body = TeamPatch,
    responses((status = 200, body = TeamOut), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn api_patch(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<TeamPatch>,
) -> Result<Json<TeamOut>, AppError> {
    let current = store::teams::get(&state.store, TeamId(id)).await?;
    let team = update(&state, &req, &current, b.version, b.name, b.parent_id, b.manager_id).await?;
    Ok(Json(one_out(&state, team).await?))
}

/// The version a delete is based on.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct VersionQuery {
    /// The version read; required.
    version: Option<i64>,
}

/// Deletes an empty team; one with members or teams below it is 422.
#[utoipa::path(delete, path = "/api/v1/teams/{id}", tag = "teams", security(("keyuan" = ["users.manage"])),
    params(("id" = i64, Path, description = "team id"), VersionQuery),
    responses((status = 204, description = "deleted"), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn api_delete(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<VersionQuery>,
) -> Result<StatusCode, AppError> {
    let version = q.version.ok_or_else(|| AppError::from(FieldError::required("version")))?;
    delete(&state, &req, TeamId(id), version).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn delete(state: &AppState, req: &Req, id: TeamId, version: i64) -> Result<(), AppError> {
    let mut tx = state.store.begin().await?;
    store::teams::delete(&mut tx, &req.actor()?, id, version).await?;
    tx.commit().await?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Page

/// One team in the page's tree, with what it takes to nest the list: open a
/// sub-list under the previous item, or close `up` levels first.
struct Node {
    id: i64,
    name: String,
    version: i64,
    manager: String,
    members: i64,
    open_sub: bool,
    up: usize,
    form: TeamForm,
    parents: Vec<Opt>,
    managers: Vec<Opt>,
}

#[derive(Template)]
#[template(path = "admin_teams.html")]
struct TreePage {
    shell: Shell,
    nodes: Vec<Node>,
    /// Levels still open after the last item.
    tail: usize,
    new_form: TeamForm,
    new_parents: Vec<Opt>,
    new_managers: Vec<Opt>,
    errors: Errors,
    notice: Option<&'static str>,
}

/// A team form as submitted.
#[derive(Default, Clone, Deserialize, utoipa::ToSchema)]
struct TeamForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    parent_id: String,
    #[serde(default)]
    manager_id: String,
    /// Edit and delete only.
    #[serde(default)]
    version: String,
}

impl TeamForm {
    fn of(t: &Team) -> TeamForm {
        TeamForm {
            name: t.name.clone(),
            parent_id: t.parent_id.map(|p| p.to_string()).unwrap_or_default(),
            manager_id: t.manager_id.map(|m| m.to_string()).unwrap_or_default(),
            version: t.version.to_string(),
        }
    }
}

/// What to show again after a refused form: the values typed into the create
/// form, or into one team's form.
enum Retry {
    Nothing,
    Create(TeamForm),
    Edit(TeamId, TeamForm),
}

async fn tree_view(
    state: &AppState,
    req: &Req,
    retry: Retry,
    errors: Errors,
    notice: Option<&'static str>,
) -> Result<Html<String>, AppError> {
    let lang = req.lang;
    let teams = store::teams::list(&state.store).await?;
    let counts = store::teams::member_counts(&state.store).await?;
    let names = manager_names(state, &teams).await?;
    let people = store::users::all_active(&state.store).await?;
    let manager_opts = |current: &str, current_id: Option<UserId>| {
        let mut opts = vec![Opt::new("", lang.t("admin.none"), current)];
        // A deactivated manager stays selectable so saving keeps them.
        if let Some(m) = current_id.filter(|m| !people.iter().any(|p| p.id == *m)) {
            opts.push(Opt::new(m, names.get(&m).cloned().unwrap_or_else(|| m.to_string()), current));
        }
        opts.extend(people.iter().map(|p| Opt::new(p.id, format!("{} ({})", p.display_name, p.username), current)));
        opts
    };
    let parent_opts = |current: &str, exclude: Option<TeamId>| {
        let mut opts = vec![Opt::new("", lang.t("admin.top_level"), current)];
        opts.extend(tree_options(&teams, current, exclude));
        opts
    };
    let mut nodes = Vec::with_capacity(teams.len());
    let mut prev: Option<usize> = None;
    for (depth, t) in tree(&teams) {
        let form = match &retry {
            Retry::Edit(id, f) if *id == t.id => f.clone(),
            _ => TeamForm::of(t),
        };
        let (open_sub, up) = match prev {
            Some(p) if depth > p => (true, 0),
            Some(p) => (false, p - depth),
            None => (false, 0),
        };
        prev = Some(depth);
        nodes.push(Node {
            id: t.id.0,
            name: t.name.clone(),
            version: t.version,
            manager: t.manager_id.and_then(|m| names.get(&m).cloned()).unwrap_or_else(|| "—".into()),
            members: counts.get(&t.id).copied().unwrap_or(0),
            open_sub,
            up,
            parents: parent_opts(&form.parent_id, Some(t.id)),
            managers: manager_opts(&form.manager_id, t.manager_id),
            form,
        });
    }
    let new_form = match retry {
        Retry::Create(f) => f,
        _ => TeamForm::default(),
    };
    let new_parents = parent_opts(&new_form.parent_id, None);
    let new_managers = manager_opts(&new_form.manager_id, None);
    let shell = Shell::new(state, req.principal.clone(), lang, "nav.teams").await;
    render(&TreePage { shell, nodes, tail: prev.unwrap_or(0), new_form, new_parents, new_managers, errors, notice })
}

/// Shows a refused form again: 422 with the problems, or 409 when the team
/// changed meanwhile (then with the stored values).
async fn refused(state: &AppState, req: &Req, e: AppError, retry: Retry) -> Result<Response, AppError> {
    let problem = FormProblem::from_error(e, req.lang)?;
    let status = problem.status();
    let retry = if matches!(problem, FormProblem::Stale) { Retry::Nothing } else { retry };
    let page = tree_view(state, req, retry, problem.into_errors(req.lang), None).await?;
    Ok((status, page).into_response())
}

/// `?saved=1` after a change.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct SavedQuery {
    /// Show that the last change was saved.
    saved: Option<String>,
}

/// The team tree with forms to add, change and delete teams.
#[utoipa::path(get, path = "/admin/teams", tag = "pages", security(("keyuan" = ["users.manage"])),
    params(SavedQuery),
    responses((status = 200, description = "team tree", content_type = "text/html")))]
async fn tree_page(
    State(state): State<AppState>,
    req: Req,
    ApiQuery(q): ApiQuery<SavedQuery>,
) -> Result<Html<String>, AppError> {
    let notice = q.saved.is_some().then(|| req.lang.t("common.saved"));
    tree_view(&state, &req, Retry::Nothing, Errors::default(), notice).await
}

/// Reads the two optional ids of a team form.
fn form_ids(f: &TeamForm) -> Result<(Option<i64>, Option<i64>), AppError> {
    let mut errs = FieldErrors::new();
    let parent = errs.check(form_id("parent_id", &f.parent_id));
    let manager = errs.check(form_id("manager_id", &f.manager_id));
    errs.into_result()?;
    Ok((parent.flatten(), manager.flatten()))
}

/// Creates a team.
#[utoipa::path(post, path = "/admin/teams", tag = "pages", security(("keyuan" = ["users.manage"])),
    request_body(content = TeamForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "created"), (status = 422, description = "the page with the problems", content_type = "text/html")))]
async fn create_submit(
    State(state): State<AppState>,
    req: Req,
    PageForm(f): PageForm<TeamForm>,
) -> Result<Response, AppError> {
    let result = match form_ids(&f) {
        Ok((parent, manager)) => create(&state, &req, &f.name, parent, manager).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(see_other("/admin/teams?saved=1")),
        Err(e) => refused(&state, &req, e, Retry::Create(f)).await,
    }
}

/// Renames, moves or re-manages a team.
#[utoipa::path(post, path = "/admin/teams/{id}", tag = "pages", security(("keyuan" = ["users.manage"])),
    params(("id" = i64, Path, description = "team id")),
    request_body(content = TeamForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "saved"), (status = 409, description = "changed meanwhile", content_type = "text/html"),
        (status = 422, description = "the page with the problems", content_type = "text/html")))]
async fn edit_submit(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    PageForm(f): PageForm<TeamForm>,
) -> Result<Response, AppError> {
    let current = store::teams::get(&state.store, TeamId(id)).await?;
    let version = form_version(&f.version)?;
    let result = match form_ids(&f) {
        Ok((parent, manager)) => {
            update(&state, &req, &current, version, Some(f.name.clone()), Some(parent), Some(manager)).await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(see_other("/admin/teams?saved=1")),
        Err(e) => refused(&state, &req, e, Retry::Edit(current.id, f)).await,
    }
}

/// The version a delete form is based on.
#[derive(Deserialize, utoipa::ToSchema)]
struct DeleteForm {
    #[serde(default)]
    version: String,
}

/// Deletes an empty team.
#[utoipa::path(post, path = "/admin/teams/{id}/delete", tag = "pages", security(("keyuan" = ["users.manage"])),
    params(("id" = i64, Path, description = "team id")),
    request_body(content = DeleteForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "deleted"), (status = 409, description = "changed meanwhile", content_type = "text/html"),
        (status = 422, description = "not empty", content_type = "text/html")))]
async fn delete_submit(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    PageForm(f): PageForm<DeleteForm>,
) -> Result<Response, AppError> {
    let version = form_version(&f.version)?;
    match delete(&state, &req, TeamId(id), version).await {
        Ok(()) => Ok(see_other("/admin/teams?saved=1")),
        Err(e) => refused(&state, &req, e, Retry::Nothing).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn team(id: i64, name: &str, parent: Option<i64>) -> Team {
        Team {
            id: TeamId(id),
            name: name.into(),
            parent_id: parent.map(TeamId),
            manager_id: None,
            version: 1,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn the_tree_puts_parents_first_and_indents_children() {
        let teams =
            vec![team(3, "上海一部", Some(2)), team(1, "北京", None), team(2, "华东", None), team(4, "x", Some(9))];
        let order: Vec<(usize, i64)> = tree(&teams).into_iter().map(|(d, t)| (d, t.id.0)).collect();
        assert_eq!(order, vec![(0, 1), (0, 2), (1, 3), (0, 4)], "a missing parent makes a root");
        let looped = vec![team(1, "a", Some(2)), team(2, "b", Some(1))];
        assert_eq!(tree(&looped).len(), 2, "teams in a cycle are still listed");
        let opts = tree_options(&teams, "3", Some(TeamId(2)));
        let values: Vec<&str> = opts.iter().map(|o| o.value.as_str()).collect();
        assert_eq!(values, vec!["1", "4"], "a team and its subtree are not offered as its new parent");
        assert_eq!(tree_options(&teams, "3", None)[2].label, "— 上海一部");
        assert!(tree_options(&teams, "3", None)[2].selected);
    }
}
