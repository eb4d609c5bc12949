//! Products the agency sells.
