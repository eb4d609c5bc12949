//! Typed identifiers, so a user id can never be passed where a team id is meant.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

typed_id!(
    /// A staff account.
    UserId
);
typed_id!(
    /// A team or branch in the organisation tree.
    TeamId
);
typed_id!(
    /// A role (built-in or defined by an administrator).
    RoleId
);
typed_id!(
    /// A revocable API token.
    TokenId
);
typed_id!(
    /// A row of the append-only audit trail.
    AuditId
);
typed_id!(
    /// A public holiday or an adjusted working day in the business calendar.
    HolidayId
);
typed_id!(
    /// A customer: individual, organization or trade partner.
    CustomerId
);
typed_id!(
    /// A contact person of an organization or partner.
    ContactId
);
typed_id!(
    /// One recorded contact with a customer.
    InteractionId
);
typed_id!(
    /// A customer's travel intention.
    IntentionId
);
typed_id!(
    /// A supplier: ground handler, hotel, carrier …
    SupplierId
);
typed_id!(
    /// An entry of the resource library: attraction, accommodation, transport or route.
    ResourceId
);
typed_id!(
    /// A product the agency sells.
    ProductId
);
typed_id!(
    /// A tour departure (团期) of a product.
    DepartureId
);
typed_id!(
    /// A sales opportunity (商机).
    OpportunityId
);
typed_id!(
    /// A quote (报价单) with its versions.
    QuoteId
);
typed_id!(
    /// An order (订单), a hotel stay included.
    OrderId
);
typed_id!(
    /// A traveller on an order.
    TravellerId
);
typed_id!(
    /// A hotel stay's charge at an outlet.
    ChargeId
);
typed_id!(
    /// A receipt or refund against an order.
    ReceiptId
);
