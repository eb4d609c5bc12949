//! Keyuan's business rules and types.
//!
//! Everything here is pure: no I/O, no async, no SQL, no HTTP. Values are
//! parsed at the edge into the types below ("parse, don't validate"), so the
//! layers above can trust what they hold.

pub mod access;
pub mod audit;
pub mod calendar;
mod codes;
pub mod customer;
pub mod ids;
pub mod money;
pub mod password;
pub mod travel;
pub mod user;
pub mod validation;
pub mod value;

pub use validation::{FieldError, FieldErrors};
