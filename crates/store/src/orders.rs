//! Orders (订单) with travellers, hotel stays and charges.
