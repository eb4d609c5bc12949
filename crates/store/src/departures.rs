//! Tour departures (团期): dates, capacity, prices, status, seats, manifest.
//!
//! Seats move only through [`book_seats`] and [`release_seats`], each one
//! conditional `UPDATE` inside the caller's transaction: the row's
//! `booked <= capacity` CHECK and the condition in the statement mean that
//! concurrent bookings of the last seats can never overbook, on either
//! engine (on PostgreSQL the second writer waits on the row lock and then
//! re-evaluates the condition; on SQLite writers take turns).

use crate::{now_ms, Result, StoreError, Tx};
use domain::ids::DepartureId;
use domain::travel::departure::{DepartureStatus, SeatsError};
use domain::FieldErrors;

/// Takes `seats` seats of departure `id` if that many are left and it takes
/// bookings (status `open`); a departure that becomes full turns `full`.
/// Returns the seats left afterwards. Refused bookings change nothing.
pub async fn book_seats(tx: &mut Tx, id: DepartureId, seats: i64) -> Result<i64> {
    if seats <= 0 {
        return Err(seats_error(SeatsError::NoneRequested));
    }
    let now = now_ms();
    let left: Option<i64> = sqlx::query_scalar(
        "UPDATE departures SET booked = booked + $1, \
         status = CASE WHEN booked + $1 = capacity THEN 'full' ELSE status END, \
         updated_at = $2, version = version + 1 \
         WHERE id = $3 AND status = 'open' AND booked + $1 <= capacity RETURNING capacity - booked",
    )
    .bind(seats)
    .bind(now)
    .bind(id.0)
    .fetch_optional(&mut ***tx)
    .await?;
    if let Some(left) = left {
        return Ok(left);
    }
    let row: Option<(i64, i64, String)> =
        sqlx::query_as("SELECT capacity, booked, status FROM departures WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&mut ***tx)
            .await?;
    match row {
        None => Err(StoreError::NotFound),
        Some((_, _, status)) if status != "open" && status != "full" => {
            let status = DepartureStatus::from_code(&status).unwrap_or(DepartureStatus::Planning);
            Err(seats_error(SeatsError::NotOpen(status)))
        }
        Some((capacity, booked, _)) => Err(seats_error(SeatsError::Overbooked {
            wanted: u32::try_from(seats).unwrap_or(u32::MAX),
            left: u32::try_from(capacity - booked).unwrap_or(0),
        })),
    }
}

/// Gives back `seats` seats (a cancelled booking); a `full` departure opens
/// again. Returns the seats left afterwards.
pub async fn release_seats(tx: &mut Tx, id: DepartureId, seats: i64) -> Result<i64> {
    let now = now_ms();
    let left: Option<i64> = sqlx::query_scalar(
        "UPDATE departures SET booked = booked - $1, \
         status = CASE WHEN status = 'full' THEN 'open' ELSE status END, \
         updated_at = $2, version = version + 1 \
         WHERE id = $3 AND booked >= $1 RETURNING capacity - booked",
    )
    .bind(seats)
    .bind(now)
    .bind(id.0)
    .fetch_optional(&mut ***tx)
    .await?;
    left.ok_or(StoreError::NotFound)
}

fn seats_error(e: SeatsError) -> StoreError {
    let mut errs = FieldErrors::new();
    errs.push(e.into());
    StoreError::Invalid(errs)
}
