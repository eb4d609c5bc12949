//! The catalogue: a departure's last seats under fifty simultaneous
//! bookings, seats given back, and what a departure edit may not do.

use super::fixtures::{add_staff, system, Scratch};
use anyhow::{ensure, Context, Result};
use chrono::NaiveDate;
use domain::money::Money;
use domain::travel::departure::DepartureStatus;
use store::departures::{self, DepartureDraft};
use store::products::{self, ProductDraft};
use store::{Store, StoreError};

async fn product(store: &Store) -> Result<domain::ids::ProductId> {
    let mut tx = store.begin().await?;
    let p = products::create(
        &mut tx,
        &system(),
        &ProductDraft {
            code: "HN5D".into(),
            name: "海南三亚双飞5日游".into(),
            product_type: "long_haul".into(),
            destination: Some("三亚".into()),
            days: 5,
            adult_price: Money(398_000),
            child_price: Money(199_000),
            cost_price: Money(310_000),
            active: true,
            ..ProductDraft::default()
        },
    )
    .await?;
    tx.commit().await?;
    Ok(p.id)
}

fn draft(product_id: domain::ids::ProductId, capacity: i64) -> DepartureDraft {
    DepartureDraft {
        product_id,
        departure_date: NaiveDate::from_ymd_opt(2027, 1, 15).unwrap(),
        return_date: NaiveDate::from_ymd_opt(2027, 1, 19).unwrap(),
        leader_id: None,
        guide_name: None,
        capacity,
        adult_price: Money(398_000),
        child_price: Money(199_000),
        notes: None,
    }
}

/// Fifty bookings of one seat race for the last five: exactly five win,
/// the rest are told `overbooked`, the row ends full and never overbooked;
/// a seat given back reopens it.
pub async fn fifty_concurrent_bookings_fill_exactly_the_seats_left(s: Scratch) -> Result<()> {
    let store = s.new_store().await?;
    let pid = product(&store).await?;
    let mut tx = store.begin().await?;
    let dep = departures::create(&mut tx, &system(), &draft(pid, 20), DepartureStatus::Open).await?;
    ensure!(dep.code == "HN5D-20270115", "code from product and date: {}", dep.code);
    // 15 of 20 seats already sold: five left.
    departures::book_seats(&mut tx, dep.id, 15).await?;
    tx.commit().await?;
    ensure!(departures::get(&store, dep.id).await?.seats_left == 5);

    let mut tasks = Vec::new();
    for _ in 0..50 {
        let store = store.clone();
        let id = dep.id;
        tasks.push(tokio::spawn(async move {
            let mut tx = store.begin().await?;
            match departures::book_seats(&mut tx, id, 1).await {
                Ok(left) => {
                    tx.commit().await?;
                    Ok::<_, StoreError>(Ok(left))
                }
                Err(StoreError::Invalid(e)) => {
                    tx.rollback().await?;
                    Ok(Err(e))
                }
                Err(e) => Err(e),
            }
        }));
    }
    let (mut won, mut refused) = (0, 0);
    for t in tasks {
        match t.await?.context("a booking failed with a database error")? {
            Ok(_) => won += 1,
            Err(e) => {
                let codes: Vec<&str> = e.0.iter().map(|f| f.code).collect();
                ensure!(
                    codes == ["overbooked"] || codes == ["not_open"],
                    "a refused booking says overbooked (or, once full, not open): {codes:?}"
                );
                refused += 1;
            }
        }
    }
    ensure!(won == 5 && refused == 45, "exactly the five seats left are sold: {won} won, {refused} refused");
    let after = departures::get(&store, dep.id).await?;
    ensure!(after.booked == 20 && after.capacity == 20 && after.seats_left == 0, "{after:?}");
    ensure!(after.status == "full", "the departure is full: {}", after.status);

    // A full departure refuses the next booking, naming why.
    let mut tx = store.begin().await?;
    let e = departures::book_seats(&mut tx, dep.id, 1).await.expect_err("no seat left");
    ensure!(matches!(&e, StoreError::Invalid(f) if f.0[0].field == "travellers"), "{e:?}");
    tx.rollback().await?;

    // A cancellation gives two seats back and reopens it.
    let mut tx = store.begin().await?;
    let left = departures::release_seats(&mut tx, dep.id, 2).await?;
    tx.commit().await?;
    ensure!(left == 2, "two seats left after the release, got {left}");
    let reopened = departures::get(&store, dep.id).await?;
    ensure!(reopened.status == "open" && reopened.booked == 18, "{reopened:?}");
    Ok(())
}

/// Capacity below the seats sold, an illegal status move and a return
/// before the departure are refused on their fields and change nothing;
/// a stale version is refused too.
pub async fn departure_edits_keep_seats_and_status_rules(s: Scratch) -> Result<()> {
    let store = s.new_store().await?;
    let leader = add_staff(&store, "lingdui", "王领队", "operator", None).await?;
    let pid = product(&store).await?;
    let mut tx = store.begin().await?;
    let mut d = draft(pid, 10);
    d.leader_id = Some(leader.id);
    let dep = departures::create(&mut tx, &system(), &d, DepartureStatus::Open).await?;
    departures::book_seats(&mut tx, dep.id, 6).await?;
    tx.commit().await?;
    let dep = departures::get(&store, dep.id).await?;
    ensure!(dep.leader_name.as_deref() == Some("王领队"));

    let field_of = |e: StoreError| match e {
        StoreError::Invalid(f) => (f.0[0].field.clone(), f.0[0].code),
        other => panic!("expected a field error, got {other:?}"),
    };
    let mut tx = store.begin().await?;
    let e = departures::update(&mut tx, &system(), dep.id, dep.version, &draft(pid, 5), None).await.unwrap_err();
    ensure!(field_of(e) == ("capacity".into(), "below_booked"));
    let e = departures::update(&mut tx, &system(), dep.id, dep.version, &d, Some(DepartureStatus::Returned))
        .await
        .unwrap_err();
    ensure!(field_of(e) == ("status".into(), "invalid_transition"));
    let mut back = d.clone();
    back.return_date = NaiveDate::from_ymd_opt(2027, 1, 14).unwrap();
    let e = departures::update(&mut tx, &system(), dep.id, dep.version, &back, None).await.unwrap_err();
    ensure!(field_of(e) == ("return_date".into(), "ends_before_start"));
    let e = departures::update(&mut tx, &system(), dep.id, dep.version - 1, &d, None).await.unwrap_err();
    ensure!(matches!(e, StoreError::Stale { .. }), "{e:?}");
    tx.rollback().await?;
    ensure!(departures::get(&store, dep.id).await?.version == dep.version, "nothing changed");

    // Capacity down to exactly the seats sold fills it; a second
    // departure of the same product and day gets the next code.
    let mut tx = store.begin().await?;
    let mut six = d.clone();
    six.capacity = 6;
    let full = departures::update(&mut tx, &system(), dep.id, dep.version, &six, None).await?;
    let second = departures::create(&mut tx, &system(), &d, DepartureStatus::Planning).await?;
    tx.commit().await?;
    ensure!(full.status == "full" && full.seats_left == 0, "{full:?}");
    ensure!(second.code == "HN5D-20270115-2", "{}", second.code);
    Ok(())
}
