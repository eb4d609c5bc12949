//! Orders (订单): from a quote, a departure or directly, with travellers,
//! hotel stays and their spend by outlet (`sales.read`, `sales.write`).

use crate::AppState;
use utoipa_axum::router::OpenApiRouter;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}

/// Interface texts: (key, 中文, English).
pub(crate) static TEXTS: &[(&str, &str, &str)] = &[("nav.orders", "订单", "Orders")];
