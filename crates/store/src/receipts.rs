//! Receipts and refunds (收款/退款), balances, aging and statements.
