//! The resource library (attractions, accommodations, transport, routes) and suppliers.
