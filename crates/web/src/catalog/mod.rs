//! The catalogue: the resource library (attractions, accommodations,
//! transport, day-by-day routes), suppliers, products and tour departures
//! with their manifest, rooming list and calendar (`catalog.read`,
//! `catalog.write`).

use crate::AppState;
use utoipa_axum::router::OpenApiRouter;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}

/// Interface texts: (key, 中文, English).
pub(crate) static TEXTS: &[(&str, &str, &str)] = &[
    ("nav.departures", "团期", "Departures"),
    ("nav.products", "产品", "Products"),
    ("nav.resources", "资源库", "Resources"),
];
