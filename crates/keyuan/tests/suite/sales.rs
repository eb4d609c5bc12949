//! Opportunities and versioned quotes.

use crate::harness::Story;

pub fn stories() -> Vec<Story> {
    vec![]
}
