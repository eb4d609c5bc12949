//! Company settings (公司设置): the profile, the weekly business hours and
//! the holiday calendar with its adjusted working days (调休上班).
//!
//! Together they make the business calendar that SLA clocks and care
//! schedules count in; `GET /api/v1/settings/calendar` shows it day by day.

use crate::account::FormErrors;
use crate::ctx::Req;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::json::{ApiJson, ApiQuery, PageForm};
use crate::page::{render, Shell};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use chrono::{Datelike, NaiveDate};
use chrono_tz::Tz;
use domain::calendar::{format_hhmm, DayHours, DayKind, WeeklyHours, WEEKDAY_CODES};
use domain::ids::HolidayId;
use domain::{FieldError, FieldErrors};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use store::settings::{Holiday, Profile};
use store::StoreError;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(company_page, company_submit))
        .routes(routes!(holidays_page, holiday_add_submit))
        .routes(routes!(holiday_delete_submit))
        .routes(routes!(company_get, company_put))
        .routes(routes!(holidays_get, holiday_post))
        .routes(routes!(holiday_delete))
        .routes(routes!(calendar_get))
}

/// Zones offered first on the form; any other valid IANA name is accepted.
const COMMON_ZONES: [&str; 24] = [
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Macau",
    "Asia/Taipei",
    "Asia/Urumqi",
    "Asia/Tokyo",
    "Asia/Seoul",
    "Asia/Singapore",
    "Asia/Bangkok",
    "Asia/Kuala_Lumpur",
    "Asia/Jakarta",
    "Asia/Manila",
    "Asia/Ho_Chi_Minh",
    "Asia/Dubai",
    "Australia/Sydney",
    "Pacific/Auckland",
    "Europe/London",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Moscow",
    "America/New_York",
    "America/Los_Angeles",
    "America/Vancouver",
    "UTC",
];

/// The longest range the calendar endpoint answers for, in days.
const MAX_CALENDAR_DAYS: i64 = 366;

// ---------------------------------------------------------------------------
// Validation shared by the page and the API
// ---------------------------------------------------------------------------

/// The profile as submitted, before checking.
struct ProfileInput<'a> {
    name: &'a str,
    short_name: Option<&'a str>,
    license_no: Option<&'a str>,
    address: Option<&'a str>,
    phone: Option<&'a str>,
    email: Option<&'a str>,
    website: Option<&'a str>,
    timezone: &'a str,
    hours: [(&'a str, &'a str); 7],
    version: i64,
}

fn optional_text(field: &str, v: Option<&str>, max: usize) -> Result<Option<String>, FieldError> {
    let Some(v) = v.map(str::trim).filter(|v| !v.is_empty()) else { return Ok(None) };
    if v.chars().count() > max {
        return Err(FieldError::new(field, "too_long", format!("{field} must have at most {max} characters")));
    }
    if v.chars().any(char::is_control) {
        return Err(FieldError::new(field, "invalid", format!("{field} must not contain control characters")));
    }
    Ok(Some(v.to_string()))
}

fn parse_phone(v: Option<&str>) -> Result<Option<String>, FieldError> {
    let phone = optional_text("phone", v, 32)?;
    if let Some(p) = &phone {
        let allowed = p.chars().all(|c| c.is_ascii_digit() || " +-()/,#".contains(c) || c == '转');
        if !allowed || p.chars().filter(char::is_ascii_digit).count() < 3 {
            return Err(FieldError::new("phone", "invalid_phone", "phone may contain digits, spaces and + - ( ) only"));
        }
    }
    Ok(phone)
}

fn parse_website(v: Option<&str>) -> Result<Option<String>, FieldError> {
    let site = optional_text("website", v, 200)?;
    if let Some(s) = &site {
        let host = s.strip_prefix("https://").or_else(|| s.strip_prefix("http://")).unwrap_or(s);
        let scheme_ok = !s.contains("://") || s.starts_with("http://") || s.starts_with("https://");
        if !scheme_ok || !host.contains('.') || host.starts_with('.') || s.chars().any(char::is_whitespace) {
            return Err(FieldError::new(
                "website",
                "invalid_website",
                "website must be an address like www.example.cn",
            ));
        }
    }
    Ok(site)
}

/// A valid IANA time zone name.
fn parse_timezone(v: &str) -> Result<String, FieldError> {
    let v = v.trim();
    if v.is_empty() {
        return Err(FieldError::required("timezone"));
    }
    v.parse::<Tz>().map(|tz| tz.name().to_string()).map_err(|_| {
        FieldError::new("timezone", "invalid_timezone", "timezone must be an IANA name such as Asia/Shanghai")
    })
}

fn parse_company_name(v: &str) -> Result<String, FieldError> {
    optional_text("name", Some(v), 128)?.ok_or_else(|| FieldError::required("name"))
}

/// Checks every field, reporting all problems at once. Hours errors are
/// named `hours.mon` …, as the domain names them.
fn validate_profile(i: &ProfileInput<'_>) -> Result<Profile, FieldErrors> {
    let mut e = FieldErrors::new();
    let name = e.check(parse_company_name(i.name));
    let short_name = e.check(optional_text("short_name", i.short_name, 32));
    let license_no = e.check(optional_text("license_no", i.license_no, 64));
    let address = e.check(optional_text("address", i.address, 200));
    let phone = e.check(parse_phone(i.phone));
    let email = e.check(domain::user::parse_optional_email("email", i.email.unwrap_or("")));
    let website = e.check(parse_website(i.website));
    let timezone = e.check(parse_timezone(i.timezone));
    let hours = match WeeklyHours::parse(i.hours) {
        Ok(h) => Some(h),
        Err(errs) => {
            errs.into_iter().for_each(|x| e.push(x));
            None
        }
    };
    match (name, short_name, license_no, address, phone, email, website, timezone, hours) {
        (
            Some(name),
            Some(short_name),
            Some(license_no),
            Some(address),
            Some(phone),
            Some(email),
            Some(website),
            Some(timezone),
            Some(business_hours),
        ) if e.is_empty() => Ok(Profile {
            name,
            short_name,
            license_no,
            address,
            phone,
            email,
            website,
            timezone,
            business_hours,
            version: i.version,
            updated_at: 0,
        }),
        _ => Err(e),
    }
}

fn parse_date(field: &str, v: &str) -> Result<NaiveDate, FieldError> {
    let v = v.trim();
    if v.is_empty() {
        return Err(FieldError::required(field));
    }
    NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .map_err(|_| FieldError::new(field, "invalid_date", format!("{field} must be a date as YYYY-MM-DD")))
}

/// A new holiday or adjusted working day, checked.
fn validate_holiday(date: &str, name: &str, kind: &str) -> Result<(NaiveDate, String, DayKind), FieldErrors> {
    let mut e = FieldErrors::new();
    let day = e.check(parse_date("date", date));
    let name =
        e.check(optional_text("name", Some(name), 64).and_then(|n| n.ok_or_else(|| FieldError::required("name"))));
    let kind = e.check(DayKind::from_code(kind.trim()).ok_or_else(|| {
        if kind.trim().is_empty() {
            FieldError::required("kind")
        } else {
            FieldError::new("kind", "invalid", "kind must be holiday or workday")
        }
    }));
    match (day, name, kind) {
        (Some(d), Some(n), Some(k)) => Ok((d, n, k)),
        _ => Err(e),
    }
}

async fn add_holiday(
    state: &AppState,
    req: &Req,
    day: NaiveDate,
    name: &str,
    kind: DayKind,
) -> Result<HolidayId, AppError> {
    let mut tx = state.store.begin().await?;
    let id = match store::settings::add_holiday(&mut tx, &req.actor()?, day, name, kind).await {
        Ok(id) => id,
        Err(StoreError::Duplicate { .. }) => {
            return Err(AppError::field("date", "taken", format!("there is already an entry for {day}")));
        }
        Err(e) => return Err(e.into()),
    };
    tx.commit().await?;
    Ok(id)
}

async fn delete_holiday(state: &AppState, req: &Req, id: i64, version: i64) -> Result<(), AppError> {
    let mut tx = state.store.begin().await?;
    store::settings::delete_holiday(&mut tx, &req.actor()?, HolidayId(id), version).await?;
    tx.commit().await?;
    Ok(())
}

async fn save_profile(state: &AppState, req: &Req, p: &Profile) -> Result<Profile, AppError> {
    let mut tx = state.store.begin().await?;
    let saved = store::settings::update_profile(&mut tx, &req.actor()?, p).await?;
    tx.commit().await?;
    Ok(saved)
}

fn company_tz(p: &Profile) -> Tz {
    p.timezone.parse::<Tz>().unwrap_or(chrono_tz::Asia::Shanghai)
}

fn this_year(tz: Tz) -> i32 {
    chrono::Utc::now().with_timezone(&tz).year()
}

fn check_year(year: i32) -> Result<i32, AppError> {
    if (1900..=2999).contains(&year) {
        Ok(year)
    } else {
        Err(AppError::field("year", "out_of_range", "year must be between 1900 and 2999"))
    }
}

fn weekday_code(d: NaiveDate) -> &'static str {
    WEEKDAY_CODES[d.weekday().num_days_from_monday() as usize]
}

// ---------------------------------------------------------------------------
// Company page
// ---------------------------------------------------------------------------

/// The company form as submitted (every value a string, so a bad one can be
/// shown again as typed).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
struct CompanyForm {
    version: String,
    name: String,
    short_name: String,
    license_no: String,
    address: String,
    phone: String,
    email: String,
    website: String,
    timezone: String,
    mon_open: String,
    mon_close: String,
    tue_open: String,
    tue_close: String,
    wed_open: String,
    wed_close: String,
    thu_open: String,
    thu_close: String,
    fri_open: String,
    fri_close: String,
    sat_open: String,
    sat_close: String,
    sun_open: String,
    sun_close: String,
}

impl CompanyForm {
    fn from_profile(p: &Profile) -> CompanyForm {
        let h = |i: usize| match p.business_hours.0[i] {
            Some(d) => (format_hhmm(d.open), format_hhmm(d.close)),
            None => (String::new(), String::new()),
        };
        let s = |v: &Option<String>| v.clone().unwrap_or_default();
        let ((mo, mc), (to, tc), (wo, wc), (ho, hc), (fo, fc), (so, sc), (uo, uc)) =
            (h(0), h(1), h(2), h(3), h(4), h(5), h(6));
        CompanyForm {
            version: p.version.to_string(),
            name: p.name.clone(),
            short_name: s(&p.short_name),
            license_no: s(&p.license_no),
            address: s(&p.address),
            phone: s(&p.phone),
            email: s(&p.email),
            website: s(&p.website),
            timezone: p.timezone.clone(),
            mon_open: mo,
            mon_close: mc,
            tue_open: to,
            tue_close: tc,
            wed_open: wo,
            wed_close: wc,
            thu_open: ho,
            thu_close: hc,
            fri_open: fo,
            fri_close: fc,
            sat_open: so,
            sat_close: sc,
            sun_open: uo,
            sun_close: uc,
        }
    }

    fn hours(&self) -> [(&str, &str); 7] {
        [
            (&self.mon_open, &self.mon_close),
            (&self.tue_open, &self.tue_close),
            (&self.wed_open, &self.wed_close),
            (&self.thu_open, &self.thu_close),
            (&self.fri_open, &self.fri_close),
            (&self.sat_open, &self.sat_close),
            (&self.sun_open, &self.sun_close),
        ]
    }

    fn input(&self) -> Result<ProfileInput<'_>, FieldErrors> {
        let version =
            self.version.trim().parse::<i64>().map_err(|_| {
                FieldErrors::from(FieldError::new("version", "invalid", "reload the page and try again"))
            })?;
        Ok(ProfileInput {
            name: &self.name,
            short_name: Some(&self.short_name),
            license_no: Some(&self.license_no),
            address: Some(&self.address),
            phone: Some(&self.phone),
            email: Some(&self.email),
            website: Some(&self.website),
            timezone: &self.timezone,
            hours: self.hours(),
            version,
        })
    }
}

/// One weekday's row of the hours table.
struct DayRow {
    code: &'static str,
    label: &'static str,
    open: String,
    close: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "settings_company.html")]
struct CompanyPage {
    shell: Shell,
    form: CompanyForm,
    days: Vec<DayRow>,
    /// (zone, selected).
    zones: Vec<(String, bool)>,
    errors: FormErrors,
    notice: Option<&'static str>,
    alert: Option<&'static str>,
}

fn company_view(shell: Shell, lang: Lang, form: CompanyForm, errors: &FieldErrors) -> CompanyPage {
    let errors = FormErrors::new(lang, errors, TEXTS, "settings.err");
    let days = form
        .hours()
        .iter()
        .enumerate()
        .map(|(i, (open, close))| {
            let code = WEEKDAY_CODES[i];
            DayRow {
                code,
                label: lang.t(&format!("settings.weekday.{code}")),
                open: open.to_string(),
                close: close.to_string(),
                error: errors.get(&format!("hours.{code}")).map(str::to_string),
            }
        })
        .collect();
    let chosen = form.timezone.trim().to_string();
    let mut zones: Vec<(String, bool)> = COMMON_ZONES.iter().map(|z| (z.to_string(), *z == chosen)).collect();
    if !chosen.is_empty() && !COMMON_ZONES.contains(&chosen.as_str()) {
        // Keep a zone chosen elsewhere (API) or typed in, valid or not, so the
        // form shows what is stored or what was rejected.
        zones.insert(1, (chosen, true));
    }
    CompanyPage { shell, form, days, zones, errors, notice: None, alert: None }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct SavedQuery {
    /// `1` after a save.
    saved: Option<String>,
}

/// The company profile and business hours form.
#[utoipa::path(get, path = "/settings/company", tag = "pages", security(("keyuan" = ["settings.manage"])),
    params(SavedQuery),
    responses((status = 200, description = "company settings", content_type = "text/html")))]
async fn company_page(
    State(state): State<AppState>,
    req: Req,
    ApiQuery(q): ApiQuery<SavedQuery>,
) -> Result<Response, AppError> {
    let profile = store::settings::profile(&state.store).await?;
    let shell = Shell::new(&state, req.principal.clone(), req.lang, "nav.company").await;
    let mut page = company_view(shell, req.lang, CompanyForm::from_profile(&profile), &FieldErrors::new());
    page.notice = q.saved.is_some().then_some("common.saved");
    Ok(render(&page)?.into_response())
}

/// Saves the company profile and hours: 303 on success, the form again with
/// messages (422) on invalid input, with the stored values and a message
/// (409) when someone else saved first.
#[utoipa::path(post, path = "/settings/company", tag = "pages", security(("keyuan" = ["settings.manage"])),
    request_body(content = CompanyForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "saved"),
        (status = 409, description = "changed by someone else", content_type = "text/html"),
        (status = 422, description = "the form again with messages", content_type = "text/html")))]
async fn company_submit(
    State(state): State<AppState>,
    req: Req,
    PageForm(f): PageForm<CompanyForm>,
) -> Result<Response, AppError> {
    let result = match f.input().and_then(|i| validate_profile(&i)) {
        Ok(p) => save_profile(&state, &req, &p).await.map(|_| ()),
        Err(e) => Err(AppError::Invalid(e)),
    };
    let shell = || Shell::new(&state, req.principal.clone(), req.lang, "nav.company");
    match result {
        Ok(()) => Ok(Redirect::to("/settings/company?saved=1").into_response()),
        Err(AppError::Invalid(errors)) => {
            let mut page = company_view(shell().await, req.lang, f, &errors);
            page.alert = Some("error.422");
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
        }
        Err(AppError::Stale { .. }) => {
            let current = store::settings::profile(&state.store).await?;
            let mut page =
                company_view(shell().await, req.lang, CompanyForm::from_profile(&current), &FieldErrors::new());
            page.alert = Some("common.stale");
            Ok((StatusCode::CONFLICT, render(&page)?).into_response())
        }
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------------------
// Holidays page
// ---------------------------------------------------------------------------

/// A holiday row of the page.
struct HolidayRow {
    id: i64,
    date: String,
    weekday: &'static str,
    name: String,
    kind: &'static str,
    is_workday: bool,
    version: i64,
}

#[derive(Template)]
#[template(path = "settings_holidays.html")]
struct HolidaysPage {
    shell: Shell,
    year: i32,
    rows: Vec<HolidayRow>,
    form: HolidayForm,
    errors: FormErrors,
    notice: Option<&'static str>,
    alert: Option<&'static str>,
}

/// Adding a date.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
struct HolidayForm {
    /// YYYY-MM-DD.
    date: String,
    /// 国庆节, 国庆调休上班 …
    name: String,
    /// `holiday` or `workday`.
    kind: String,
}

async fn holidays_view(
    state: &AppState,
    req: &Req,
    year: i32,
    form: HolidayForm,
    errors: &FieldErrors,
) -> Result<HolidaysPage, AppError> {
    let lang = req.lang;
    let rows = store::settings::holidays(&state.store, year)
        .await?
        .into_iter()
        .map(|h| HolidayRow {
            id: h.id.0,
            date: h.day.to_string(),
            weekday: lang.t(&format!("settings.weekday.{}", weekday_code(h.day))),
            name: h.name,
            kind: lang.t(&format!("holiday.{}", h.kind.code())),
            is_workday: h.kind == DayKind::Workday,
            version: h.version,
        })
        .collect();
    let shell = Shell::new(state, req.principal.clone(), lang, "nav.holidays").await;
    let errors = FormErrors::new(lang, errors, TEXTS, "settings.err");
    Ok(HolidaysPage { shell, year, rows, form, errors, notice: None, alert: None })
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct YearQuery {
    /// The year to list (default: this year in the company's time zone).
    year: Option<i32>,
    /// `1` after a change.
    saved: Option<String>,
}

/// The holidays and adjusted working days of a year.
#[utoipa::path(get, path = "/settings/holidays", tag = "pages", security(("keyuan" = ["settings.manage"])),
    params(YearQuery),
    responses((status = 200, description = "holiday calendar", content_type = "text/html")))]
async fn holidays_page(
    State(state): State<AppState>,
    req: Req,
    ApiQuery(q): ApiQuery<YearQuery>,
) -> Result<Response, AppError> {
    let tz = company_tz(&store::settings::profile(&state.store).await?);
    let year = check_year(q.year.unwrap_or_else(|| this_year(tz)))?;
    let form = HolidayForm { kind: "holiday".into(), ..Default::default() };
    let mut page = holidays_view(&state, &req, year, form, &FieldErrors::new()).await?;
    page.notice = q.saved.is_some().then_some("common.saved");
    Ok(render(&page)?.into_response())
}

/// Adds a holiday or adjusted working day; the form again with messages (422)
/// if it is invalid or the date already has an entry.
#[utoipa::path(post, path = "/settings/holidays", tag = "pages", security(("keyuan" = ["settings.manage"])),
    request_body(content = HolidayForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "added"),
        (status = 422, description = "the form again with messages", content_type = "text/html")))]
async fn holiday_add_submit(
    State(state): State<AppState>,
    req: Req,
    PageForm(f): PageForm<HolidayForm>,
) -> Result<Response, AppError> {
    let result = match validate_holiday(&f.date, &f.name, &f.kind) {
        Ok((day, name, kind)) => add_holiday(&state, &req, day, &name, kind).await.map(|_| day),
        Err(e) => Err(AppError::Invalid(e)),
    };
    match result {
        Ok(day) => Ok(Redirect::to(&format!("/settings/holidays?year={}&saved=1", day.year())).into_response()),
        Err(AppError::Invalid(errors)) => {
            let tz = company_tz(&store::settings::profile(&state.store).await?);
            let year = parse_date("date", &f.date).map(|d| d.year()).unwrap_or_else(|_| this_year(tz));
            let mut page = holidays_view(&state, &req, year, f, &errors).await?;
            page.alert = Some("error.422");
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
struct DeleteForm {
    /// The version shown on the page.
    version: i64,
    /// The year whose list to return to.
    #[serde(default)]
    year: Option<i32>,
}

/// Removes a holiday or adjusted working day; 409 if it changed meanwhile.
#[utoipa::path(post, path = "/settings/holidays/{id}/delete", tag = "pages",
    security(("keyuan" = ["settings.manage"])),
    params(("id" = i64, Path, description = "holiday id")),
    request_body(content = DeleteForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "removed"), (status = 404, description = "no such entry"),
        (status = 409, description = "changed by someone else", content_type = "text/html")))]
async fn holiday_delete_submit(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    PageForm(f): PageForm<DeleteForm>,
) -> Result<Response, AppError> {
    let year = match f.year {
        Some(y) => check_year(y)?,
        None => this_year(company_tz(&store::settings::profile(&state.store).await?)),
    };
    match delete_holiday(&state, &req, id, f.version).await {
        Ok(()) => Ok(Redirect::to(&format!("/settings/holidays?year={year}&saved=1")).into_response()),
        Err(AppError::Stale { .. }) => {
            let form = HolidayForm { kind: "holiday".into(), ..Default::default() };
            let mut page = holidays_view(&state, &req, year, form, &FieldErrors::new()).await?;
            page.alert = Some("common.stale");
            Ok((StatusCode::CONFLICT, render(&page)?).into_response())
        }
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------------------
// API
// ---------------------------------------------------------------------------

/// Opening hours of one day.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct DayHoursJson {
    /// HH:MM.
    open: String,
    /// HH:MM, after `open` (24:00 allowed).
    close: String,
}

/// The week's hours; `null` is closed.
#[derive(Serialize, utoipa::ToSchema)]
struct WeekJson {
    mon: Option<DayHoursJson>,
    tue: Option<DayHoursJson>,
    wed: Option<DayHoursJson>,
    thu: Option<DayHoursJson>,
    fri: Option<DayHoursJson>,
    sat: Option<DayHoursJson>,
    sun: Option<DayHoursJson>,
}

impl From<&WeeklyHours> for WeekJson {
    fn from(w: &WeeklyHours) -> Self {
        let d = |i: usize| {
            w.0[i].map(|h: DayHours| DayHoursJson { open: format_hhmm(h.open), close: format_hhmm(h.close) })
        };
        WeekJson { mon: d(0), tue: d(1), wed: d(2), thu: d(3), fri: d(4), sat: d(5), sun: d(6) }
    }
}

/// The week's hours as sent: every day must be present, `null` for closed.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct WeekIn {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<DayHoursJson>)]
    mon: Option<Option<DayHoursJson>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<DayHoursJson>)]
    tue: Option<Option<DayHoursJson>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<DayHoursJson>)]
    wed: Option<Option<DayHoursJson>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<DayHoursJson>)]
    thu: Option<Option<DayHoursJson>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<DayHoursJson>)]
    fri: Option<Option<DayHoursJson>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<DayHoursJson>)]
    sat: Option<Option<DayHoursJson>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<DayHoursJson>)]
    sun: Option<Option<DayHoursJson>>,
}

/// Tells a field given as `null` (`Some(None)`) from one left out (`None`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<DayHoursJson>>, D::Error> {
    Option::<DayHoursJson>::deserialize(d).map(Some)
}

impl WeekIn {
    fn days(&self) -> [&Option<Option<DayHoursJson>>; 7] {
        [&self.mon, &self.tue, &self.wed, &self.thu, &self.fri, &self.sat, &self.sun]
    }
}

/// The company profile.
#[derive(Serialize, utoipa::ToSchema)]
struct CompanyOut {
    name: String,
    short_name: Option<String>,
    license_no: Option<String>,
    address: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    website: Option<String>,
    /// IANA time zone.
    timezone: String,
    business_hours: WeekJson,
    version: i64,
    /// RFC 3339.
    updated_at: String,
}

impl From<&Profile> for CompanyOut {
    fn from(p: &Profile) -> Self {
        CompanyOut {
            name: p.name.clone(),
            short_name: p.short_name.clone(),
            license_no: p.license_no.clone(),
            address: p.address.clone(),
            phone: p.phone.clone(),
            email: p.email.clone(),
            website: p.website.clone(),
            timezone: p.timezone.clone(),
            business_hours: WeekJson::from(&p.business_hours),
            version: p.version,
            updated_at: crate::json::rfc3339(p.updated_at),
        }
    }
}

/// The whole profile, replacing the stored one. Optional texts may be null
/// or left out (both clear them); every weekday must be given.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CompanyIn {
    name: String,
    #[serde(default)]
    short_name: Option<String>,
    #[serde(default)]
    license_no: Option<String>,
    #[serde(default)]
    address: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    website: Option<String>,
    /// IANA time zone (Asia/Shanghai).
    timezone: String,
    /// `{"mon":{"open":"09:00","close":"18:00"}, …, "sun":null}`: all seven days.
    business_hours: WeekIn,
    /// The version read.
    version: i64,
}

/// The company profile and business hours.
#[utoipa::path(get, path = "/api/v1/settings/company", tag = "settings",
    security(("keyuan" = ["settings.manage"])),
    responses((status = 200, body = CompanyOut), (status = 403, body = crate::error::ErrorBody)))]
async fn company_get(State(state): State<AppState>) -> Result<Json<CompanyOut>, AppError> {
    Ok(Json(CompanyOut::from(&store::settings::profile(&state.store).await?)))
}

/// Replaces the company profile and business hours if `version` is current.
#[utoipa::path(put, path = "/api/v1/settings/company", tag = "settings",
    security(("keyuan" = ["settings.manage"])), request_body = CompanyIn,
    responses((status = 200, body = CompanyOut), (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn company_put(
    State(state): State<AppState>,
    req: Req,
    ApiJson(body): ApiJson<CompanyIn>,
) -> Result<Json<CompanyOut>, AppError> {
    let mut errors = FieldErrors::new();
    let mut hours = [("", ""); 7];
    for (i, day) in body.business_hours.days().into_iter().enumerate() {
        let code = WEEKDAY_CODES[i];
        match day {
            None => errors.push(FieldError::new(
                format!("business_hours.{code}"),
                "required",
                format!("business_hours.{code} is required (null for a closed day)"),
            )),
            Some(None) => {}
            Some(Some(d)) => hours[i] = (d.open.as_str(), d.close.as_str()),
        }
    }
    let input = ProfileInput {
        name: &body.name,
        short_name: body.short_name.as_deref(),
        license_no: body.license_no.as_deref(),
        address: body.address.as_deref(),
        phone: body.phone.as_deref(),
        email: body.email.as_deref(),
        website: body.website.as_deref(),
        timezone: &body.timezone,
        hours,
        version: body.version,
    };
    let profile = match validate_profile(&input) {
        Ok(p) if errors.is_empty() => p,
        Ok(_) => return Err(AppError::Invalid(errors)),
        Err(e) => {
            // The domain names days `hours.mon`; in this body they are under `business_hours`.
            for mut x in e.0 {
                if let Some(day) = x.field.strip_prefix("hours.") {
                    x.field = format!("business_hours.{day}");
                }
                errors.push(x);
            }
            return Err(AppError::Invalid(errors));
        }
    };
    let saved = save_profile(&state, &req, &profile).await?;
    Ok(Json(CompanyOut::from(&saved)))
}

/// A holiday or adjusted working day.
#[derive(Serialize, utoipa::ToSchema)]
struct HolidayOut {
    id: i64,
    /// YYYY-MM-DD.
    date: String,
    name: String,
    /// `holiday` (closed) or `workday` (调休上班: open with Monday's hours).
    kind: String,
    version: i64,
}

impl From<&Holiday> for HolidayOut {
    fn from(h: &Holiday) -> Self {
        HolidayOut {
            id: h.id.0,
            date: h.day.to_string(),
            name: h.name.clone(),
            kind: h.kind.code().into(),
            version: h.version,
        }
    }
}

/// The entries of a year.
#[derive(Serialize, utoipa::ToSchema)]
struct HolidayList {
    items: Vec<HolidayOut>,
    /// Always null: a year is one page.
    next: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ApiYearQuery {
    /// The year (default: this year in the company's time zone).
    year: Option<i32>,
}

/// The holidays and adjusted working days of a year, by date.
#[utoipa::path(get, path = "/api/v1/settings/holidays", tag = "settings",
    security(("keyuan" = ["settings.manage"])), params(ApiYearQuery),
    responses((status = 200, body = HolidayList), (status = 422, body = crate::error::ErrorBody)))]
async fn holidays_get(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ApiYearQuery>,
) -> Result<Json<HolidayList>, AppError> {
    let year = match q.year {
        Some(y) => check_year(y)?,
        None => this_year(company_tz(&store::settings::profile(&state.store).await?)),
    };
    let items = store::settings::holidays(&state.store, year).await?.iter().map(HolidayOut::from).collect();
    Ok(Json(HolidayList { items, next: None }))
}

/// A new entry.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct HolidayIn {
    /// YYYY-MM-DD; one entry per date.
    date: String,
    name: String,
    /// `holiday` or `workday`.
    kind: String,
}

/// Adds a holiday or adjusted working day (a date already listed is 422).
#[utoipa::path(post, path = "/api/v1/settings/holidays", tag = "settings",
    security(("keyuan" = ["settings.manage"])), request_body = HolidayIn,
    responses((status = 201, body = HolidayOut), (status = 422, body = crate::error::ErrorBody)))]
async fn holiday_post(
    State(state): State<AppState>,
    req: Req,
    ApiJson(body): ApiJson<HolidayIn>,
) -> Result<(StatusCode, Json<HolidayOut>), AppError> {
    let (day, name, kind) = validate_holiday(&body.date, &body.name, &body.kind)?;
    let id = add_holiday(&state, &req, day, &name, kind).await?;
    let out = HolidayOut { id: id.0, date: day.to_string(), name, kind: kind.code().into(), version: 1 };
    Ok((StatusCode::CREATED, Json(out)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct VersionQuery {
    /// The version read (required).
    version: Option<i64>,
}

/// Removes an entry if `version` is current.
#[utoipa::path(delete, path = "/api/v1/settings/holidays/{id}", tag = "settings",
    security(("keyuan" = ["settings.manage"])),
    params(("id" = i64, Path, description = "holiday id"), VersionQuery),
    responses((status = 204, description = "removed"), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn holiday_delete(
    State(state): State<AppState>,
    req: Req,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<VersionQuery>,
) -> Result<StatusCode, AppError> {
    let version = q.version.ok_or_else(|| AppError::Invalid(FieldError::required("version").into()))?;
    delete_holiday(&state, &req, id, version).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct RangeQuery {
    /// First day, YYYY-MM-DD.
    from: Option<String>,
    /// Last day, YYYY-MM-DD (inclusive; at most 366 days in all).
    to: Option<String>,
}

/// One day of the business calendar.
#[derive(Serialize, utoipa::ToSchema)]
struct CalendarDay {
    /// YYYY-MM-DD.
    date: String,
    /// mon … sun.
    weekday: &'static str,
    business_day: bool,
    /// Opening time (HH:MM), null when closed.
    open: Option<String>,
    /// Closing time (HH:MM), null when closed.
    close: Option<String>,
    /// `holiday` or `workday` when the date is an exception to the normal week.
    exception: Option<&'static str>,
    /// The exception's name (国庆节).
    name: Option<String>,
}

/// The business calendar of a range.
#[derive(Serialize, utoipa::ToSchema)]
struct CalendarOut {
    from: String,
    to: String,
    /// The company's time zone, in which the hours apply.
    timezone: String,
    days: Vec<CalendarDay>,
}

fn check_range(q: &RangeQuery) -> Result<(NaiveDate, NaiveDate), FieldErrors> {
    let mut e = FieldErrors::new();
    let from = e.check(parse_date("from", q.from.as_deref().unwrap_or("")));
    let to = e.check(parse_date("to", q.to.as_deref().unwrap_or("")));
    let (Some(from), Some(to)) = (from, to) else { return Err(e) };
    let days = (to - from).num_days() + 1;
    if days < 1 {
        e.push(FieldError::new("to", "before_from", "to must not be before from"));
    } else if days > MAX_CALENDAR_DAYS {
        e.push(FieldError::new("to", "range_too_long", format!("the range may span at most {MAX_CALENDAR_DAYS} days")));
    }
    e.into_result().map(|()| (from, to))
}

/// Whether each day of a range is a business day, and its hours: the weekly
/// hours, closed on holidays, open with Monday's hours on adjusted working days.
#[utoipa::path(get, path = "/api/v1/settings/calendar", tag = "settings",
    security(("keyuan" = ["settings.manage"])), params(RangeQuery),
    responses((status = 200, body = CalendarOut), (status = 422, body = crate::error::ErrorBody)))]
async fn calendar_get(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<RangeQuery>,
) -> Result<Json<CalendarOut>, AppError> {
    let (from, to) = check_range(&q)?;
    let cal = store::settings::calendar(&state.store).await?;
    let profile = store::settings::profile(&state.store).await?;
    let mut names = BTreeMap::new();
    for year in from.year()..=to.year() {
        for h in store::settings::holidays(&state.store, year).await? {
            names.insert(h.day, h.name);
        }
    }
    let days = from
        .iter_days()
        .take_while(|d| *d <= to)
        .map(|d| {
            let hours = cal.hours_on(d);
            CalendarDay {
                date: d.to_string(),
                weekday: weekday_code(d),
                business_day: hours.is_some(),
                open: hours.map(|h| format_hhmm(h.open)),
                close: hours.map(|h| format_hhmm(h.close)),
                exception: cal.exceptions.get(&d).map(|k| k.code()),
                name: names.get(&d).cloned(),
            }
        })
        .collect();
    Ok(Json(CalendarOut { from: from.to_string(), to: to.to_string(), timezone: profile.timezone, days }))
}

/// Texts of this area: (key, 中文, English), sorted by key.
pub(crate) static TEXTS: &[(&str, &str, &str)] = &[
    ("settings.err.before_from", "结束日期不能早于开始日期", "The end must not be before the start"),
    ("settings.err.closes_before_opening", "下班时间必须晚于上班时间", "Closing time must be after opening time"),
    ("settings.err.invalid", "格式不正确", "Invalid value"),
    (
        "settings.err.invalid_date",
        "日期格式应为 年-月-日（如 2026-10-01）",
        "Enter a date as YYYY-MM-DD (e.g. 2026-10-01)",
    ),
    ("settings.err.invalid_email", "邮箱地址格式不正确", "Not an e-mail address"),
    (
        "settings.err.invalid_phone",
        "电话只能包含数字、空格及 + - ( )",
        "A phone number may contain digits, spaces and + - ( ) only",
    ),
    (
        "settings.err.invalid_time",
        "时间格式应为 HH:MM（如 09:00）；休息日请两项都留空",
        "Times are HH:MM (e.g. 09:00); leave both empty for a closed day",
    ),
    (
        "settings.err.invalid_timezone",
        "未知时区，请使用 IANA 名称（如 Asia/Shanghai）",
        "Unknown time zone; use an IANA name such as Asia/Shanghai",
    ),
    ("settings.err.invalid_website", "网址格式不正确（如 www.example.cn）", "Not a web address (e.g. www.example.cn)"),
    ("settings.err.out_of_range", "超出允许范围", "Out of range"),
    ("settings.err.required", "必填", "Required"),
    ("settings.err.taken", "该日期已有记录", "This date already has an entry"),
    ("settings.err.too_long", "内容过长", "Too long"),
    ("settings.holiday_delete_confirm", "确定删除这一天吗？", "Remove this date?"),
    (
        "settings.holiday_hint",
        "放假日全天休息；调休上班日按周一的营业时间上班。",
        "Holidays are closed all day; adjusted working days open with Monday's hours.",
    ),
    (
        "settings.hours_hint",
        "时间格式 HH:MM；休息日请将上班、下班都留空。",
        "Times as HH:MM; leave both empty for a closed day.",
    ),
    ("settings.next_year", "下一年", "Next year"),
    ("settings.prev_year", "上一年", "Previous year"),
    ("settings.weekday", "星期", "Weekday"),
    ("settings.weekday.fri", "星期五", "Friday"),
    ("settings.weekday.mon", "星期一", "Monday"),
    ("settings.weekday.sat", "星期六", "Saturday"),
    ("settings.weekday.sun", "星期日", "Sunday"),
    ("settings.weekday.thu", "星期四", "Thursday"),
    ("settings.weekday.tue", "星期二", "Tuesday"),
    ("settings.weekday.wed", "星期三", "Wednesday"),
    ("settings.year", "年份", "Year"),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(hours: [(&'a str, &'a str); 7]) -> ProfileInput<'a> {
        ProfileInput {
            name: " 上海春秋国际旅行社 ",
            short_name: Some(""),
            license_no: Some("L-SH-CJ00001"),
            address: None,
            phone: Some("021-6252 0000"),
            email: Some("info@example.cn"),
            website: Some("www.example.cn"),
            timezone: "Asia/Shanghai",
            hours,
            version: 3,
        }
    }

    #[test]
    fn a_good_profile_is_normalised() {
        let mut h = [("09:00", "18:00"); 7];
        h[6] = ("", "");
        let p = validate_profile(&input(h)).unwrap();
        assert_eq!(p.name, "上海春秋国际旅行社");
        assert_eq!(p.short_name, None, "empty means none");
        assert_eq!(p.business_hours.0[6], None);
        assert_eq!(p.version, 3);
    }

    #[test]
    fn every_problem_is_named() {
        let mut h = [("09:00", "18:00"); 7];
        h[1] = ("18:00", "09:00");
        let mut i = input(h);
        i.name = " ";
        i.email = Some("not-an-email");
        i.timezone = "Asia/Beijing";
        i.phone = Some("call us");
        i.website = Some("javascript:alert(1)");
        let fields: Vec<String> = validate_profile(&i).unwrap_err().0.into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["name", "phone", "email", "website", "timezone", "hours.tue"]);
    }

    #[test]
    fn holidays_and_ranges_are_checked() {
        let (d, n, k) = validate_holiday("2026-10-01", " 国庆节 ", "holiday").unwrap();
        assert_eq!((d.to_string(), n.as_str(), k), ("2026-10-01".to_string(), "国庆节", DayKind::Holiday));
        let fields: Vec<String> =
            validate_holiday("2026-13-01", "", "party").unwrap_err().0.into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["date", "name", "kind"]);
        let q = |f: &str, t: &str| RangeQuery { from: Some(f.into()), to: Some(t.into()) };
        assert!(check_range(&q("2026-01-01", "2026-12-31")).is_ok());
        assert!(check_range(&q("2028-01-01", "2028-12-31")).is_ok(), "a leap year is 366 days");
        assert_eq!(check_range(&q("2026-01-01", "2027-01-02")).unwrap_err().0[0].code, "range_too_long");
        assert_eq!(check_range(&q("2026-01-02", "2026-01-01")).unwrap_err().0[0].code, "before_from");
        assert_eq!(check_range(&RangeQuery { from: None, to: None }).unwrap_err().0.len(), 2);
    }
}
