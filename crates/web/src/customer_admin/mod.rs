//! Placeholder, replaced by the area's real module.

use crate::AppState;
use utoipa_axum::router::OpenApiRouter;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}

pub(crate) static TEXTS: &[(&str, &str, &str)] = &[];
