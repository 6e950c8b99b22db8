//! Automation rules (to be written).
