//! Finance: receivables, receipts and refunds, balances, aging and the
//! monthly and annual statements (`finance.read`, `finance.write`).

use crate::AppState;
use utoipa_axum::router::OpenApiRouter;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}

/// Interface texts: (key, 中文, English).
pub(crate) static TEXTS: &[(&str, &str, &str)] = &[("nav.finance", "财务", "Finance")];
