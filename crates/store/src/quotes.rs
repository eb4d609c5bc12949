//! Quotes (报价单): every revision kept as a version.
