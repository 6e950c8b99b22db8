//! The workflow engine's pure parts (building block 5 of the design): what the durable job
//! queue, the automation rules and the resilience layer decide, without doing any of it.
//!
//! - [`backoff`]: when a failed job or call is tried again (exponential backoff with full
//!   jitter, capped, honouring a destination's `Retry-After`).
//! - [`breaker`]: the circuit breaker of one destination (closed, open, half-open), in the
//!   style of resilience4j: a sliding window of call outcomes, a failure rate threshold with a
//!   minimum number of calls, an open duration, probes.
//! - [`rules`]: automation rules ("when EVENT [if CONDITION] then ACTIONS [after DELAY]"):
//!   their definition, its checks, and which rules an event triggers.
//!
//! **Invariant:** no IO, no clock, no randomness of its own, no async, and no crate of ours:
//! time and random numbers come in as arguments, so every decision is reproducible in a test.

pub mod backoff;
pub mod breaker;
pub mod rules;
