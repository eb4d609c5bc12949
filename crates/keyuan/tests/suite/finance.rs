//! Receipts, refunds, balances, aging, statements, history import.

use crate::harness::Story;

pub fn stories() -> Vec<Story> {
    vec![]
}
