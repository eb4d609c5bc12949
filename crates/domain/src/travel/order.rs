//! Orders (订单): what a customer bought, for whom, for when and for how
//! much, and where the order stands.

use super::hotel::HotelStay;
use super::product::ProductType;
use super::{check_non_negative, code_enum, transition, Party, TripDates};
use crate::customer::SourceChannel;
use crate::money::Money;
use crate::{FieldError, FieldErrors};
use serde::{Deserialize, Serialize};

code_enum! {
    /// Where an order stands.
    pub enum OrderStatus {
        /// 待确认: booked, not yet confirmed with suppliers.
        Pending => ("pending", "待确认", "Pending", ["待定"]),
        /// 已确认: seats, rooms or tickets secured.
        Confirmed => ("confirmed", "已确认", "Confirmed", ["确认"]),
        /// 出行中: the customer is travelling (or staying).
        Travelling => ("travelling", "出行中", "Travelling", ["traveling", "在途", "入住中"]),
        /// 已完成.
        Completed => ("completed", "已完成", "Completed", ["完成"]),
        /// 已取消.
        Cancelled => ("cancelled", "已取消", "Cancelled", ["取消", "canceled"]),
        /// 已退款: cancelled and the money returned.
        Refunded => ("refunded", "已退款", "Refunded", ["退款"]),
    }
}

impl OrderStatus {
    /// The statuses this one may change to:
    ///
    /// pending → confirmed | cancelled; confirmed → travelling | completed
    /// (tickets and other orders with no trip to follow) | cancelled;
    /// travelling → completed; cancelled → refunded. Completed and refunded
    /// are final: a complaint settled after the trip is a refund receipt on a
    /// completed order, not a change of status.
    pub fn next(self) -> &'static [OrderStatus] {
        use OrderStatus::*;
        match self {
            Pending => &[Confirmed, Cancelled],
            Confirmed => &[Travelling, Completed, Cancelled],
            Travelling => &[Completed],
            Cancelled => &[Refunded],
            Completed | Refunded => &[],
        }
    }

    /// Changes to `to` if [`Self::next`] allows it.
    pub fn transition(self, to: OrderStatus) -> Result<OrderStatus, FieldError> {
        transition("status", self, to, self.next(), OrderStatus::code)
    }

    /// Whether nothing can follow.
    pub fn is_final(self) -> bool {
        self.next().is_empty()
    }

    /// Whether payments may still be received: not once cancelled.
    pub fn accepts_receipts(self) -> bool {
        !matches!(self, OrderStatus::Cancelled | OrderStatus::Refunded)
    }
}

/// An order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// The kind of product bought.
    pub product_type: ProductType,
    /// The travel dates (for a hotel stay: check-in to check-out).
    pub dates: TripDates,
    /// Who travels; at least one person.
    pub party: Party,
    /// What the customer owes (the receivable).
    pub total: Money,
    /// What it costs us, for the gross profit.
    pub cost: Money,
    /// Where it stands.
    pub status: OrderStatus,
    /// How the customer came to this order.
    pub source: Option<SourceChannel>,
    /// The room, nights and spending of a hotel-stay order.
    pub hotel: Option<HotelStay>,
}

impl Order {
    /// Total and cost not negative; a hotel-stay order has its stay, on the
    /// order's dates, and the stay is valid (its errors are named
    /// `hotel.{field}`). Travel dates in order and at least one traveller
    /// hold by construction ([`TripDates`], [`Party`]).
    pub fn validate(&self) -> Result<(), FieldErrors> {
        let mut errors = FieldErrors::new();
        check_non_negative(&mut errors, "total", self.total);
        check_non_negative(&mut errors, "cost", self.cost);
        match (&self.hotel, self.product_type) {
            (None, ProductType::HotelStay) => {
                errors.push(FieldError::new("hotel", "required", "a hotel-stay order needs its room and dates"))
            }
            (Some(stay), _) => {
                if (stay.dates.check_in(), stay.dates.check_out()) != (self.dates.start(), self.dates.end()) {
                    errors.push(FieldError::new(
                        "hotel.dates",
                        "dates_mismatch",
                        "check-in and check-out must be the order's first and last day",
                    ));
                }
                if let Err(e) = stay.validate() {
                    errors.0.extend(e.0.into_iter().map(|e| FieldError { field: format!("hotel.{}", e.field), ..e }));
                }
            }
            (None, _) => {}
        }
        errors.into_result()
    }

    /// Total minus cost (negative when sold at a loss).
    pub fn gross_profit(&self) -> Option<Money> {
        self.total.checked_sub(self.cost)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::travel::hotel::StayDates;
    use crate::travel::{allowed_moves, check_code_enum, date};

    fn order() -> Order {
        Order {
            product_type: ProductType::LongHaul,
            dates: TripDates::new("returns_on", date("2027-01-15"), date("2027-01-19")).unwrap(),
            party: Party::new(2, 1).unwrap(),
            total: Money(995_000),
            cost: Money(800_000),
            status: OrderStatus::Pending,
            source: Some(SourceChannel::Referral),
            hotel: None,
        }
    }

    fn problems(o: &Order) -> Vec<(String, &'static str)> {
        o.validate().err().map(|e| e.0.into_iter().map(|e| (e.field, e.code)).collect()).unwrap_or_default()
    }

    #[test]
    fn statuses_follow_the_graph() {
        use OrderStatus::*;
        check_code_enum!(OrderStatus);
        let moves = allowed_moves(&OrderStatus::ALL, |f, t| f.transition(t) == Ok(t));
        assert_eq!(
            moves,
            [
                (Pending, Confirmed),
                (Pending, Cancelled),
                (Confirmed, Travelling),
                (Confirmed, Completed),
                (Confirmed, Cancelled),
                (Travelling, Completed),
                (Cancelled, Refunded),
            ]
        );
        assert_eq!(Travelling.transition(Cancelled).unwrap_err().code, "invalid_transition");
        assert!(Completed.is_final() && Refunded.is_final() && !Cancelled.is_final());
        assert!(Pending.accepts_receipts() && Completed.accepts_receipts());
        assert!(!Cancelled.accepts_receipts() && !Refunded.accepts_receipts());
    }

    #[test]
    fn amounts_are_not_negative() {
        let o = order();
        assert!(o.validate().is_ok());
        assert_eq!(o.gross_profit(), Some(Money(195_000)));
        let o = Order { total: Money(-1), cost: Money(-1), ..order() };
        assert_eq!(problems(&o), [("total".into(), "negative"), ("cost".into(), "negative")]);
    }

    #[test]
    fn hotel_orders_carry_a_matching_valid_stay() {
        let mut o = Order { product_type: ProductType::HotelStay, ..order() };
        assert_eq!(problems(&o), [("hotel".into(), "required")]);
        let mut stay = HotelStay {
            room_type: "大床房".into(),
            room_number: None,
            dates: StayDates::new(date("2027-01-15"), date("2027-01-19")).unwrap(),
            nightly_rate: Money(58_000),
            charges: vec![],
        };
        o.hotel = Some(stay.clone());
        assert!(o.validate().is_ok());
        stay.dates = StayDates::new(date("2027-01-15"), date("2027-01-18")).unwrap();
        stay.room_type = "".into();
        o.hotel = Some(stay);
        assert_eq!(problems(&o), [("hotel.dates".into(), "dates_mismatch"), ("hotel.room_type".into(), "required")]);
    }
}
