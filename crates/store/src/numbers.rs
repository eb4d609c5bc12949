//! Numbers people read and quote (order `D2026-000123`, quote `Q2026-000045`,
//! receipt `R2026-000310` …): a counter per kind and year in `number_seq`,
//! taken inside the writing transaction, so a number is used once even when
//! the transaction that took it rolls back and another takes the next.

use crate::{now_ms, Result, Tx};

/// The next number of `kind` for `year`: `{prefix}{year}-{n:06}`, skipping
/// numbers already stored in `table.column` (imports keep their own).
///
/// `prefix` is a letter such as `D` (orders), `Q` (quotes), `R` (receipts);
/// `table` and `column` are fixed names from the caller, never user input.
pub async fn next(tx: &mut Tx, prefix: &str, year: i32, table: &str, column: &str) -> Result<String> {
    let name = format!("{prefix}{year}");
    let now = now_ms();
    sqlx::query(
        "INSERT INTO number_seq (name, next_value, created_at, updated_at) VALUES ($1, 1, $2, $2) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(&name)
    .bind(now)
    .execute(&mut ***tx)
    .await?;
    loop {
        let n: i64 = sqlx::query_scalar(
            "UPDATE number_seq SET next_value = next_value + 1, updated_at = $1 WHERE name = $2 \
             RETURNING next_value - 1",
        )
        .bind(now)
        .bind(&name)
        .fetch_one(&mut ***tx)
        .await?;
        let number = format!("{prefix}{year}-{n:06}");
        let taken: Option<i64> = sqlx::query_scalar(&format!("SELECT 1 FROM {table} WHERE {column} = $1"))
            .bind(&number)
            .fetch_optional(&mut ***tx)
            .await?;
        if taken.is_none() {
            return Ok(number);
        }
    }
}
