//! The customer list's query string: search box, filters, sort and page, as
//! the list page, the API and the export receive it.
//!
//! Every parameter arrives as text, so that a wrong value is a 422 naming the
//! parameter (not a generic 400), and so that an HTML filter form may send
//! empty values for "any".

use crate::error::AppError;
use domain::customer::{CustomerKind, LifecycleStage, SourceChannel};
use domain::{FieldError, FieldErrors};
use serde::Deserialize;
use store::customers::{Filter, SortBy};

/// Default rows per page.
pub(crate) const DEFAULT_PER_PAGE: i64 = 50;
/// Most rows per page.
pub(crate) const MAX_PER_PAGE: i64 = 200;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// The customer list's parameters. Empty values are "any".
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// The search box: name or part of it, pinyin in full (`zhangsan`) or
    /// initials (`zs`), phone (full or last four digits), company, customer
    /// code, and, for callers allowed to see them, an ID card or passport number.
    pub q: Option<String>,
    /// `individual`, `organization` or `partner`.
    pub kind: Option<String>,
    /// Value grade `A`–`D`.
    pub grade: Option<String>,
    /// Lifecycle stage code (`potential`, `opportunity`, `repeat`, `loyal`, `churned`).
    pub stage: Option<String>,
    /// Source channel code (`referral`, `website`, …).
    pub source: Option<String>,
    /// Owner's user id.
    pub owner: Option<String>,
    /// Owner's team id.
    pub team: Option<String>,
    /// Province, as stored (`浙江`).
    pub province: Option<String>,
    /// City, as stored (`杭州`).
    pub city: Option<String>,
    /// A tag.
    pub tag: Option<String>,
    /// Birthday month, 1–12.
    pub birthday_month: Option<String>,
    /// Contacted within this many days.
    pub contacted_within_days: Option<String>,
    /// Not contacted for at least this many days (or never).
    pub not_contacted_days: Option<String>,
    /// A custom field's key; with `cf_value`, its value must equal it.
    pub cf_key: Option<String>,
    /// The custom field's value.
    pub cf_value: Option<String>,
    /// `created` (default), `code`, `name`, `kind`, `grade`, `stage`, `place`,
    /// `owner`, `last_contact` or `birthday`.
    pub sort: Option<String>,
    /// `asc` or `desc` (default: newest first for times, A–Z otherwise).
    pub dir: Option<String>,
    /// Page number, from 1.
    pub page: Option<String>,
    /// Rows per page, 1–200 (default 50).
    pub per_page: Option<String>,
    /// Same as `per_page` (the API's usual name).
    pub limit: Option<String>,
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn number(errs: &mut FieldErrors, field: &str, v: &Option<String>, min: i64, max: i64) -> Option<i64> {
    let s = given(v)?;
    match s.parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) => Some(n),
        Ok(_) => {
            errs.push(FieldError::new(field, "out_of_range", format!("{field} must be between {min} and {max}")));
            None
        }
        Err(_) => {
            errs.push(FieldError::new(field, "invalid_number", format!("{field} must be a whole number")));
            None
        }
    }
}

/// A custom field key as administrators define them: `[a-z][a-z0-9_]{0,31}`.
fn is_field_key(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 32
        && b[0].is_ascii_lowercase()
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_')
}

impl ListQuery {
    /// Parses a stored or received query string (unknown parameters are ignored).
    pub(crate) fn parse(query: &str) -> Result<ListQuery, AppError> {
        serde_urlencoded::from_str(query).map_err(|e| AppError::BadRequest(format!("invalid query: {e}")))
    }

    /// The store filter these parameters describe, or a 422 naming every bad
    /// parameter. `can_search_documents`: the caller holds `customers.pii`,
    /// so `q` may match ID card and passport numbers.
    pub(crate) fn to_filter(&self, can_search_documents: bool) -> Result<Filter, AppError> {
        let mut errs = FieldErrors::new();
        let mut f = Filter {
            q: given(&self.q).map(str::to_string),
            search_documents: can_search_documents,
            ..Filter::default()
        };
        if let Some(k) = given(&self.kind) {
            f.kind = errs.check(CustomerKind::parse("kind", k)).map(|k| k.code().to_string());
        }
        if let Some(g) = given(&self.grade) {
            let g = g.to_uppercase();
            if super::GRADES.contains(&g.as_str()) {
                f.grade = Some(g);
            } else {
                errs.push(FieldError::new("grade", "invalid_choice", "grade must be one of: A, B, C, D"));
            }
        }
        if let Some(s) = given(&self.stage) {
            f.stage = errs.check(LifecycleStage::parse("stage", s)).map(|s| s.code().to_string());
        }
        if let Some(s) = given(&self.source) {
            f.source = errs.check(SourceChannel::parse("source", s)).map(|s| s.code().to_string());
        }
        f.owner_id = number(&mut errs, "owner", &self.owner, 1, i64::MAX);
        f.team_id = number(&mut errs, "team", &self.team, 1, i64::MAX);
        f.province = given(&self.province).map(str::to_string);
        f.city = given(&self.city).map(str::to_string);
        f.tag = given(&self.tag).map(str::to_string);
        f.birthday_month = number(&mut errs, "birthday_month", &self.birthday_month, 1, 12).map(|m| m as u32);
        let now = store::now_ms();
        f.contacted_since = number(&mut errs, "contacted_within_days", &self.contacted_within_days, 0, 36_500)
            .map(|d| now - d * DAY_MS);
        f.not_contacted_since =
            number(&mut errs, "not_contacted_days", &self.not_contacted_days, 0, 36_500).map(|d| now - d * DAY_MS);
        match (given(&self.cf_key), given(&self.cf_value)) {
            (None, None) => {}
            (Some(k), Some(v)) if is_field_key(k) => f.custom = Some((k.to_string(), v.to_string())),
            (Some(_), Some(_)) => {
                errs.push(FieldError::new("cf_key", "invalid", "cf_key must be the key of a custom field"))
            }
            (Some(_), None) => errs.push(FieldError::new("cf_value", "required", "cf_value is required with cf_key")),
            (None, Some(_)) => errs.push(FieldError::new("cf_key", "required", "cf_key is required with cf_value")),
        }
        f.sort = match given(&self.sort) {
            None => SortBy::Created,
            Some(s) => errs.check(SortBy::from_code(s).ok_or_else(|| {
                FieldError::new(
                    "sort",
                    "invalid_choice",
                    "sort must be one of: created, code, name, kind, grade, stage, place, owner, last_contact, birthday",
                )
            }))
            .unwrap_or_default(),
        };
        f.desc = match given(&self.dir).map(str::to_lowercase).as_deref() {
            None => matches!(f.sort, SortBy::Created | SortBy::LastContact),
            Some("asc") => false,
            Some("desc") => true,
            Some(_) => {
                errs.push(FieldError::new("dir", "invalid_choice", "dir must be asc or desc"));
                false
            }
        };
        f.page = number(&mut errs, "page", &self.page, 1, 1_000_000).unwrap_or(1);
        let per_page = if given(&self.per_page).is_some() {
            number(&mut errs, "per_page", &self.per_page, 1, MAX_PER_PAGE)
        } else {
            number(&mut errs, "limit", &self.limit, 1, MAX_PER_PAGE)
        };
        f.per_page = per_page.unwrap_or(DEFAULT_PER_PAGE);
        errs.into_result()?;
        Ok(f)
    }

    /// The parameters that are set, in a fixed order.
    pub(crate) fn pairs(&self) -> Vec<(&'static str, &str)> {
        let all: [(&'static str, &Option<String>); 20] = [
            ("q", &self.q),
            ("kind", &self.kind),
            ("grade", &self.grade),
            ("stage", &self.stage),
            ("source", &self.source),
            ("owner", &self.owner),
            ("team", &self.team),
            ("province", &self.province),
            ("city", &self.city),
            ("tag", &self.tag),
            ("birthday_month", &self.birthday_month),
            ("contacted_within_days", &self.contacted_within_days),
            ("not_contacted_days", &self.not_contacted_days),
            ("cf_key", &self.cf_key),
            ("cf_value", &self.cf_value),
            ("sort", &self.sort),
            ("dir", &self.dir),
            ("page", &self.page),
            ("per_page", &self.per_page),
            ("limit", &self.limit),
        ];
        all.into_iter().filter_map(|(k, v)| given(v).map(|v| (k, v))).collect()
    }

    /// Whether no parameter is set.
    pub(crate) fn is_empty(&self) -> bool {
        self.pairs().is_empty()
    }

    /// The parameters as a query string (without `?`).
    pub(crate) fn to_query_string(&self) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in self.pairs() {
            s.append_pair(k, v);
        }
        s.finish()
    }

    /// A copy with `key` set to `value` (empty removes it).
    pub(crate) fn with(&self, key: &str, value: &str) -> ListQuery {
        let mut q = self.clone();
        let v = (!value.is_empty()).then(|| value.to_string());
        match key {
            "q" => q.q = v,
            "kind" => q.kind = v,
            "grade" => q.grade = v,
            "stage" => q.stage = v,
            "source" => q.source = v,
            "owner" => q.owner = v,
            "team" => q.team = v,
            "province" => q.province = v,
            "city" => q.city = v,
            "tag" => q.tag = v,
            "birthday_month" => q.birthday_month = v,
            "contacted_within_days" => q.contacted_within_days = v,
            "not_contacted_days" => q.not_contacted_days = v,
            "cf_key" => q.cf_key = v,
            "cf_value" => q.cf_value = v,
            "sort" => q.sort = v,
            "dir" => q.dir = v,
            "page" => q.page = v,
            "per_page" => q.per_page = v,
            "limit" => q.limit = v,
            _ => {}
        }
        q
    }

    /// The sort in effect: (column code, descending).
    pub(crate) fn sort_state(&self) -> (String, bool) {
        match self.to_filter(false) {
            Ok(f) => (given(&self.sort).unwrap_or("created").to_string(), f.desc),
            Err(_) => ("created".to_string(), true),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> ListQuery {
        ListQuery::parse(s).unwrap()
    }

    fn bad_fields(s: &str) -> Vec<String> {
        match q(s).to_filter(false) {
            Err(AppError::Invalid(f)) => f.0.into_iter().map(|e| e.field).collect(),
            other => panic!("expected 422 for {s}: {other:?}"),
        }
    }

    #[test]
    fn filters_read_codes_and_labels() {
        let f = q("q=%20zs%20&kind=%E4%B8%AA%E4%BA%BA&grade=a&stage=loyal&source=referral&owner=3&team=2&province=%E6%B5%99%E6%B1%9F&birthday_month=8&cf_key=vip_no&cf_value=V-1&sort=name&page=2&per_page=20")
            .to_filter(true)
            .unwrap();
        assert_eq!(f.q.as_deref(), Some("zs"));
        assert!(f.search_documents);
        assert_eq!(f.kind.as_deref(), Some("individual"), "Chinese labels work too");
        assert_eq!(f.grade.as_deref(), Some("A"));
        assert_eq!((f.owner_id, f.team_id, f.birthday_month), (Some(3), Some(2), Some(8)));
        assert_eq!(f.custom, Some(("vip_no".into(), "V-1".into())));
        assert_eq!((f.sort, f.desc, f.page, f.per_page), (SortBy::Name, false, 2, 20));
        let d = q("").to_filter(false).unwrap();
        assert_eq!((d.sort, d.desc, d.page, d.per_page), (SortBy::Created, true, 1, DEFAULT_PER_PAGE));
        assert_eq!(q("limit=5").to_filter(false).unwrap().per_page, 5);
        assert_eq!(q("kind=&grade=&owner=").to_filter(false).unwrap().kind, None, "empty means any");
    }

    #[test]
    fn every_bad_parameter_is_named() {
        let fields = bad_fields(
            "kind=robot&grade=E&stage=x&source=x&owner=me&birthday_month=13&contacted_within_days=-1&cf_key=Bad&cf_value=1&sort=salary&dir=up&page=0&per_page=1000",
        );
        for f in [
            "kind",
            "grade",
            "stage",
            "source",
            "owner",
            "birthday_month",
            "contacted_within_days",
            "cf_key",
            "sort",
            "dir",
            "page",
            "per_page",
        ] {
            assert!(fields.contains(&f.to_string()), "{f} in {fields:?}");
        }
        assert_eq!(bad_fields("cf_key=vip_no"), ["cf_value"]);
    }

    #[test]
    fn query_strings_round_trip_and_skip_empties() {
        let a = q("q=%E5%BC%A0&kind=&sort=name&dir=desc");
        assert_eq!(a.to_query_string(), "q=%E5%BC%A0&sort=name&dir=desc");
        assert_eq!(q(&a.to_query_string()), ListQuery { kind: None, ..a.clone() });
        assert!(q("kind=&q=").is_empty());
        assert_eq!(a.with("page", "3").to_query_string(), "q=%E5%BC%A0&sort=name&dir=desc&page=3");
        assert_eq!(a.with("q", "").to_query_string(), "sort=name&dir=desc");
    }
}
