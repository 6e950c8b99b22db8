//! The circuit breaker of one destination (to be written).
