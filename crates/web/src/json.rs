//! Request extractors whose failures name the field and the reason, and the
//! shared list shape `{"items":[…],"next":…}`.

use crate::error::AppError;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde::Deserialize;

/// A JSON body. Malformed JSON and invalid UTF-8 are 400; wrong types,
/// unknown and missing fields are 422 naming the field.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !is_json {
            return Err(AppError::BadRequest("send the body as JSON with Content-Type: application/json".into()));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                AppError::TooLarge
            } else {
                AppError::BadRequest(format!("could not read the body: {}", e.body_text()))
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Parses a JSON document, explaining any problem.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    if std::str::from_utf8(bytes).is_err() {
        return Err(AppError::BadRequest("the body is not valid UTF-8".into()));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize(de) {
        Ok(v) => Ok(v),
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            match inner.classify() {
                serde_json::error::Category::Syntax
                | serde_json::error::Category::Eof
                | serde_json::error::Category::Io => Err(AppError::BadRequest(format!(
                    "malformed JSON at line {} column {}: {inner}",
                    inner.line(),
                    inner.column()
                ))),
                serde_json::error::Category::Data => {
                    let msg = inner.to_string();
                    let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
                    let named = msg.split('`').nth(1).map(str::to_string);
                    let (field, code) = if msg.starts_with("missing field") {
                        (join_path(&path, named.as_deref()), "required")
                    } else if msg.starts_with("unknown field") {
                        // The path already ends at the unknown field.
                        let field = if path == "." { named.unwrap_or_default() } else { path };
                        (field, "unknown_field")
                    } else {
                        (if path == "." { "body".to_string() } else { path }, "invalid_type")
                    };
                    Err(AppError::field(&field, code, format!("{field}: {msg}")))
                }
            }
        }
    }
}

fn join_path(parent: &str, name: Option<&str>) -> String {
    match (parent, name) {
        (".", Some(n)) | ("", Some(n)) => n.to_string(),
        (p, Some(n)) => format!("{p}.{n}"),
        (p, None) => p.to_string(),
    }
}

/// A query string; a malformed one is 400 with the reason.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded_parse(q));
        serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(|e| AppError::BadRequest(format!("invalid query parameter {}: {}", e.path(), e.inner())))
    }
}

fn form_urlencoded_parse(q: &str) -> form_urlencoded::Parse<'_> {
    form_urlencoded::parse(q.as_bytes())
}

/// An HTML form body; a malformed one is 400.
pub struct PageForm<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for PageForm<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|_| AppError::TooLarge)?;
        if std::str::from_utf8(&bytes).is_err() {
            return Err(AppError::BadRequest("the form is not valid UTF-8".into()));
        }
        let de = serde_urlencoded::Deserializer::new(form_urlencoded_parse(std::str::from_utf8(&bytes).unwrap_or("")));
        serde_path_to_error::deserialize(de)
            .map(PageForm)
            .map_err(|e| AppError::BadRequest(format!("invalid form field {}: {}", e.path(), e.inner())))
    }
}

/// `limit` and `before` for lists.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1–200 (default 50).
    pub limit: Option<i64>,
    /// The `next` value of the previous page.
    pub before: Option<String>,
}

impl PageQuery {
    /// The page size, checked.
    pub fn limit(&self) -> Result<i64, AppError> {
        match self.limit {
            None => Ok(50),
            Some(n) if (1..=200).contains(&n) => Ok(n),
            Some(_) => Err(AppError::field("limit", "out_of_range", "limit must be between 1 and 200")),
        }
    }

    /// The cursor, checked.
    pub fn before(&self) -> Result<Option<i64>, AppError> {
        match self.before.as_deref().filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => s
                .parse::<i64>()
                .map(Some)
                .map_err(|_| AppError::field("before", "invalid", "before must be the next value of a previous page")),
        }
    }
}

/// Turns a store cursor into the API's string form.
pub fn next_cursor(next: Option<i64>) -> Option<String> {
    next.map(|n| n.to_string())
}

/// Formats epoch milliseconds as RFC 3339 in UTC, for JSON.
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        username: String,
        age: i64,
    }

    fn err(input: &[u8]) -> (String, Option<String>) {
        match parse_json::<Body>(input) {
            Err(AppError::BadRequest(m)) => ("400".into(), Some(m)),
            Err(AppError::Invalid(f)) => ("422".into(), Some(f.0[0].field.clone())),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn json_problems_are_named() {
        assert_eq!(err(b"{\"username\": ").0, "400");
        assert_eq!(err(b"\xff\xfe").0, "400");
        assert_eq!(err(br#"{"username": "a"}"#), ("422".into(), Some("age".into())));
        assert_eq!(err(br#"{"username": "a", "age": "x"}"#), ("422".into(), Some("age".into())));
        assert_eq!(err(br#"{"username": "a", "age": 1, "admin": true}"#), ("422".into(), Some("admin".into())));
    }
}
