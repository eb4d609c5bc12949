//! Selling: opportunities (商机) as a list and a board, and versioned quotes
//! (报价单) with their history, the difference between two versions and a
//! printable A4 page (`sales.read`, `sales.write`).

use crate::AppState;
use utoipa_axum::router::OpenApiRouter;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}

/// Interface texts: (key, 中文, English).
pub(crate) static TEXTS: &[(&str, &str, &str)] = &[("nav.opportunities", "商机", "Opportunities")];
