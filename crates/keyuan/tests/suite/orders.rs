//! Orders, travellers, hotel stays.

use crate::harness::Story;

pub fn stories() -> Vec<Story> {
    vec![]
}
