//! The customer list page: search box, filters, sortable columns, paging,
//! quick entry of an interaction per row, and the person's last view.
//!
//! A visit without list parameters shows the view the person used last
//! (store::views); any visit with parameters becomes the new last view (page
//! number aside: coming back starts on page 1); `?clear=1` forgets it.

use super::interactions::default_department;
use super::query::ListQuery;
use super::{enum_options, grade_options, kind_label, stage_label, Names};
use crate::admin::Opt;
use crate::ctx::Req;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::page::{render, Shell};
use crate::AppState;
use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use domain::access::{Permission, Scope};
use domain::customer::{Channel, CustomerKind, Direction, LifecycleStage, SourceChannel};
use serde::Deserialize;
use store::customers::Customer;
use store::visibility::Visibility;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The name of the customer list in `saved_views`.
const VIEW: &str = "customers";

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_page))
}

/// Parameters of the page besides the list's own.
#[derive(Deserialize, Default)]
struct PageOnly {
    /// Forget the saved view and show the default list.
    clear: Option<String>,
    /// A quick entry was saved.
    saved: Option<String>,
}

/// One row of the list.
struct Row {
    c: Customer,
    kind: String,
    stage: String,
    owner: String,
    place: String,
}

/// A column header; sortable ones link to the list sorted by them.
struct Column {
    label: &'static str,
    /// Empty for columns that do not sort.
    href: String,
    /// `▲`, `▼` or empty.
    mark: &'static str,
}

#[derive(Template)]
#[template(path = "customers_list.html")]
struct ListPage {
    shell: Shell,
    q: ListQuery,
    rows: Vec<Row>,
    total: i64,
    total_estimated: bool,
    page: i64,
    prev_href: Option<String>,
    next_href: Option<String>,
    columns: Vec<Column>,
    restored: bool,
    error: Option<String>,
    notice: Option<&'static str>,
    can_write: bool,
    kinds: Vec<Opt>,
    grades: Vec<Opt>,
    stages: Vec<Opt>,
    sources: Vec<Opt>,
    owners: Vec<Opt>,
    teams: Vec<Opt>,
    months: Vec<Opt>,
    custom_keys: Vec<Opt>,
    per_pages: Vec<Opt>,
    channels: Vec<Opt>,
    directions: Vec<Opt>,
    department: &'static str,
    new_kinds: Vec<(&'static str, String)>,
}

/// People the caller may pick as owner filter: everyone for `all`, their team
/// subtree for `team`, themselves for `own` (rows are restricted in the query).
async fn owner_options(state: &AppState, vis: &Visibility, current: &str, lang: Lang) -> Result<Vec<Opt>, AppError> {
    let all = store::users::all_active(&state.store).await?;
    let mut out = vec![Opt::new("", lang.t("common.all"), current)];
    out.extend(
        all.into_iter()
            .filter(|u| match vis.scope {
                Scope::All => true,
                Scope::Team => u.id == vis.user_id || u.team_id.is_some_and(|t| vis.teams.contains(&t)),
                Scope::Own => u.id == vis.user_id,
            })
            .map(|u| Opt::new(u.id, u.display_name, current)),
    );
    Ok(out)
}

async fn team_options(state: &AppState, vis: &Visibility, current: &str, lang: Lang) -> Result<Vec<Opt>, AppError> {
    if vis.scope == Scope::Own {
        return Ok(Vec::new());
    }
    let teams = store::teams::list(&state.store).await?;
    let mut out = vec![Opt::new("", lang.t("common.all"), current)];
    out.extend(
        teams
            .into_iter()
            .filter(|t| vis.scope == Scope::All || vis.teams.contains(&t.id))
            .map(|t| Opt::new(t.id, t.name, current)),
    );
    Ok(out)
}

/// The columns in display order: (sort code or empty, text key).
const COLUMNS: &[(&str, &str)] = &[
    ("code", "customers.f.code"),
    ("name", "customers.f.name"),
    ("kind", "customers.f.kind"),
    ("", "customers.f.mobile"),
    ("place", "customers.place"),
    ("owner", "customers.f.owner_id"),
    ("stage", "customers.f.stage"),
    ("grade", "customers.f.grade"),
    ("last_contact", "customers.last_contact"),
    ("birthday", "customers.f.birthday"),
    ("created", "customers.created"),
    ("", "customers.f.tags"),
];

fn columns(q: &ListQuery) -> Vec<Column> {
    let (sort, desc) = q.sort_state();
    COLUMNS
        .iter()
        .map(|(code, label)| {
            if code.is_empty() {
                return Column { label, href: String::new(), mark: "" };
            }
            let active = sort == *code;
            let dir = if active && !desc {
                "desc"
            } else if active {
                "asc"
            } else {
                ""
            };
            let next = q.with("sort", code).with("dir", dir).with("page", "");
            Column {
                label,
                href: format!("/customers?{}", next.to_query_string()),
                mark: match (active, desc) {
                    (false, _) => "",
                    (true, false) => "▲",
                    (true, true) => "▼",
                },
            }
        })
        .collect()
}

/// The customer list.
#[utoipa::path(get, path = "/customers", tag = "pages", security(("keyuan" = ["customers.read"])),
    params(ListQuery),
    responses((status = 200, description = "customer list", content_type = "text/html"),
        (status = 422, description = "the list with the parameters' problems", content_type = "text/html")))]
async fn list_page(State(state): State<AppState>, req: Req, RawQuery(raw): RawQuery) -> Result<Response, AppError> {
    let me = req.user()?;
    let lang = req.lang;
    let raw = raw.unwrap_or_default();
    let given = ListQuery::parse(&raw)?;
    let page_only: PageOnly = serde_urlencoded::from_str(&raw).unwrap_or_default();
    let saved = store::views::get(&state.store, me.user.id, VIEW).await?;
    let can_documents = me.can(Permission::CustomersPii);
    let mut restored = false;
    // A filter form sends every field, empty ones too: an empty value is a
    // choice ("any"), so only a visit without any list parameter restores.
    let has_params = form_urlencoded::parse(raw.as_bytes()).any(|(k, _)| !matches!(k.as_ref(), "clear" | "saved"));
    let q = if page_only.clear.is_some() {
        if saved.is_some() {
            let mut tx = state.store.begin().await?;
            store::views::clear(&mut tx, me.user.id, VIEW).await?;
            tx.commit().await?;
        }
        ListQuery::default()
    } else if !has_params {
        match saved.as_deref().map(ListQuery::parse) {
            Some(Ok(s)) if !s.is_empty() && s.to_filter(can_documents).is_ok() => {
                restored = true;
                s
            }
            _ => ListQuery::default(),
        }
    } else {
        let keep = given.with("page", "").to_query_string();
        if given.to_filter(can_documents).is_ok() && saved.as_deref().unwrap_or("") != keep {
            let mut tx = state.store.begin().await?;
            if keep.is_empty() {
                store::views::clear(&mut tx, me.user.id, VIEW).await?;
            } else {
                store::views::save(&mut tx, me.user.id, VIEW, &keep).await?;
            }
            tx.commit().await?;
        }
        given
    };

    let vis = req.visibility(&state, Permission::CustomersRead).await?;
    let (found, error) = match q.to_filter(can_documents) {
        Ok(filter) => (Some((store::customers::list(&state.store, &vis, &filter).await?, filter.page)), None),
        Err(AppError::Invalid(f)) => (None, Some(f.0.iter().map(|e| e.message.clone()).collect::<Vec<_>>().join("; "))),
        Err(e) => return Err(e),
    };
    let mut names = Names::default();
    let mut rows = Vec::new();
    let (mut total, mut page, mut prev_href, mut next_href) = (0, 1, None, None);
    let mut total_estimated = false;
    if let Some((found, p)) = found {
        for c in found.items {
            let owner = names.of(&state, c.data.owner_id).await?;
            let place =
                [&c.data.province, &c.data.city].iter().filter_map(|v| v.as_deref()).collect::<Vec<_>>().join(" ");
            rows.push(Row {
                kind: kind_label(&c.data.kind, lang),
                stage: stage_label(&c.data.stage, lang),
                owner,
                place,
                c,
            });
        }
        total = found.total;
        total_estimated = found.total_estimated;
        page = p;
        next_href = found.next_page.map(|n| format!("/customers?{}", q.with("page", &n.to_string()).to_query_string()));
        prev_href = (p > 1).then(|| format!("/customers?{}", q.with("page", &(p - 1).to_string()).to_query_string()));
    }

    let v = |o: &Option<String>| o.clone().unwrap_or_default();
    let all = Some(lang.t("common.all"));
    let kinds = enum_options!(CustomerKind, &v(&q.kind), lang, all);
    let mut grades = grade_options(&v(&q.grade), lang);
    grades[0] = Opt::new("", lang.t("common.all"), &v(&q.grade));
    let stages = enum_options!(LifecycleStage, &v(&q.stage), lang, all);
    let sources = enum_options!(SourceChannel, &v(&q.source), lang, all);
    let owners = owner_options(&state, &vis, &v(&q.owner), lang).await?;
    let teams = team_options(&state, &vis, &v(&q.team), lang).await?;
    let month = v(&q.birthday_month);
    let mut months = vec![Opt::new("", lang.t("common.all"), &month)];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    months.extend(MONTHS.iter().zip(1..=12).map(|(en, m)| {
        let label = match lang {
            Lang::Zh => format!("{m}月"),
            Lang::En => en.to_string(),
        };
        Opt::new(m, label, &month)
    }));
    let cf = v(&q.cf_key);
    let mut custom_keys = vec![Opt::new("", lang.t("customers.no_custom_filter"), &cf)];
    for k in CustomerKind::ALL {
        for d in store::customer_fields::definitions(&state.store, k.code(), false).await? {
            if !custom_keys.iter().any(|o| o.value == d.key) {
                let label = match lang {
                    Lang::Zh => d.label_zh,
                    Lang::En => d.label_en,
                };
                custom_keys.push(Opt::new(&d.key, label, &cf));
            }
        }
    }
    let pp = v(&q.per_page);
    let per_pages =
        ["20", "50", "100", "200"].iter().map(|n| Opt::new(n, *n, if pp.is_empty() { "50" } else { &pp })).collect();
    let channels = enum_options!(Channel, "phone", lang, None::<&str>);
    let directions = enum_options!(Direction, "outbound", lang, None::<&str>);
    let new_kinds = CustomerKind::ALL.iter().map(|k| (k.code(), k.label(lang == Lang::Zh).to_string())).collect();
    let notice = page_only.saved.map(|_| lang.t("common.saved"));
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let shell = Shell::new(&state, req.principal.clone(), lang, "nav.customers").await;
    let page = ListPage {
        shell,
        columns: columns(&q),
        q,
        rows,
        total,
        total_estimated,
        page,
        prev_href,
        next_href,
        restored,
        error,
        notice,
        can_write: me.can(Permission::CustomersWrite),
        kinds,
        grades,
        stages,
        sources,
        owners,
        teams,
        months,
        custom_keys,
        per_pages,
        channels,
        directions,
        department: default_department(&me.user.role_code).code(),
        new_kinds,
    };
    Ok((status, render(&page)?).into_response())
}
